"""The one preprocessing and decoding path of every synthesizer (see :mod:`.table`)."""

from sds_trainer.domain.synthesizers.codec.categorical import CategoricalDomain
from sds_trainer.domain.synthesizers.codec.identifier import IdentifierDomain
from sds_trainer.domain.synthesizers.codec.mechanisms import noise_source
from sds_trainer.domain.synthesizers.codec.numeric import NumericDomain
from sds_trainer.domain.synthesizers.codec.table import (
    Domain,
    HistogramPlan,
    PublicStep,
    TableCodec,
    plan,
)

__all__ = [
    "CategoricalDomain",
    "Domain",
    "HistogramPlan",
    "IdentifierDomain",
    "NumericDomain",
    "PublicStep",
    "TableCodec",
    "noise_source",
    "plan",
]
