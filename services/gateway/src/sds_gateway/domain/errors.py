"""What can go wrong in a gateway command, in words a client can act on."""

from __future__ import annotations


class GatewayError(Exception):
    """Base of the errors a request can end with; ``code`` is stable, ``detail`` is prose."""

    code = "error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class NotFound(GatewayError):  # noqa: N818
    code = "not_found"


class Forbidden(GatewayError):  # noqa: N818
    code = "forbidden"


class Conflict(GatewayError):  # noqa: N818
    code = "conflict"


class Invalid(GatewayError):  # noqa: N818
    code = "invalid"


class UnsupportedMediaType(GatewayError):  # noqa: N818
    code = "unsupported_media_type"


class PayloadTooLarge(GatewayError):  # noqa: N818
    code = "payload_too_large"


class BadRequest(GatewayError):  # noqa: N818
    """A request the API cannot read at all (answered 400, not 422: no model was involved)."""

    code = "bad_request"
