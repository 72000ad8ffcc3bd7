"""Safe serialisation of models and checkpoints: a JSON header plus plain float arrays.

The bytes are an ``.npz`` archive (numpy's zip of ``.npy`` files) read back with
``allow_pickle=False``: loading runs no code and rebuilds nothing but numbers and JSON values.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from sds_trainer.domain.synthesizers.marginal.graphical_model import FloatArray

_HEADER = "header"


def pack(header: Mapping[str, Any], arrays: Mapping[str, FloatArray]) -> bytes:
    """Serialise ``header`` (JSON-able) and named float arrays."""
    if _HEADER in arrays:
        raise ValueError(f"{_HEADER!r} is reserved")
    buf = io.BytesIO()
    text = json.dumps(header, allow_nan=False).encode()
    named: dict[str, Any] = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
    named[_HEADER] = np.frombuffer(text, dtype=np.uint8)
    np.savez(buf, **named)
    return buf.getvalue()


def unpack(data: bytes) -> tuple[dict[str, Any], dict[str, FloatArray]]:
    """Read what :func:`pack` wrote.

    Raises:
        ValueError: the bytes are not such an archive.
    """
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            header = json.loads(archive[_HEADER].tobytes().decode())
            arrays = {k: np.asarray(archive[k], dtype=np.float64) for k in archive.files}
    except (OSError, KeyError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a saved marginal model or checkpoint: {exc}") from exc
    arrays.pop(_HEADER)
    if isinstance(header, dict):
        return header, arrays
    raise ValueError("not a saved marginal model or checkpoint: bad header")
