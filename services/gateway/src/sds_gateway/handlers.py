"""What the gateway service does for each event it consumes (filled in by the pipeline work)."""

from collections.abc import Sequence

from sds_common.bus import Subscription
from sds_common.runtime.service import Service


def subscriptions(_service: Service) -> Sequence[Subscription]:
    """The gateway service's event handlers."""
    return ()
