"""The gateway's side of the shared request check (``sds_common.methods``).

The check itself is the trainer's (one implementation in ``libs/common``); here its refusals
become one 422 problem that lists every reason, and the gateway adds the one rule that is its
own: a method without a DP guarantee is trained only when the caller says so explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence

from sds_common.methods import DEFAULT_METHOD, METHODS, Refusal, refusal_code
from sds_gateway.domain.errors import Invalid


def refuse(refusals: Sequence[Refusal]) -> None:
    """Raise one ``Invalid`` listing every refusal (nothing when there is none).

    Raises:
        Invalid: the refusals' shared code (``invalid_request`` when they differ), every
            message in ``detail`` and each one in ``errors`` with where it applies.
    """
    if not refusals:
        return
    raise Invalid(
        "; ".join(r.message for r in refusals),
        code=refusal_code(refusals),
        errors=[{"loc": ["body", *r.loc], "msg": r.message, "type": r.code} for r in refusals],
    )


def check_opt_in(method: str, *, allow_non_dp: bool) -> None:
    """Refuse a method without a DP guarantee unless ``allow_non_dp`` says so.

    Raises:
        Invalid: ``non_dp_not_allowed``.
    """
    known = METHODS.get(method)
    if known is not None and not known.differentially_private and not allow_non_dp:
        raise Invalid(
            f"method {method!r} gives NO differential-privacy guarantee; pass "
            f'"allow_non_dp": true to train it anyway, or use a DP method such as '
            f"{DEFAULT_METHOD!r}",
            code="non_dp_not_allowed",
        )
