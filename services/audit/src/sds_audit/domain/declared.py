"""The public metadata a generator's guarantee takes as given, read from its audit trail.

Declared metadata costs no ε because its declarer asserts that it is public knowledge; the
guarantee does not protect it. So the compliance outputs say, for each generator, exactly what
was declared, by whom and when:

* the schema review's declaration the training request names (``public_metadata_version``):
  its ``PublicMetadataDeclared`` record gives the declarer (actor) and the time;
* what the training request itself declared (``params.public_metadata``, by the requester),
  which wins per column over the review;
* the classes of a categorical (or boolean) target column: public by default since its upload,
  by the uploader, unless the declaration in force opted out (``target_classes_public: false``).

Pure, and defensive like the rest of the report: a record of an unexpected shape is described
as recorded rather than dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from sds_audit.domain.chain import ChainRecord, as_utc
from sds_common.tables.public_metadata import DeclaredColumn

Source = Literal["schema review", "training request", "target at upload"]
_CLASSED: Final = frozenset({"categorical", "boolean"})


class DeclaredMetadata(BaseModel):
    """One declaration a generator's guarantee takes as given."""

    model_config = ConfigDict(frozen=True)

    source: Source
    declared_by: str | None = None
    declared_at: datetime | None = None
    version: int | None = None
    columns: list[str] = []
    recorded: bool = True


def declared_metadata(
    trail: Sequence[ChainRecord], request: ChainRecord | None
) -> list[DeclaredMetadata]:
    """What the training ``request`` (in ``trail``) takes as declared public metadata."""
    if request is None:
        return []
    payload = request.payload
    params = payload.get("params")
    asked = params.get("public_metadata") if isinstance(params, Mapping) else None
    asked = asked if isinstance(asked, Mapping) else {}
    dataset_id = str(payload.get("dataset_id"))
    out: list[DeclaredMetadata] = []
    target_private = False
    version = payload.get("public_metadata_version")
    if isinstance(version, int):
        review = _review(trail, dataset_id=dataset_id, version=version, overridden=asked)
        out.append(review)
        target_private = review.recorded and _opted_out(trail, dataset_id, version)
    if asked:
        out.append(
            DeclaredMetadata(
                source="training request",
                declared_by=request.actor,
                declared_at=as_utc(request.occurred_at),
                columns=[f"{name}: {_requested(entry)}" for name, entry in sorted(asked.items())],
            )
        )
    target = _target(trail, dataset_id)
    if target is not None and not target_private and target[0] not in asked:
        name, upload = target
        out.append(
            DeclaredMetadata(
                source="target at upload",
                declared_by=upload.actor,
                declared_at=as_utc(upload.occurred_at),
                columns=[f"{name}: its classes"],
            )
        )
    return out


def given_sentence(declared: Sequence[DeclaredMetadata]) -> str:
    """The guarantee's condition in words: what it takes as public, by whom, since when."""
    schema = "The guarantee treats the table's schema (column names, kinds and formats) as public"
    if not declared:
        return (
            f"{schema}; nothing else was declared public: every other data-dependent statistic "
            "was found under differential privacy and is covered."
        )
    parts = [_part(d) for d in declared]
    return (
        "The guarantee holds given the public metadata declared for this training, which cost "
        "no ε and which the guarantee does not protect: "
        + "; ".join(parts)
        + f". {schema}. If any of it is not in fact public knowledge, what it reveals is not "
        "covered."
    )


def declared_summary(declared: Sequence[DeclaredMetadata]) -> str:
    """One line per declaration for a model card (``none`` when nothing was declared)."""
    lines = []
    for d in declared:
        who = f" by {d.declared_by}" if d.declared_by else ""
        when = f" on {d.declared_at:%Y-%m-%d %H:%M} UTC" if d.declared_at else ""
        what = f"schema review declaration {d.version}" if d.source == "schema review" else d.source
        if not d.recorded:
            what += " (not in the audit log)"
        lines.append(f"{what}{who}{when}: {', '.join(d.columns) or 'kinds only'}")
    return "; ".join(lines) or "none"


def _part(d: DeclaredMetadata) -> str:
    when = f"{d.declared_at:%Y-%m-%d %H:%M} UTC" if d.declared_at else "an unrecorded time"
    if d.source == "schema review":
        if not d.recorded:
            return (
                f"declaration {d.version} of the schema review (NOT in the audit log: who "
                "declared it and what it holds cannot be shown)"
            )
        what = ", ".join(d.columns) or "column kinds only"
        return (
            f"declaration {d.version} of the schema review, by {d.declared_by} on {when} ({what})"
        )
    if d.source == "training request":
        return f"in the training request, by {d.declared_by} on {when} ({', '.join(d.columns)})"
    name = d.columns[0].removesuffix(": its classes") if d.columns else "?"
    return (
        f"the classes of the target column {name!r}, public by default since its upload by "
        f"{d.declared_by} on {when}"
    )


def _review(
    trail: Sequence[ChainRecord], *, dataset_id: str, version: int, overridden: Mapping[str, Any]
) -> DeclaredMetadata:
    record = _declaration(trail, dataset_id, version)
    if record is None:
        return DeclaredMetadata(source="schema review", version=version, recorded=False)
    columns = record.payload.get("columns")
    return DeclaredMetadata(
        source="schema review",
        version=version,
        declared_by=record.actor,
        declared_at=as_utc(record.occurred_at),
        columns=[
            f"{name}: {_described(column)}"
            for name, column in sorted(columns.items() if isinstance(columns, Mapping) else ())
            if name not in overridden
        ],
    )


def _declaration(trail: Sequence[ChainRecord], dataset_id: str, version: int) -> ChainRecord | None:
    return next(
        (
            r
            for r in trail
            if r.event_type == "PublicMetadataDeclared"
            and str(r.payload.get("dataset_id")) == dataset_id
            and r.payload.get("declaration_version") == version
        ),
        None,
    )


def _opted_out(trail: Sequence[ChainRecord], dataset_id: str, version: int) -> bool:
    record = _declaration(trail, dataset_id, version)
    return record is not None and record.payload.get("target_classes_public") is False


def _target(trail: Sequence[ChainRecord], dataset_id: str) -> tuple[str, ChainRecord] | None:
    """The dataset's target column, if its classes are labels, with its upload record."""
    upload = profile = None
    for r in trail:
        if r.resource_id == dataset_id and r.event_type == "DatasetUploaded":
            upload = r
        elif r.resource_id == dataset_id and r.event_type == "DatasetProfiled":
            profile = r
    if upload is None or profile is None:
        return None
    name = profile.payload.get("target_column") or upload.payload.get("target_column")
    columns = profile.payload.get("columns")
    kinds = {c.get("name"): c.get("kind") for c in columns or () if isinstance(c, Mapping)}
    return (str(name), upload) if name and kinds.get(name) in _CLASSED else None


def _described(column: object) -> str:
    try:
        return DeclaredColumn.model_validate(column).describe()
    except ValidationError:
        return "as recorded"


def _requested(entry: object) -> str:
    if isinstance(entry, Mapping):
        bounds, categories = entry.get("bounds"), entry.get("categories")
        if isinstance(bounds, list | tuple) and len(bounds) == 2:
            try:
                return f"bounds {float(bounds[0]):,.15g} to {float(bounds[1]):,.15g}"
            except (TypeError, ValueError):
                pass
        if isinstance(categories, list | tuple):
            return f"{len(categories)} categories"
    return "as recorded"
