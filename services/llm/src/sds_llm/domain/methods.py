"""What each synthesis method can be tuned with, so advice names only knobs that exist.

A small table of the trainer's methods (``sds_trainer.domain.synthesizers``): the method registry
is moving to ``sds_common.methods``; until it is on main this copy holds the few facts advice
needs. A method not listed gets advice that holds for every method (declare metadata, raise ε).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Family = Literal["marginal", "deep"]


@dataclass(frozen=True)
class MethodFacts:
    """The tuning facts of one method.

    Attributes:
        name: the registry name (``ModelTrained.method``).
        family: "marginal" (measures noisy marginals, fits a graphical model: no epochs) or
            "deep" (a network trained with DP-SGD or without DP: epochs and batch size exist).
        differentially_private: it releases under a DP guarantee.
        focus: it weighs the declared target's marginals (aim's workload; ``params.focus``).
        adaptive: it chooses the marginals it measures from the data under DP (aim), rather than
            a fixed structure (mst's spanning tree of pairs).
    """

    name: str
    family: Family
    differentially_private: bool
    focus: bool = False
    adaptive: bool = False

    @property
    def epochs(self) -> bool:
        """Whether epochs, batch size and the like are settings of this method."""
        return self.family == "deep"


METHODS: Final[dict[str, MethodFacts]] = {
    "aim": MethodFacts("aim", "marginal", differentially_private=True, focus=True, adaptive=True),
    "mst": MethodFacts("mst", "marginal", differentially_private=True),
    "dp-ctgan": MethodFacts("dp-ctgan", "deep", differentially_private=True),
    "ctgan": MethodFacts("ctgan", "deep", differentially_private=False),
}
#: Mechanism names a privacy report may carry without the method (older evaluations).
_BY_MECHANISM: Final = {"aim": "aim", "mst": "mst", "dp-sgd": "dp-ctgan", "dpsgd": "dp-ctgan"}


def method_facts(method: str | None, mechanism: str | None = None) -> MethodFacts | None:
    """The facts of ``method``, else of the method ``mechanism`` implies; None when unknown."""
    if method in METHODS:
        return METHODS[method]
    named = _BY_MECHANISM.get((mechanism or "").lower())
    return METHODS[named] if named else None
