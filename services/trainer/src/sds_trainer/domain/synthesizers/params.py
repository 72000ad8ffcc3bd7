"""A request's hyper-parameters parsed with the method's shared model (``sds_common.methods``).

The models themselves live in ``libs/common`` so that the gateway refuses exactly what the
synthesizers would refuse; here they only become the synthesizers' domain error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sds_common.methods import Method, MethodParams, params_problems
from sds_trainer.domain.synthesizers.errors import InvalidTrainingConfig


def parse_params(
    method: Method, params: Mapping[str, Any], *, private: bool, n_rows: int
) -> MethodParams:
    """``params`` as ``method``'s params model.

    Raises:
        InvalidTrainingConfig: every problem at once (unknown keys, unusable values, settings
            that do not fit DP or the row count).
    """
    parsed, refusals = params_problems(method, params, private=private, n_rows=n_rows)
    if refusals or parsed is None:
        raise InvalidTrainingConfig([r.message for r in refusals])
    return parsed
