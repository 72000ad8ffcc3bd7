"""Name → synthesizer class, the one place handlers look synthesizers up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sds_trainer.domain.synthesizers.auto import AutoSynthesizer
from sds_trainer.domain.synthesizers.base import Synthesizer
from sds_trainer.domain.synthesizers.ctgan_peer import CTGANPeerSynthesizer
from sds_trainer.domain.synthesizers.dp_ctgan import DPCTGANSynthesizer
from sds_trainer.domain.synthesizers.errors import InvalidTrainingConfig
from sds_trainer.domain.synthesizers.marginal import AIMSynthesizer, MSTSynthesizer

SYNTHESIZERS: dict[str, type[Synthesizer]] = {
    AutoSynthesizer.name: AutoSynthesizer,
    DPCTGANSynthesizer.name: DPCTGANSynthesizer,
    CTGANPeerSynthesizer.name: CTGANPeerSynthesizer,
    AIMSynthesizer.name: AIMSynthesizer,
    MSTSynthesizer.name: MSTSynthesizer,
}


def with_target(
    cls: type[Synthesizer], params: Mapping[str, Any], target: str | None
) -> dict[str, Any]:
    """``params`` with the dataset's target column in the method's ``target_param``.

    A method that can favour one column (``aim``: its ``focus``) names the parameter in a
    ``target_param`` class attribute; a value the request already gives is kept, and so are
    methods without one.
    """
    out = dict(params)
    key = getattr(cls, "target_param", None)
    if target is not None and isinstance(key, str) and key not in out:
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
        valid = ", ".join(sorted(SYNTHESIZERS))
        raise InvalidTrainingConfig([f"unknown method {name!r}; valid methods: {valid}"]) from None
