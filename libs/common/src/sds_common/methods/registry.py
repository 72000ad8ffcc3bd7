"""The training methods: name → params model and the facts every service relies on.

One entry per method. The gateway reads it to refuse a request before anything is queued; the
trainer maps each name to its synthesizer class (the ML code stays in the trainer) and reads the
same facts when it trains, so a method is added by one entry here and one class there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from sds_common.methods.params import (
    AIMParams,
    AutoParams,
    CTGANParams,
    CTGANPeerParams,
    MethodParams,
    MSTParams,
)

ConditionKind = Literal["categorical", "boolean"]


@dataclass(frozen=True)
class Method:
    """One training method and its facts.

    Attributes:
        name: the name requests use (``"dp-ctgan"``).
        params: the model of its ``params`` (request-level keys excluded, see
            :mod:`sds_common.methods.request`).
        differentially_private: whether it trains with a DP guarantee (needs ``privacy``).
        summary: one line for documentation and error messages.
        trains_in_epochs: whether an ``epochs`` default applies (marginal methods run rounds).
        accountant: the accountant its charges are in when fixed by the method (``"zcdp"``);
            None: the request's DP-SGD accountant (``privacy.accountant``).
        target_param: the parameter that favours one column, defaulted to the dataset's target.
        max_conditions: most columns a sample may be conditioned on (None: any number).
    """

    name: str
    params: type[MethodParams]
    differentially_private: bool
    summary: str
    trains_in_epochs: bool = True
    accountant: str | None = None
    target_param: str | None = None
    max_conditions: int | None = None

    @property
    def dp_sgd(self) -> bool:
        """Whether it trains with DP-SGD (``accountant`` and ``max_grad_norm`` apply)."""
        return self.differentially_private and self.accountant is None


DP_CTGAN: Final = Method(
    name="dp-ctgan",
    params=CTGANParams,
    differentially_private=True,
    summary="CTGAN with a DP-SGD discriminator",
    max_conditions=1,
)
CTGAN: Final = Method(
    name="ctgan",
    params=CTGANPeerParams,
    differentially_private=False,
    summary="the ctgan package's CTGAN, WITHOUT a DP guarantee (benchmarks and opt-outs)",
    max_conditions=1,
)
AIM: Final = Method(
    name="aim",
    params=AIMParams,
    differentially_private=True,
    summary="AIM: adaptive noisy marginals, zCDP",
    trains_in_epochs=False,
    accountant="zcdp",
    target_param="focus",
)
MST: Final = Method(
    name="mst",
    params=MSTParams,
    differentially_private=True,
    summary="MST: noisy marginals of a maximum spanning tree, zCDP",
    trains_in_epochs=False,
    accountant="zcdp",
)

AUTO: Final = Method(
    name="auto",
    params=AutoParams,
    differentially_private=True,
    summary="the recommended DP method for the table, chosen from public facts (aim or mst)",
    trains_in_epochs=False,
    accountant="zcdp",
    target_param="focus",
)

METHODS: Final[Mapping[str, Method]] = MappingProxyType(
    {method.name: method for method in (AUTO, DP_CTGAN, CTGAN, AIM, MST)}
)
DEFAULT_METHOD: Final = DP_CTGAN.name
#: Column kinds a sample may be conditioned on (equality on a released category).
CONDITION_KINDS: Final[frozenset[str]] = frozenset({"categorical", "boolean"})


class UnknownMethodError(LookupError):
    """No method is registered under this name; the message lists the valid ones."""


def get_method(name: str) -> Method:
    """The method registered under ``name``.

    Raises:
        UnknownMethodError: unknown name (the message lists the valid ones).
    """
    try:
        return METHODS[name]
    except KeyError:
        raise UnknownMethodError(unknown_method_message(name)) from None


def unknown_method_message(name: str) -> str:
    """Why ``name`` is refused, with the valid names."""
    shown = name if len(name) <= 64 else name[:61] + "..."
    return f"unknown method {shown!r}; valid methods: {', '.join(sorted(METHODS))}"
