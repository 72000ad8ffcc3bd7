"""From an uploaded file to a checked, typed, profiled and split table on local disk.

Everything here works on local paths; the handler moves files to and from object storage.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from uuid import UUID

import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq

from sds_common.tables import ColumnFormat, ColumnOverride
from sds_datasets.domain.delimited import delimiter_name, read_delimited
from sds_datasets.domain.encoding import TextEncoding, to_utf8
from sds_datasets.domain.errors import (
    CHECKSUM_MISMATCH,
    EMPTY_TARGET,
    TOO_FEW_COLUMNS,
    UNKNOWN_TARGET,
    DatasetError,
    DatasetWarning,
)
from sds_datasets.domain.header import MIN_COLUMNS
from sds_datasets.domain.inference import (
    InferredColumn,
    Kind,
    infer_column,
    sample_values,
    with_format,
)
from sds_datasets.domain.jsonl import read_jsonl
from sds_datasets.domain.limits import Limits
from sds_datasets.domain.overrides import check_override_columns, force_kind
from sds_datasets.domain.parquet import read_parquet
from sds_datasets.domain.pii import PiiFinding, detect_name, detect_values
from sds_datasets.domain.profile import DP_NOTICE, column_profile
from sds_datasets.domain.split import holdout_split

PROFILE_VERSION: Final = 2
_PII_VALUE_KINDS: Final = frozenset({"categorical", "identifier", "text", "numeric"})


@dataclass(frozen=True)
class ColumnFacts:
    """What the DatasetProfiled event says about a column."""

    name: str
    kind: Kind
    missing_fraction: float
    distinct: int
    pii: tuple[str, ...]
    format: ColumnFormat | None = None
    kind_reason: str = ""


@dataclass(frozen=True)
class PreparedDataset:
    """The outcome of :func:`prepare_dataset`: files under the work folder and the facts."""

    n_rows: int
    columns: tuple[ColumnFacts, ...]
    holdout_rows: int
    table_path: Path
    train_path: Path
    holdout_path: Path
    profile_path: Path
    profile: dict[str, Any]


@dataclass(frozen=True)
class _Loaded:
    frame: pd.DataFrame
    encoding: TextEncoding | None = None
    delimiter: str | None = None
    #: Each column's Arrow type in a typed source (Parquet); text sources have none.
    source_types: dict[str, str] = field(default_factory=dict)


def prepare_dataset(
    *,
    source: Path,
    workdir: Path,
    table_format: str,
    dataset_id: UUID,
    target_column: str | None,
    limits: Limits,
    expected_sha256: str | None = None,
    overrides: Mapping[str, ColumnOverride] | None = None,
) -> PreparedDataset:
    """Parse, check, type, profile and split the uploaded file ``source``.

    ``overrides`` are the owner's declarations per column (missing-value markers, kind); each
    must name a column of the table.

    Writes ``table.parquet``, ``train.parquet``, ``holdout.parquet`` and ``profile.json`` into
    ``workdir``. The result depends only on the file, the settings and the dataset id.

    Raises:
        DatasetError: the table is refused; nothing it says is partial.
    """
    if expected_sha256 is not None:
        _check_sha256(source, expected_sha256)
    loaded = _load(source, workdir=workdir, table_format=table_format, limits=limits)
    if target_column is not None and target_column not in loaded.frame.columns:
        names = ", ".join(map(repr, list(loaded.frame.columns)[:20]))
        raise DatasetError(
            UNKNOWN_TARGET,
            f"the target column {target_column!r} is not in the table; its columns are {names}",
            column=target_column,
        )
    overrides = overrides or {}
    check_override_columns(list(loaded.frame.columns), overrides)
    columns, warnings = _infer(
        loaded, target_column=target_column, limits=limits, overrides=overrides
    )
    typed = pd.DataFrame({column.name: column.values for column in columns})
    findings = {column.name: _pii(column, limits=limits) for column in columns}
    stratify = (
        target_column
        if target_column is not None and _kind(columns, target_column) in ("categorical", "boolean")
        else None
    )
    split = holdout_split(
        typed, dataset_id=dataset_id, fraction=limits.holdout_fraction, stratify_by=stratify
    )
    entries = [column_profile(column, pii=findings[column.name]) for column in columns]
    warnings += [w for column in columns for w in column.warnings]
    profile: dict[str, Any] = {
        "profile_version": PROFILE_VERSION,
        "dp": False,
        "notice": DP_NOTICE,
        "dataset_id": str(dataset_id),
        "format": table_format,
        "encoding": _encoding_json(loaded.encoding),
        "delimiter": delimiter_name(loaded.delimiter) if loaded.delimiter else None,
        "n_rows": len(typed),
        "n_columns": len(columns),
        "target_column": target_column,
        "holdout": {
            "fraction": limits.holdout_fraction,
            "train_rows": len(split.train),
            "holdout_rows": len(split.holdout),
            "stratified_by": split.stratified_by,
        },
        "warnings": [warning.as_json() for warning in warnings],
        "columns": entries,
    }
    paths = {name: workdir / f"{name}.parquet" for name in ("table", "train", "holdout")}
    typed.to_parquet(paths["table"], index=False)
    typed.iloc[split.train].to_parquet(paths["train"], index=False)
    typed.iloc[split.holdout].to_parquet(paths["holdout"], index=False)
    profile_path = workdir / "profile.json"
    profile_path.write_text(json.dumps(profile, indent=2, ensure_ascii=False, allow_nan=False))
    return PreparedDataset(
        n_rows=len(typed),
        columns=tuple(
            ColumnFacts(
                name=entry["name"],
                kind=entry["kind"],
                missing_fraction=entry["missing_fraction"],
                distinct=entry["distinct"],
                pii=tuple(dict.fromkeys(f.kind for f in findings[column.name])),
                format=column.format,
                kind_reason=column.reason,
            )
            for entry, column in zip(entries, columns, strict=True)
        ),
        holdout_rows=len(split.holdout),
        table_path=paths["table"],
        train_path=paths["train"],
        holdout_path=paths["holdout"],
        profile_path=profile_path,
        profile=profile,
    )


def _check_sha256(source: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with source.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise DatasetError(
            CHECKSUM_MISMATCH,
            f"the stored file's SHA-256 is {digest.hexdigest()}, not the {expected} recorded at "
            "upload: it was changed or damaged; upload it again",
        )


def _load(source: Path, *, workdir: Path, table_format: str, limits: Limits) -> _Loaded:
    if table_format == "parquet":
        frame = read_parquet(source, limits=limits)
        types = {field.name.strip(): str(field.type) for field in pq.read_schema(source)}
        return _Loaded(frame=frame, source_types=types)
    text = workdir / "source.utf8"
    encoding = to_utf8(source, text, declared=table_format)
    try:
        if table_format == "jsonl":
            return _Loaded(frame=read_jsonl(text, limits=limits), encoding=encoding)
        delimited = read_delimited(text, declared=table_format, limits=limits)
        return _Loaded(frame=delimited.frame, encoding=encoding, delimiter=delimited.delimiter)
    finally:
        text.unlink(missing_ok=True)


def _infer(
    loaded: _Loaded,
    *,
    target_column: str | None,
    limits: Limits,
    overrides: Mapping[str, ColumnOverride],
) -> tuple[list[InferredColumn], list[DatasetWarning]]:
    columns: list[InferredColumn] = []
    warnings: list[DatasetWarning] = []
    frame = loaded.frame
    for name in frame.columns:
        override = overrides.get(name)
        column = infer_column(
            frame[name],
            name=name,
            limits=limits,
            missing_markers=None if override is None else override.missing_markers,
        )
        if column is not None:
            if override is not None and override.kind is not None and override.kind != column.kind:
                column = force_kind(column, override.kind, limits=limits, override=override)
            source_type = loaded.source_types.get(name, "text")
            columns.append(with_format(column, source_type=source_type))
            continue
        if name == target_column:
            raise DatasetError(
                EMPTY_TARGET,
                f"the target column {name!r} has no value in any row",
                column=name,
            )
        warnings.append(
            DatasetWarning(
                "empty_column_dropped",
                f"column {name!r} has no value in any row and was dropped",
                column=name,
            )
        )
    if len(columns) < MIN_COLUMNS:
        dropped = ", ".join(repr(w.column) for w in warnings)
        raise DatasetError(
            TOO_FEW_COLUMNS,
            f"only {len(columns)} column(s) hold any value once the empty ones ({dropped}) are "
            f"left out; at least {MIN_COLUMNS} are needed",
        )
    return columns, warnings


def _pii(column: InferredColumn, *, limits: Limits) -> list[PiiFinding]:
    findings = detect_name(column.name)
    numeric_non_integer = column.kind == "numeric" and not column.integer
    if column.kind in _PII_VALUE_KINDS and not numeric_non_integer:
        present = column.values.dropna()
        sample = sample_values(present, limits.pii_sample_rows)
        findings += detect_values(str(value) for value in sample)
    return findings


def _kind(columns: list[InferredColumn], name: str) -> str | None:
    return next((column.kind for column in columns if column.name == name), None)


def _encoding_json(encoding: TextEncoding | None) -> dict[str, Any] | None:
    if encoding is None:
        return None
    return {
        "name": encoding.name,
        "confidence": round(encoding.confidence, 4),
        "bom": encoding.bom,
        "guessed": encoding.guessed,
    }
