"""What ``aim`` and ``mst`` share: the synthesizer protocol around a select-measure-estimate run.

``fit`` validates, plans the zCDP ledger (the whole (ε, δ) converted to one ``rho``; see
:mod:`.accounting`), runs the shared DP preprocessing (the codec, :mod:`..codec`) with
``preprocessing_epsilon_share`` of ``rho`` (and of δ for the thresholds), cuts its released
domains into model codes (:mod:`.discretise`), encodes the rows, and hands a
:class:`.session.Session` to the method's ``_run``, which spends the rest. ``sample`` draws rows
i.i.d. from the fitted model by forward sampling along its junction tree and maps codes back to
values through the codec (every input column, identifiers regenerated); ``conditions`` fix
categorical/boolean columns by evidence on the model (exact conditional sampling, not
rejection). ``save``/``load`` use :mod:`.state` (no pickle).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_common.methods import MarginalParams, Method
from sds_trainer.domain.synthesizers.base import (
    CheckpointFn,
    ColumnSpec,
    FitReport,
    PreprocessingStep,
    PrivacyBudget,
    ProgressFn,
    StopFn,
    validate_columns,
)
from sds_trainer.domain.synthesizers.codec import TableCodec, noise_source
from sds_trainer.domain.synthesizers.codec import plan as codec_plan
from sds_trainer.domain.synthesizers.codec.mechanisms import NoiseLevels, noise_levels
from sds_trainer.domain.synthesizers.errors import (
    InvalidTrainingConfig,
    SamplingError,
    TrainingCancelled,
)
from sds_trainer.domain.synthesizers.marginal.accounting import (
    ZCDPLedger,
    epsilon_to_zcdp,
    gaussian_sigma,
)
from sds_trainer.domain.synthesizers.marginal.columns import (
    CategoricalColumn,
    Column,
    column_from_state,
)
from sds_trainer.domain.synthesizers.marginal.discretise import attributes
from sds_trainer.domain.synthesizers.marginal.graphical_model import FloatArray, GraphicalModel
from sds_trainer.domain.synthesizers.marginal.session import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    Callbacks,
    Resumed,
    Session,
    read_resumed,
)
from sds_trainer.domain.synthesizers.marginal.state import pack, unpack
from sds_trainer.domain.synthesizers.params import parse_params

MODEL_FORMAT = "sds-marginal-model"
#: 2: the codec's domains (every column, identifiers regenerated); 1 is no longer readable.
MODEL_VERSION = 2
#: Log-potential added to the cells a condition rules out (finite, so no ``inf - inf``).
_RULED_OUT = -1e9


class MarginalSynthesizer:
    """Base of the marginal-based DP synthesizers (see the module docstring)."""

    #: The method's entry in ``sds_common.methods``: its params model and facts (DP, runs in
    #: rounds rather than epochs, accounts in zCDP).
    method: ClassVar[Method]
    name: ClassVar[str]
    differentially_private: ClassVar[bool] = True

    def __init__(self) -> None:
        self._codec: TableCodec | None = None
        self._columns: list[Column] | None = None
        self._model: GraphicalModel | None = None
        self._params: MarginalParams | None = None
        #: The last fit's zCDP ledger: every mechanism run and its cost, for audits.
        self.ledger: ZCDPLedger | None = None

    # ---- fitting -------------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame,
        *,
        columns: Sequence[ColumnSpec],
        privacy: PrivacyBudget | None,
        params: Mapping[str, Any],
        progress: ProgressFn | None = None,
        should_stop: StopFn | None = None,
        checkpoint: CheckpointFn | None = None,
        resume_from: bytes | None = None,
        seed: int = 0,
    ) -> FitReport:
        """Train on ``data`` under ``privacy``.

        Args:
            data: The sensitive table.
            columns: Column specs; identifier/text columns are dropped.
            privacy: The (ε, δ) target (required: these methods are DP only).
                ``preprocessing_epsilon_share`` goes to the preprocessing; ``accountant`` and
                ``max_grad_norm`` concern DP-SGD and are not used (the accountant is zCDP).
            params: Hyper-parameters, see the method's params class.
            progress: Called after each round.
            should_stop: Polled between releases and passes over the data, and after each
                round; True raises ``TrainingCancelled``.
            checkpoint: Called with ``(round, state)`` every ``checkpoint_every`` rounds.
            resume_from: A checkpoint's state: the run continues after its round with the same
                preprocessing, measurements and ledger (nothing is spent twice).
            seed: Seeds the data-independent choices (e.g. a workload subset); the DP noise is
                drawn from OS entropy (see :mod:`.session`).

        Returns:
            What was spent and done; ``epsilon`` is the ledger's spend converted at δ - δ₀.

        Raises:
            InvalidTrainingConfig: bad specs, budget or params, or an unusable checkpoint.
            TrainingCancelled: ``should_stop`` returned True.
        """
        start = time.perf_counter()
        kept = validate_columns(data, columns)
        if privacy is None:
            raise InvalidTrainingConfig(
                [f"{self.name} is a differentially private method: privacy settings are required"]
            )
        if privacy.problems():
            raise InvalidTrainingConfig(privacy.problems())
        cfg = parse_params(self.method, params, private=True, n_rows=len(data))
        assert isinstance(cfg, MarginalParams)
        if resume_from is None:
            ledger, codec, cols = self._preprocess(data, kept, privacy, cfg, should_stop)
            resumed: Resumed | None = None
        else:
            ledger, codec, cols, resumed = self._restore(resume_from, kept)
        if should_stop is not None and should_stop():
            raise TrainingCancelled(
                epoch=resumed.round if resumed else 0, epsilon_spent=ledger.epsilon()
            )
        codes = np.column_stack([c.encode(data[c.name]) for c in cols]).astype(np.int64)
        header = {
            "method": self.name,
            "params": cfg.to_state(),
            "codec": codec.to_state(),
            "columns": [c.to_state() for c in cols],
            "names": [c.name for c in cols],
        }
        session = Session(
            codes=codes,
            sizes=[c.size for c in cols],
            ledger=ledger,
            callbacks=Callbacks(progress, should_stop, checkpoint, cfg.checkpoint_every),
            header=header,
            resumed=resumed,
        )
        self._run(session, cfg, seed=seed)
        self._codec, self._columns, self._model, self._params = codec, cols, session.model, cfg
        self.ledger = ledger
        return self._report(session, codec, seconds=time.perf_counter() - start)

    def _run(self, session: Session, params: MarginalParams, *, seed: int) -> None:
        """Spend the ledger's remaining budget on measurements and fit ``session.model``."""
        raise NotImplementedError

    def _preprocess(
        self,
        data: pd.DataFrame,
        specs: list[ColumnSpec],
        privacy: PrivacyBudget,
        params: MarginalParams,
        should_stop: StopFn | None = None,
    ) -> tuple[ZCDPLedger, TableCodec, list[Column]]:
        # The marginals' own measurements give the frequencies: the codec releases domains only.
        plan = codec_plan(specs, frequencies=False)
        share = privacy.preprocessing_epsilon_share
        threshold_delta = share * privacy.delta if plan.thresholded else 0.0
        # A hair below the exact budget, so that float rounding in the ledger's sums can never
        # carry the converted ε above the target.
        rho = epsilon_to_zcdp(privacy.epsilon, privacy.delta - threshold_delta) * (1 - 1e-9)
        ledger = ZCDPLedger(budget=rho, delta=privacy.delta, threshold_delta=threshold_delta)
        # Unused when nothing needs a histogram (all metadata declared).
        noise = (
            noise_levels(rho=share * rho, histograms=plan.histograms, thresholded=plan.thresholded)
            if plan.histograms
            else NoiseLevels(1.0, 1.0)
        )
        each_delta = threshold_delta / plan.thresholded if plan.thresholded else 0.0

        def charge(column: str, statistic: str, thresholded: bool) -> None:
            # Called before each column's histogram is released: a safe point to stop at.
            if should_stop is not None and should_stop():
                raise TrainingCancelled(epoch=0, epsilon_spent=ledger.epsilon())
            mechanism = "gaussian-stability-histogram" if thresholded else "gaussian-histogram"
            ledger.charge_gaussian(
                f"preprocessing {mechanism}",
                sigma=noise.sigma(thresholded=thresholded),
                delta=each_delta if thresholded else 0.0,
                column=column,
                statistic=statistic,
            )

        codec = TableCodec.fit(
            data,
            specs,
            noise=noise,
            threshold_delta=each_delta,
            rng=noise_source(),
            charge=charge,
            frequencies=False,
        )
        cols = attributes(codec, numeric_bins=params.numeric_bins, min_mass=3.0 * noise.shape)
        return ledger, codec, cols

    def _restore(
        self, data: bytes, specs: list[ColumnSpec]
    ) -> tuple[ZCDPLedger, TableCodec, list[Column], Resumed]:
        try:
            header, arrays = unpack(data)
        except ValueError as exc:
            raise InvalidTrainingConfig([f"unusable checkpoint: {exc}"]) from exc
        if header.get("format") != CHECKPOINT_FORMAT or header.get("version") != (
            CHECKPOINT_VERSION
        ):
            raise InvalidTrainingConfig(["the checkpoint is not a marginal-model checkpoint"])
        if header.get("method") != self.name:
            raise InvalidTrainingConfig(
                [f"the checkpoint is from {header.get('method')!r}, not {self.name!r}"]
            )
        codec = TableCodec.from_state(header["codec"])
        if [d.name for d in codec.domains] != [s.name for s in specs]:
            raise InvalidTrainingConfig(["the checkpoint's columns differ from the request's"])
        cols = [column_from_state(c) for c in header["columns"]]
        ledger = ZCDPLedger.from_state(header["ledger"])
        return ledger, codec, cols, read_resumed(header, arrays)

    def _report(self, session: Session, codec: TableCodec, *, seconds: float) -> FitReport:
        ledger = session.ledger
        pre = [c for c in ledger.charges if c.column]
        rho_pre = sum(c.rho for c in pre)
        eps_pre = ledger.epsilon(rho_pre) if rho_pre > 0 else 0.0
        steps = [PreprocessingStep(p.column, p.statistic, p.coverage) for p in codec.public]
        for c in pre:
            share = eps_pre * c.rho / rho_pre
            coverage = (
                f"DP mechanism {c.label.removeprefix('preprocessing ')} with "
                f"sigma={gaussian_sigma(c.rho):.4g} (zCDP rho={c.rho:.3g}, ε share {share:.3g})"
            )
            if c.delta:
                coverage += f", δ={c.delta:.3g}"
            steps.append(PreprocessingStep(c.column, c.statistic, coverage, share, c.delta))
        epsilon = ledger.epsilon()
        return FitReport(
            epsilon=epsilon,
            delta=ledger.delta,
            preprocessing_epsilon=eps_pre,
            training_epsilon=epsilon - eps_pre,
            accountant=self.method.accountant,
            # DP-SGD's field: the marginals' noise scales are in ``losses`` and the ledger.
            noise_multiplier=None,
            sample_rate=1.0,
            steps=len(session.measurements),
            epochs=session.round,
            max_grad_norm=None,
            batch_size=session.rows,
            device="cpu",
            seconds=seconds,
            losses=session.losses,
            preprocessing_steps=steps,
            preprocessing_noise_multiplier=gaussian_sigma(pre[0].rho) if pre else None,
            threshold_delta=ledger.threshold_delta,
            columns=codec.summary(),
        )

    # ---- sampling ------------------------------------------------------------------------
    def _require_fitted(self) -> tuple[list[Column], GraphicalModel, MarginalParams]:
        if self._columns is None or self._model is None or self._params is None:
            raise SamplingError("the model is not fitted")
        return self._columns, self._model, self._params

    def _require_codec(self) -> TableCodec:
        if self._codec is None:
            raise SamplingError("the model is not fitted")
        return self._codec

    def _evidence(
        self, conditions: Mapping[str, Any], columns: list[Column], model: GraphicalModel
    ) -> list[FloatArray]:
        potentials = model.potentials()
        base = model.clique_marginals(model.calibrate(potentials))
        names = [c.name for c in columns]
        for column, value in conditions.items():
            if column not in names:
                raise SamplingError(f"{column!r} is not a modelled column")
            j = names.index(column)
            col = columns[j]
            if not isinstance(col, CategoricalColumn):
                raise SamplingError(
                    f"conditions apply to categorical or boolean columns; {column!r} is {col.kind}"
                )
            code = col.code_of(value)
            if code is None:
                raise SamplingError(f"{value!r} is not a released category of {column!r}")
            marginal = model.marginal((j,), base)
            assert marginal is not None  # every attribute lies in a clique of the tree
            if marginal[code] <= 0:
                raise SamplingError(f"the model gives {column!r} = {value!r} no probability")
            home = model.home((j,))
            assert home is not None
            clique = model.tree.cliques[home]
            mask = np.full(col.size, _RULED_OUT)
            mask[code] = 0.0
            shape = tuple(col.size if a == j else 1 for a in clique)
            potentials[home] = potentials[home] + mask.reshape(shape)
        return potentials

    def sample(
        self, n: int, *, seed: int | None = None, conditions: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Draw ``n`` i.i.d. rows from the model (same seed → same rows).

        Args:
            n: Rows wanted.
            seed: Seeds the sampling (None: fresh entropy).
            conditions: ``{column: value}`` equalities on categorical/boolean columns; the
                rows come from the model's conditional distribution.

        Raises:
            SamplingError: unfitted model, bad ``n`` or an unsupported condition.
        """
        columns, model, _ = self._require_fitted()
        if n < 0:
            raise SamplingError("n must be ≥ 0")
        rng = np.random.default_rng(seed)
        potentials = self._evidence(conditions, columns, model) if conditions else None
        beliefs = model.calibrate(potentials)
        codes = model.sample(n, rng=rng, beliefs=beliefs)
        decoded = {c.name: c.decode(codes[:, j], rng) for j, c in enumerate(columns)}
        return self._require_codec().finish(decoded, n, rng)

    # ---- persistence ---------------------------------------------------------------------
    def save(self) -> bytes:
        """Serialise the columns' decoding and the model's factors (JSON + float arrays)."""
        columns, model, params = self._require_fitted()
        factors = list(model.factors.items())
        header = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "method": self.name,
            "params": params.to_state(),
            "total": model.total,
            "codec": self._require_codec().to_state(),
            "columns": [c.to_state() for c in columns],
            "factors": [list(c) for c, _ in factors],
        }
        return pack(header, {f"f{i}": v.ravel() for i, (_, v) in enumerate(factors)})

    @classmethod
    def load(cls, data: bytes) -> Self:
        """Rebuild from :meth:`save` (``allow_pickle=False``: nothing but numbers is read).

        Raises:
            SamplingError: the bytes are not a saved model of this method.
        """
        try:
            header, arrays = unpack(data)
        except ValueError as exc:
            raise SamplingError(str(exc)) from exc
        if header.get("format") != MODEL_FORMAT or header.get("method") != cls.name:
            raise SamplingError(f"not a saved {cls.name} model")
        if header.get("version") != MODEL_VERSION:
            raise SamplingError(
                f"this {cls.name} model was saved by an older version of the trainer "
                f"(format {header.get('version')}); train it again to sample from it"
            )
        out = cls()
        out._codec = TableCodec.from_state(header["codec"])
        params = cls.method.params.model_validate(header["params"])
        assert isinstance(params, MarginalParams)
        out._params = params
        out._columns = [column_from_state(c) for c in header["columns"]]
        factors = {
            tuple(int(a) for a in clique): arrays[f"f{i}"]
            for i, clique in enumerate(header["factors"])
        }
        out._model = GraphicalModel(
            [c.size for c in out._columns], total=float(header["total"]), factors=factors
        )
        return out
