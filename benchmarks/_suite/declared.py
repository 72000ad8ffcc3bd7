"""The public metadata "the schema the review proposes and an owner would accept" gets.

ONE adapter, :func:`reviewed_schema`, so the datasets service's schema review (being built on the
``schema-review`` branch: ``GET /datasets/{id}/schema`` proposes kinds, round bounds, category
lists and the target's classes; the owner accepts) is wired here when it lands. Until then it
returns declarations that do not come from the rows at all, each one a documented fact:

* the category lists and value ranges printed in the R packages' own documentation (e.g.
  ``?ggplot2::diamonds``: "price in US dollars ($326-$18,823)", "cut (Fair, Good, Very Good,
  Premium, Ideal)"; ``?AER::CPS1988``: the levels of ``ethnicity`` and ``region``);
* a categorical target's classes (the labels of a prediction target are schema, not data about a
  person: issue #15), from the same documentation;
* definitional ranges (a COMPAS decile score is 1..10).

That is less than a review would propose (it would also offer rounded bounds and category lists
for every low-cardinality column, shown to the owner first), so "ours, reviewed schema" here is a
lower bound of what the review will give; the results' notes say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmarks._suite.tables import Table
from benchmarks.synthesis import Prepared

INTERIM_SOURCE = (
    "interim, until the schema review lands (branch `schema-review`): only facts printed in the "
    "tables' documentation (R help pages' category lists and ranges, the target's classes, "
    "definitional ranges), nothing read from the rows"
)

_DOCUMENTED: dict[str, dict[str, dict[str, Any]]] = {
    "ggplot2/diamonds": {
        "price": {"bounds": [326, 18823]},
        "carat": {"bounds": [0.2, 5.01]},
        "cut": {"categories": ["Fair", "Good", "Very Good", "Premium", "Ideal"]},
        "color": {"categories": ["D", "E", "F", "G", "H", "I", "J"]},
        "clarity": {"categories": ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"]},
        "x": {"bounds": [0, 10.74]},
        "y": {"bounds": [0, 58.9]},
        "z": {"bounds": [0, 31.8]},
        "depth": {"bounds": [43, 79]},
        "table": {"bounds": [43, 95]},
    },
    "AER/CPS1988": {
        "ethnicity": {"categories": ["cauc", "afam"]},
        "region": {"categories": ["northeast", "midwest", "south", "west"]},
    },
    "Ecdat/Car": {
        "choice": {"categories": [f"choice{i}" for i in range(1, 7)]},
    },
    "modeldata/credit_data": {
        "Status": {"categories": ["good", "bad"]},
    },
    "COMPAS": {
        "decile_score": {"bounds": [1, 10]},
        "decile_score.1": {"bounds": [1, 10]},
        "v_decile_score": {"bounds": [1, 10]},
        "score_text": {"categories": ["Low", "Medium", "High"]},
        "v_score_text": {"categories": ["Low", "Medium", "High"]},
    },
}
_KIND_KEYS = {"numeric": "bounds", "datetime": "bounds", "categorical": "categories"}


@dataclass(frozen=True)
class Declaration:
    """Public metadata per column (the trainer's ``public_metadata`` form) and where it is from."""

    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = INTERIM_SOURCE


def reviewed_schema(table: Table, prepared: Prepared) -> Declaration:
    """What the owner of ``table`` accepts after the schema review (see the module docstring).

    Only declarations that fit the column as the datasets service typed it are kept (bounds for
    a numeric or datetime column, categories for a categorical one), so a change of kinds by the
    datasets service never declares something of the wrong shape.
    """
    kinds = {str(c["name"]): str(c["kind"]) for c in prepared.columns}
    return Declaration(metadata=_fitting(_DOCUMENTED.get(table.key, {}), kinds))


def _fitting(
    documented: Mapping[str, Mapping[str, Any]], kinds: Mapping[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, meta in documented.items():
        key = _KIND_KEYS.get(kinds.get(name, ""))
        if key is not None and key in meta:
            out[name] = {key: list(meta[key])}
    return out
