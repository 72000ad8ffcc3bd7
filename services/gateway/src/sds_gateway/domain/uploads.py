"""Pure rules of an upload: which formats are accepted, and a file name safe as an object key."""

from __future__ import annotations

import json
import re
from typing import Final

from pydantic import TypeAdapter, ValidationError

from sds_common.events.datasets import TableFormat
from sds_common.tables import ColumnOverride
from sds_gateway.domain.errors import Invalid, UnsupportedMediaType

_BY_EXTENSION: Final[dict[str, TableFormat]] = {
    "csv": "csv",
    "tsv": "tsv",
    "tab": "tsv",
    "parquet": "parquet",
    "pq": "parquet",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
}
_BY_CONTENT_TYPE: Final[dict[str, TableFormat]] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/parquet": "parquet",
    "application/x-ndjson": "jsonl",
    "application/ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
}
CONTENT_TYPES: Final[dict[TableFormat, str]] = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/x-ndjson",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_OVERRIDES: Final = TypeAdapter(dict[str, ColumnOverride])
MAX_FILENAME: Final = 120


def detect_format(filename: str, content_type: str | None) -> TableFormat:
    """Return the table format from the file's extension, else from its declared media type.

    Raises:
        UnsupportedMediaType: neither names CSV, TSV, Parquet or JSON Lines.
    """
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension in _BY_EXTENSION:
        return _BY_EXTENSION[extension]
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _BY_CONTENT_TYPE:
        return _BY_CONTENT_TYPE[media]
    raise UnsupportedMediaType(
        f"unsupported file type {filename!r} ({media or 'no content type'}): upload CSV (.csv), "
        "TSV (.tsv), Parquet (.parquet) or JSON Lines (.jsonl, .ndjson)",
        code="unsupported_format",
    )


def sanitise_filename(filename: str) -> str:
    """Return a name usable as the last segment of an object key.

    Drops any folder part, keeps letters, digits, ``.``, ``_`` and ``-`` (runs of anything else
    become one ``_``), strips leading dots (no hidden or reserved names) and bounds the length
    while keeping the extension.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    safe = _UNSAFE.sub("_", base).lstrip(".")
    if len(safe) > MAX_FILENAME:
        stem, dot, extension = safe.rpartition(".")
        keep = extension[:16] if dot else ""
        safe = (stem if dot else safe)[: MAX_FILENAME - len(keep) - 1] + (
            f".{keep}" if keep else ""
        )
    return safe if safe.strip("._-") else "upload"


def raw_object_key(dataset_id: str, filename: str) -> str:
    """Where an uploaded table is stored."""
    return f"datasets/{dataset_id}/raw/{sanitise_filename(filename)}"


def parse_column_overrides(text: str | None) -> dict[str, ColumnOverride]:
    """The upload's ``columns`` form field: ``{"column": {"kind": ..., "missing_markers": [...]}}``.

    Only the shape is checked here (known kinds and fields); whether the columns exist is
    known once the table is parsed, and the datasets service rejects the upload otherwise.

    Raises:
        Invalid: ``invalid_columns``, saying which entry is wrong and why.
    """
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"the 'columns' field is not valid JSON ({exc.msg} at character {exc.pos})",
            code="invalid_columns",
        ) from None
    if not isinstance(raw, dict):
        raise Invalid(
            "the 'columns' field must be a JSON object mapping column names to overrides, like "
            '{"case_id": {"kind": "identifier"}, "answer": {"missing_markers": ["NA"]}}',
            code="invalid_columns",
        )
    try:
        return _OVERRIDES.validate_python(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()[:5]
        )
        raise Invalid(
            f"the 'columns' field is not valid: {problems}", code="invalid_columns"
        ) from None
