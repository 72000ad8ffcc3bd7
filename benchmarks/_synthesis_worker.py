"""One method of the synthesis benchmark, fitted and sampled in its own process.

``python benchmarks/synthesis.py --worker JOB.json`` runs :func:`fit_and_sample` and writes its
result next to the job file, so each method's peak memory (``ru_maxrss`` of that process) is its
own. The training loop is timed apart from the preprocessing by wrapping the loop entry of each
implementation (dp-ctgan's ``TrainingRun.train``, the ctgan package's epoch iterator) inside this
worker process only; the library code is unchanged.
"""

from __future__ import annotations

import json
import math
import resource
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sds_trainer.domain.synthesizers import PrivacyBudget, column_specs, get_synthesizer
from sds_trainer.domain.synthesizers import dp_ctgan as dp_ctgan_module
from sds_trainer.domain.synthesizers.ctgan_training import TrainingRun

DELTA = 1e-6  # well below 1/n for the 26k training rows


@dataclass(frozen=True)
class Job:
    """What one worker fits: method, target ε (None: not DP), params, threads and files."""

    label: str
    method: str
    epsilon: float | None
    params: dict[str, Any]
    threads: int | None
    train_path: str
    columns: list[dict[str, Any]]
    synthetic_path: str
    seed: int = 0


@dataclass(frozen=True)
class FitSample:
    """Timings, accounting and memory of one fit + sample."""

    fit_s: float
    loop_s: float
    epochs: int
    sample_rows: int
    sample_s: float
    sample_default_threads: int  # torch's own default here: what the trainer service uses
    sample_default_s: float
    peak_rss_mib: float
    epsilon_spent: float | None
    noise_multiplier: float | None
    steps: int


class _Clock:
    """Start and end of the training loop, as seen from inside the fit."""

    def __init__(self) -> None:
        self.start = math.nan
        self.end = math.nan


@contextmanager
def _time_dp_ctgan(clock: _Clock) -> Iterator[None]:
    class TimedRun(TrainingRun):
        def train(self, **kwargs: Any) -> dict[str, Any]:
            clock.start = time.perf_counter()
            try:
                return super().train(**kwargs)
            finally:
                clock.end = time.perf_counter()

    # The synthesizer builds its run through this module attribute; restored on exit so an
    # in-process run (the smoke test) leaves the library as it found it.
    setattr(dp_ctgan_module, "TrainingRun", TimedRun)  # noqa: B010
    try:
        yield
    finally:
        setattr(dp_ctgan_module, "TrainingRun", TrainingRun)  # noqa: B010


@contextmanager
def _time_ctgan_package(clock: _Clock) -> Iterator[None]:
    import ctgan.synthesizers.ctgan as package  # noqa: PLC0415 - optional extra

    class EpochClock:
        """Stands in for the package's (disabled) tqdm over epochs; stamps the loop's ends."""

        def __init__(self, iterable: Iterable[int], **_: Any) -> None:
            self.iterable = iterable

        def set_description(self, *_: Any) -> None:
            return None

        def __iter__(self) -> Iterator[int]:
            clock.start = time.perf_counter()
            yield from self.iterable
            clock.end = time.perf_counter()

    original = package.tqdm
    package.tqdm = EpochClock
    try:
        yield
    finally:
        package.tqdm = original


def fit_and_sample(job: Job) -> FitSample:
    """Fit ``job.method`` on the training rows, sample as many rows, save them.

    The synthetic rows go to ``job.synthetic_path`` (parquet) for the parent to evaluate.
    """
    import torch  # noqa: PLC0415

    default_threads = torch.get_num_threads()  # before any setting: torch's choice
    if job.threads:
        torch.set_num_threads(job.threads)
    frame = pd.read_parquet(job.train_path)
    specs = column_specs(job.columns, frame)
    clock = _Clock()
    timed = _time_dp_ctgan if job.method == "dp-ctgan" else _time_ctgan_package
    privacy = None if job.epsilon is None else PrivacyBudget(epsilon=job.epsilon, delta=DELTA)
    model = get_synthesizer(job.method)()
    with timed(clock):
        start = time.perf_counter()
        report = model.fit(frame, columns=specs, privacy=privacy, params=job.params, seed=job.seed)
        fit_s = time.perf_counter() - start
    n = len(frame)
    model.sample(min(n, 1_000), seed=job.seed + 3)  # one-off set-up out of both timings
    start = time.perf_counter()
    synthetic = model.sample(n, seed=job.seed + 1)
    sample_s = time.perf_counter() - start
    # Sampling as the trainer service runs it by default (SDS_TRAINER_THREADS unset: torch's
    # default threads), measured after the fit-time setting above.
    torch.set_num_threads(default_threads)
    start = time.perf_counter()
    model.sample(n, seed=job.seed + 2)
    sample_default_s = time.perf_counter() - start
    synthetic.to_parquet(job.synthetic_path, index=False)
    return FitSample(
        fit_s=fit_s,
        loop_s=clock.end - clock.start,
        epochs=report.epochs,
        sample_rows=n,
        sample_s=sample_s,
        sample_default_threads=default_threads,
        sample_default_s=sample_default_s,
        # Linux reports ru_maxrss in KiB: the peak resident set of this process.
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        epsilon_spent=report.epsilon,
        noise_multiplier=report.noise_multiplier,
        steps=report.steps,
    )


def run_job_file(path: Path) -> None:
    """Worker entry point: read the job, run it, write ``<job>.result.json``."""
    job = Job(**json.loads(path.read_text()))
    result = fit_and_sample(job)
    path.with_suffix(".result.json").write_text(json.dumps(asdict(result)))
