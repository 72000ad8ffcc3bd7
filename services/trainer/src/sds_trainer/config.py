"""Settings of this service: the shared ``SDS_*`` variables with its own defaults."""

from pydantic import Field

from sds_common.settings import Settings


class TrainerSettings(Settings):
    """Environment-driven settings; ``SDS_HTTP_PORT`` etc. still override these defaults."""

    service_name: str = "trainer"
    http_port: int = 8002
    trainer_epsilon_budget: float = Field(
        default=5.0, gt=0.0, description="total ε each budget ledger (data source) may spend"
    )
    trainer_epsilon_cap: float = Field(
        default=5.0, gt=0.0, description="policy cap: the most ε one training may ask for"
    )
    trainer_default_epochs: int | None = Field(
        default=None, ge=1, description="epochs when a request names none (method default)"
    )
    trainer_device: str | None = Field(
        default=None, description="torch device; default: cuda when available, else cpu"
    )
    trainer_threads: int | None = Field(
        default=None, ge=1, description="torch CPU threads (default: torch's choice)"
    )
    trainer_stall_s: float = Field(
        default=3600.0,
        gt=0.0,
        description="a training that completes no step for this long is stopped and failed",
    )


def trainer_settings(settings: Settings) -> TrainerSettings:
    """``settings`` as TrainerSettings (see ``Settings.for_service``)."""
    return settings.for_service(TrainerSettings)
