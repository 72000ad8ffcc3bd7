"""Marginal-based DP synthesizers: ``aim`` and ``mst`` on our own Private-PGM-style model.

Modules: :mod:`.accounting` (the zCDP ledger and its (ε, δ) conversion), :mod:`.discretise` and
:mod:`.columns` (the DP preprocessing: every column as a finite attribute, and back),
:mod:`.junction_tree`, :mod:`.graphical_model` and :mod:`.estimation` (the model, belief
propagation, i.i.d. sampling and the fit to noisy marginals), :mod:`.session` (one run's
mechanisms and rounds), :mod:`.synthesizer` (the protocol around it), :mod:`.aim`, :mod:`.mst`.
"""

from sds_trainer.domain.synthesizers.marginal.aim import AIMSynthesizer
from sds_trainer.domain.synthesizers.marginal.mst import MSTSynthesizer

__all__ = ["AIMSynthesizer", "MSTSynthesizer"]
