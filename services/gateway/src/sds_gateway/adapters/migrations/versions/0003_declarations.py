"""The schema review: public metadata declared by the owners of each dataset.

Revision ID: 0003_declarations
Revises: 0002
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_declarations"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_metadata_declarations",
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("declaration", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name="fk_public_metadata_declarations_dataset"
        ),
        sa.PrimaryKeyConstraint("dataset_id", "version"),
    )


def downgrade() -> None:
    op.drop_table("public_metadata_declarations")
