"""Which privacy-budget ledger an upload charges, and why uploads share one.

The budget bounds what can be learnt about the *people* in a table, so it belongs to the data
source, not to an upload: uploading the same file again (the same bytes) must not give a fresh
budget, nor may a new extract of the same population. Within a project, an upload charges:

* ``source:<label>`` when its owner named the population it describes (the ``source`` field
  of the upload): every upload with that label shares one ledger;
* else ``sha256:<hex>``, the ledger of its exact bytes: a re-upload shares it;
* ``dataset:<id>``, the dataset alone, only for datasets profiled before ledgers were shared.

The trainer keeps the ledgers (one atomic total per ledger); the gateway shows them; the audit
service's privacy report says which one a generator charged, in :func:`ledger_meaning`'s words.
"""

from __future__ import annotations

import re
from typing import Final

#: The longest source label an owner may give.
MAX_SOURCE_LENGTH: Final = 100
_SHA256: Final = re.compile(r"^[0-9a-f]{64}$")


class InvalidSourceError(ValueError):
    """A ``source`` label that is not a short printable label; the message says why."""


def check_source(label: str) -> str:
    """A data-source label as the ledgers key it: surrounding blanks dropped, nothing else.

    Args:
        label: what the owner typed.

    Returns:
        The label, stripped.

    Raises:
        InvalidSourceError: empty, longer than ``MAX_SOURCE_LENGTH`` characters, or holding a
            control or other non-printable character.
    """
    text = label.strip()
    if not text:
        raise InvalidSourceError("the source is empty: name the population, or leave it out")
    if len(text) > MAX_SOURCE_LENGTH:
        raise InvalidSourceError(
            f"the source is {len(text)} characters long; at most {MAX_SOURCE_LENGTH} are accepted"
        )
    if not text.isprintable():
        raise InvalidSourceError(
            "the source holds a control or other non-printable character; use a short label "
            "such as 'admissions-2024'"
        )
    return text


def ledger_name(*, source: str | None, sha256: str | None, dataset_id: str) -> str:
    """The ledger an upload charges (see the module docstring).

    Args:
        source: the owner's population label, if given.
        sha256: the uploaded file's SHA-256 (hex), if recorded.
        dataset_id: the dataset, for uploads recorded with neither.
    """
    if source:
        return f"source:{source}"
    if sha256 and _SHA256.match(sha256):
        return f"sha256:{sha256}"
    return f"dataset:{dataset_id}"


def ledger_meaning(ledger: str, *, subject: str = "This generator charged") -> str:
    """One sentence for a privacy report: which ledger was charged, and why uploads share it.

    Args:
        ledger: a name from :func:`ledger_name`.
        subject: how the sentence starts, before "the privacy budget of …".
    """
    kind, _, key = ledger.partition(":")
    if kind == "source":
        return (
            f"{subject} the privacy budget of the data source {key!r} in its project: its owner "
            "labelled every upload of that population with this source, so they share one budget "
            "and a new extract of the same people does not reset it."
        )
    if kind == "sha256":
        return (
            f"{subject} the privacy budget of the uploaded file with SHA-256 {key[:16]}…: every "
            "upload of the same bytes in its project shares this budget, so uploading the file "
            "again does not reset it."
        )
    if kind == "dataset":
        return (
            f"{subject} the privacy budget of dataset {key} alone: it was profiled before "
            "budgets were shared per file and per data source."
        )
    return f"{subject} the privacy budget ledger {ledger!r}."
