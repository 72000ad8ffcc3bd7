"""Which methods the peers benchmark runs, in which environment, with which settings.

Ours come from the trainer's registry at run time (every DP synthesizer registered), each given
the table's declared public metadata; the cheap ones (:data:`NO_METADATA_TOO`) run a second time
without it, as a user who declares nothing would run them. The peers are fixed: the ``ctgan``
package (non-DP, once), smartnoise-synth's DP-CTGAN, MST and AIM, and mostlyai-engine's
TabularARGN with DP; they get the same declared metadata as ours (smartnoise's MST and AIM use its
bounds, see ``smartnoise_worker``; the others have no way to take it). A DP method runs once per
ε; a non-DP one once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OURS = "ours"
#: The columns of ``--quick``'s sample (numeric and categorical, with missing values, and target).
QUICK_COLUMNS = (
    "age",
    "workclass",
    "education",
    "marital-status",
    "occupation",
    "sex",
    "hours-per-week",
    "income",
)
#: Ours that also run without the declared public metadata (seconds to fit, so twice is cheap).
NO_METADATA_TOO = ("aim", "mst")
#: Suffix of the key of such a second run.
NO_METADATA = "-no-metadata"
#: Fixed peers: key → (label, venv, worker module, the worker's method name, DP).
PEERS: dict[str, tuple[str, str, str, str, bool]] = {
    "smartnoise-aim": ("smartnoise AIM", "smartnoise", "smartnoise_worker", "aim", True),
    "smartnoise-dpctgan": (
        "smartnoise DP-CTGAN",
        "smartnoise",
        "smartnoise_worker",
        "dpctgan",
        True,
    ),
    "smartnoise-mst": ("smartnoise MST", "smartnoise", "smartnoise_worker", "mst", True),
    "ctgan": ("ctgan package (non-DP)", "ctgan", "ctgan_worker", "ctgan", False),
    "mostlyai": (
        "mostlyai-engine TabularARGN",
        "mostlyai",
        "mostlyai_worker",
        "tabular-argn",
        True,
    ),
}


@dataclass(frozen=True)
class Method:
    """A synthesizer and where it runs (``venv`` is ``"ours"`` for the workspace venv).

    ``declared``: the worker gets the table's declared public metadata.
    """

    key: str
    label: str
    venv: str
    worker: str
    name: str
    private: bool
    declared: bool = False

    @property
    def ours(self) -> bool:
        """True for our own synthesizers."""
        return self.venv == OURS


@dataclass(frozen=True)
class Run:
    """One fit of the table: a method at an ε (None: not DP)."""

    method: Method
    epsilon: float | None

    @property
    def label(self) -> str:
        """The table's first cell."""
        return self.method.label


def catalogue(registry: Mapping[str, Any]) -> dict[str, Method]:
    """Our DP synthesizers (from ``registry``, name → class) and the fixed peers, by key."""
    out: dict[str, Method] = {}
    for name, cls in registry.items():
        if not getattr(cls, "differentially_private", False):
            continue
        out[name] = Method(name, f"ours: {name}", OURS, "ours_worker", name, True, declared=True)
        if name in NO_METADATA_TOO:
            key = name + NO_METADATA
            out[key] = Method(key, f"ours: {name}, no metadata", OURS, "ours_worker", name, True)
    for key, (label, venv, worker, name, private) in PEERS.items():
        out[key] = Method(key, label, venv, worker, name, private, declared=True)
    return out


def groups(methods: Mapping[str, Method]) -> dict[str, list[str]]:
    """Names that stand for several methods in ``--methods``."""
    return {
        "all": list(methods),
        OURS: [k for k, m in methods.items() if m.ours],
        "peers": [k for k, m in methods.items() if not m.ours],
        "smartnoise": [k for k, m in methods.items() if m.venv == "smartnoise"],
    }


def select(spec: str, *, methods: Mapping[str, Method], epsilons: Sequence[float]) -> list[Run]:
    """The runs named by ``spec`` (comma list of keys and group names), in catalogue order.

    Raises:
        SystemExit: an unknown name; the message lists the valid ones.
    """
    named = groups(methods)
    wanted: set[str] = set()
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if item in named:
            wanted.update(named[item])
        elif item in methods:
            wanted.add(item)
        else:
            valid = ", ".join([*named, *methods])
            raise SystemExit(f"unknown method {item!r}; valid: {valid}")
    runs = []
    for key, method in methods.items():
        if key not in wanted:
            continue
        if method.private:
            runs += [Run(method, float(eps)) for eps in epsilons]
        else:
            runs.append(Run(method, None))
    # The first ε (and the non-DP peer) before the others, ours before the peers, the targets'
    # references first among the peers: a run cut short still holds what the targets need.
    first = float(epsilons[0]) if epsilons else None

    def order(run: Run) -> tuple[int, int]:
        return (0 if run.epsilon in (None, first) else 1, 0 if run.method.ours else 1)

    return sorted(runs, key=order)


def params_for(run: Run, *, quick: bool, epochs: int, batch_size: int) -> dict[str, Any]:
    """Settings per run: dp-ctgan's defaults for the GANs, small ones with ``quick``.

    ``epochs`` and ``batch_size`` are dp-ctgan's (the ctgan package gets the same); our other
    synthesizers and MST keep their defaults. smartnoise DP-CTGAN keeps its defaults at ε=1 and
    elsewhere trains as long as they take at ε=1 (its noise is calibrated, see
    ``smartnoise_worker.calibrated_sigma``); mostlyai gets 5 minutes of training. ``quick``: one
    epoch, 16 AIM rounds.
    """
    key = run.method.key
    gan = {"epochs": 1 if quick else epochs, "batch_size": 100 if quick else batch_size}
    if key in ("dp-ctgan", "ctgan"):
        return gan
    if key == "smartnoise-dpctgan":
        if quick:
            return gan
        # Its own default epochs (300) is a cap: it stops when the accountant reaches ε.
        calibrate = {} if run.epsilon == 1.0 else {"calibrate_to_epsilon": 1.0}
        return {"batch_size": batch_size, **calibrate}
    if key == "smartnoise-aim" and quick:
        # Fewer rounds than twice the columns leaves its 1-way measurements too little budget.
        return {"rounds": 2 * len(QUICK_COLUMNS), "max_model_size": 5}
    if key == "mostlyai":
        return {"max_epochs": 1, "max_training_time": 1} if quick else {"max_training_time": 5}
    return {}
