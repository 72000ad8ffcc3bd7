"""Settings of this service: the shared ``SDS_*`` variables with its own defaults and limits."""

from __future__ import annotations

from pydantic import Field

from sds_common.settings import Settings
from sds_datasets.domain.limits import Limits


class DatasetsSettings(Settings):
    """Environment-driven settings; ``SDS_HTTP_PORT`` etc. still override these defaults."""

    service_name: str = "datasets"
    http_port: int = 8001
    datasets_max_rows: int = Field(
        default=2_000_000, ge=1, description="data rows an uploaded table may have"
    )
    datasets_max_columns: int = Field(
        default=500, ge=2, description="columns an uploaded table may have"
    )
    datasets_max_categories: int = Field(
        default=10_000, ge=2, description="distinct values a categorical column may have"
    )
    datasets_holdout_fraction: float = Field(
        default=0.2, gt=0.0, lt=1.0, description="share of rows held out from training"
    )
    datasets_pii_sample_rows: int = Field(
        default=2_000, ge=1, description="values per column the PII detectors look at"
    )
    datasets_max_json_depth: int = Field(
        default=32, ge=1, le=200, description="nesting levels of a JSON Lines record"
    )
    datasets_max_cell_bytes: int = Field(
        default=64 * 1024, ge=1, description="UTF-8 bytes of one value of an uploaded table"
    )
    datasets_max_row_bytes: int = Field(
        default=1024 * 1024, ge=1, description="UTF-8 bytes of one row of an uploaded table"
    )
    datasets_max_table_bytes: int = Field(
        default=1024**3,
        ge=1,
        description="bytes of a table once decoded (Parquet: declared uncompressed size too)",
    )

    def limits(self) -> Limits:
        """The validation limits these settings define."""
        return Limits(
            max_rows=self.datasets_max_rows,
            max_columns=self.datasets_max_columns,
            max_categories=self.datasets_max_categories,
            holdout_fraction=self.datasets_holdout_fraction,
            pii_sample_rows=self.datasets_pii_sample_rows,
            max_json_depth=self.datasets_max_json_depth,
            max_cell_bytes=self.datasets_max_cell_bytes,
            max_row_bytes=self.datasets_max_row_bytes,
            max_table_bytes=self.datasets_max_table_bytes,
        )


def datasets_settings(settings: Settings) -> DatasetsSettings:
    """``settings`` as DatasetsSettings (see ``Settings.for_service``)."""
    return settings.for_service(DatasetsSettings)
