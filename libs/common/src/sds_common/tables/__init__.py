"""Tables as users wrote them: each column's format, and writing typed values back in it."""

from sds_common.tables.formats import (
    DATETIME_KINDS,
    BooleanTokens,
    ColumnFormat,
    ColumnOverride,
)

__all__ = ["DATETIME_KINDS", "BooleanTokens", "ColumnFormat", "ColumnOverride"]
