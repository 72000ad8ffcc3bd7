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

    def limits(self) -> Limits:
        """The validation limits these settings define."""
        return Limits(
            max_rows=self.datasets_max_rows,
            max_columns=self.datasets_max_columns,
            max_categories=self.datasets_max_categories,
            holdout_fraction=self.datasets_holdout_fraction,
            pii_sample_rows=self.datasets_pii_sample_rows,
        )


def datasets_settings(settings: Settings) -> DatasetsSettings:
    """``settings`` as DatasetsSettings (see ``Settings.for_service``)."""
    return settings.for_service(DatasetsSettings)
