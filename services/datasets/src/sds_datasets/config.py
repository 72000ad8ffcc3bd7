"""Settings of this service: the shared ``SDS_*`` variables with its own defaults."""

from sds_common.settings import Settings


class DatasetsSettings(Settings):
    """Environment-driven settings; ``SDS_HTTP_PORT`` etc. still override these defaults."""

    service_name: str = "datasets"
    http_port: int = 8001
