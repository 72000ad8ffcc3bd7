"""Budget ledgers per data source: the budget moves from each dataset's row to a ledger row.

Every existing dataset gets a ledger of its own (``dataset:<id>``, whose id is the dataset's),
with its figures as they stand; its reservations point at it. New datasets charge the ledger of
their source or of their file's SHA-256, shared within a project.

Revision ID: 0003_ledgers
Revises: 0002
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_ledgers"
down_revision = "0002"
branch_labels = None
depends_on = None

_FIGURES = ("epsilon_total", "delta_total", "epsilon_reserved", "epsilon_spent", "delta_spent")


def upgrade() -> None:
    op.create_table(
        "budget_ledgers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(200), nullable=True),
        sa.Column("ledger", sa.String(300), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=False) for name in _FIGURES),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "budget_ledger_files",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("ledger_id", sa.String(36), nullable=False),
    )
    figures = ", ".join(_FIGURES)
    op.execute(
        f"INSERT INTO budget_ledgers (id, project_id, ledger, {figures}, created_at) "  # noqa: S608
        f"SELECT id, project_id, 'dataset:' || id, {figures}, created_at FROM datasets"
    )
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("ledger_id", sa.String(36), nullable=True))
    op.execute("UPDATE datasets SET ledger_id = id")
    with op.batch_alter_table("datasets") as batch:
        batch.alter_column("ledger_id", existing_type=sa.String(36), nullable=False)
        batch.create_index("ix_datasets_ledger_id", ["ledger_id"])
        for name in _FIGURES:
            batch.drop_column(name)
    with op.batch_alter_table("budget_reservations") as batch:
        batch.add_column(sa.Column("ledger_id", sa.String(36), nullable=True))
    op.execute("UPDATE budget_reservations SET ledger_id = dataset_id")
    with op.batch_alter_table("budget_reservations") as batch:
        batch.alter_column("ledger_id", existing_type=sa.String(36), nullable=False)
        batch.create_index("ix_budget_reservations_ledger_id", ["ledger_id"])


def downgrade() -> None:
    # Back to one budget per dataset: each dataset takes its ledger's figures (a shared ledger's
    # figures are copied to every dataset that shares it: the older schema cannot share).
    with op.batch_alter_table("budget_reservations") as batch:
        batch.drop_index("ix_budget_reservations_ledger_id")
        batch.drop_column("ledger_id")
    with op.batch_alter_table("datasets") as batch:
        for name in _FIGURES:
            batch.add_column(sa.Column(name, sa.Float(), nullable=False, server_default="0"))
    for name in _FIGURES:
        op.execute(
            f"UPDATE datasets SET {name} = (SELECT {name} FROM budget_ledgers "  # noqa: S608
            "WHERE budget_ledgers.id = datasets.ledger_id)"
        )
    with op.batch_alter_table("datasets") as batch:
        batch.drop_index("ix_datasets_ledger_id")
        batch.drop_column("ledger_id")
    op.drop_table("budget_ledger_files")
    op.drop_table("budget_ledgers")
