"""Name → synthesizer class, the one place handlers look synthesizers up."""

from __future__ import annotations

from sds_trainer.domain.synthesizers.base import Synthesizer
from sds_trainer.domain.synthesizers.ctgan_peer import CTGANPeerSynthesizer
from sds_trainer.domain.synthesizers.dp_ctgan import DPCTGANSynthesizer
from sds_trainer.domain.synthesizers.errors import InvalidTrainingConfig
from sds_trainer.domain.synthesizers.marginal import AIMSynthesizer, MSTSynthesizer

SYNTHESIZERS: dict[str, type[Synthesizer]] = {
    DPCTGANSynthesizer.name: DPCTGANSynthesizer,
    CTGANPeerSynthesizer.name: CTGANPeerSynthesizer,
    AIMSynthesizer.name: AIMSynthesizer,
    MSTSynthesizer.name: MSTSynthesizer,
}


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
