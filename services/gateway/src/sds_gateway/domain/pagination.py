"""Opaque cursors for keyset pagination on (created_at, id), newest first."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from sds_gateway.domain.errors import Invalid

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Cursor:
    """The position after which a page starts: the last item of the previous page."""

    created_at: datetime
    id: str

    def encode(self) -> str:
        """The cursor as an opaque URL-safe string."""
        raw = json.dumps({"t": self.created_at.isoformat(), "i": self.id}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Parse a cursor returned by ``encode``.

        Raises:
            Invalid: not a cursor this API produced.
        """
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = json.loads(raw)
            return cls(created_at=datetime.fromisoformat(data["t"]), id=str(data["i"]))
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise Invalid("invalid cursor: pass the next_cursor of a previous page") from None
