"""Name → synthesizer class, the one place handlers look synthesizers up.

The names and each method's facts (DP or not, params model, target parameter) are the shared
registry's, ``sds_common.methods``; this maps each of them to the class that trains it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sds_common.methods import METHODS, get_method, unknown_method_message
from sds_trainer.domain.synthesizers.auto import AutoSynthesizer
from sds_trainer.domain.synthesizers.base import Synthesizer
from sds_trainer.domain.synthesizers.ctgan_peer import CTGANPeerSynthesizer
from sds_trainer.domain.synthesizers.dp_ctgan import DPCTGANSynthesizer
from sds_trainer.domain.synthesizers.errors import InvalidTrainingConfig
from sds_trainer.domain.synthesizers.marginal import AIMSynthesizer, MSTSynthesizer

SYNTHESIZERS: dict[str, type[Synthesizer]] = {
    cls.name: cls
    for cls in (
        AutoSynthesizer,
        DPCTGANSynthesizer,
        CTGANPeerSynthesizer,
        AIMSynthesizer,
        MSTSynthesizer,
    )
}
if set(SYNTHESIZERS) != set(METHODS):  # pragma: no cover - a wiring error, caught at import
    raise RuntimeError(f"synthesizers {sorted(SYNTHESIZERS)} differ from methods {sorted(METHODS)}")


def with_target(
    cls: type[Synthesizer], params: Mapping[str, Any], target: str | None
) -> dict[str, Any]:
    """``params`` with the dataset's target column in the method's ``target_param``.

    A method that can favour one column (``aim``: its ``focus``) names the parameter in its
    registry entry; a value the request already gives is kept, and so are methods without one.
    """
    out = dict(params)
    key = get_method(cls.name).target_param
    if target is not None and key is not None and key not in out:
        out[key] = target
    return out


def get_synthesizer(name: str) -> type[Synthesizer]:
    """The synthesizer class registered under ``name``.

    Raises:
        InvalidTrainingConfig: unknown name; the message lists the valid ones.
    """
    try:
        return SYNTHESIZERS[name]
    except KeyError:
        raise InvalidTrainingConfig([unknown_method_message(name)]) from None
