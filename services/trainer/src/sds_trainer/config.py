"""Settings of this service: the shared ``SDS_*`` variables with its own defaults."""

from sds_common.settings import Settings


class TrainerSettings(Settings):
    """Environment-driven settings; ``SDS_HTTP_PORT`` etc. still override these defaults."""

    service_name: str = "trainer"
    http_port: int = 8002
