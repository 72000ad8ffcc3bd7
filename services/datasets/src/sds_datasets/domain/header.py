"""Checks on a table's header that every format shares."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sds_datasets.domain.errors import BAD_HEADER, TOO_FEW_COLUMNS, TOO_MANY_COLUMNS, DatasetError
from sds_datasets.domain.limits import Limits

MIN_COLUMNS = 2


def check_header(names: Sequence[str], *, limits: Limits) -> list[str]:
    """Return the column names stripped of surrounding blanks, or refuse the header.

    Blank and duplicate names are refused rather than renamed (``a.1``, ``Unnamed: 3``): the owner
    refers to columns by name later (the target, generation conditions), and a name we invented
    would surprise them.

    Raises:
        DatasetError: ``too_few_columns``, ``too_many_columns`` or ``bad_header``.
    """
    stripped = [str(name).strip() for name in names]
    if len(stripped) < MIN_COLUMNS:
        raise DatasetError(
            TOO_FEW_COLUMNS,
            f"the table has {len(stripped)} column(s); at least {MIN_COLUMNS} are needed "
            "(if it does have several, check the delimiter)",
        )
    if len(stripped) > limits.max_columns:
        raise DatasetError(
            TOO_MANY_COLUMNS,
            f"the table has {len(stripped)} columns; at most {limits.max_columns} are accepted",
        )
    blank = [i + 1 for i, name in enumerate(stripped) if not name]
    if blank:
        raise DatasetError(
            BAD_HEADER,
            f"column(s) {', '.join(map(str, blank))} have no name in the header; "
            "give every column a name",
            row=1,
        )
    duplicated = sorted(name for name, count in Counter(stripped).items() if count > 1)
    if duplicated:
        raise DatasetError(
            BAD_HEADER,
            f"the header names these columns more than once: {', '.join(duplicated)}; "
            "column names must be unique",
            row=1,
            column=duplicated[0],
        )
    return stripped
