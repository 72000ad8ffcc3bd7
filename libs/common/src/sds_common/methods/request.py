"""Whether a training or sampling request can run: one check for the gateway and the trainer.

The gateway runs it before anything is queued and answers 422 with every reason; the trainer
runs it again when the job starts (a second line: a request that reached the bus by another
way, or a dataset whose schema changed in between). Everything it reads is public: the method
registry, the request itself, the profiled schema (column names and kinds), the training row
count, the policy limits and the budget left.

``params`` holds the method's hyper-parameters plus request-level keys (:class:`RequestSettings`:
the owner's ``public_metadata`` declarations, whether the target's classes are public, the label
of the rare-category bucket and the fit ``seed``), which the trainer strips before the model sees
them. A new dataset-level setting is one field there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sds_common.events.privacy import PrivacySpec
from sds_common.methods.params import MethodParams
from sds_common.methods.registry import (
    CONDITION_KINDS,
    Method,
    UnknownMethodError,
    get_method,
)
from sds_common.privacy.policy import PolicyLimits, budget_problem, policy_problems

#: Column kinds a synthesizer never models (it drops them before any statistic).
NOT_MODELLED: Final = frozenset({"identifier", "text"})
_BOUNDED_KINDS: Final = frozenset({"numeric", "datetime"})
_CATEGORY_KINDS: Final = frozenset({"categorical", "boolean"})
_MAX_SHOWN: Final = 60
_MAX_DECLARED: Final = 1000


@dataclass(frozen=True)
class Refusal:
    """One reason a request is refused.

    Attributes:
        code: stable, for clients to branch on (``unknown_method``, ``privacy_required``,
            ``privacy_not_applicable``, ``invalid_privacy``, ``budget_exhausted``,
            ``invalid_params``, ``invalid_public_metadata``, ``invalid_conditions``).
        loc: where in the request body (``("params", "epochs")``); a column name is one item,
            dots included.
        message: what is wrong, in words the user can act on.
    """

    code: str
    loc: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class DatasetSchema:
    """What the check knows of the dataset: public schema facts, never values.

    Attributes:
        columns: column name → kind, as profiled.
        train_rows: rows a model trains on.
    """

    columns: Mapping[str, str]
    train_rows: int


class ColumnDeclaration(BaseModel):
    """What the owner declares public about one column: its range or its category set."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    bounds: tuple[float, float] | None = Field(
        default=None, description="[low, high] of a numeric or datetime (epoch seconds) column"
    )
    categories: (
        Annotated[tuple[Annotated[str, Field(max_length=1000)], ...], Field(min_length=1)] | None
    ) = Field(default=None, max_length=10_000, description="every category, as strings")

    @field_validator("bounds", "categories", mode="before")
    @classmethod
    def _array_as_tuple(cls, value: object) -> object:
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.bounds is None and self.categories is None:
            raise ValueError("declare 'bounds' or 'categories'")
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError("bounds must be [low, high] with low < high")
        if self.categories is not None and len(set(self.categories)) != len(self.categories):
            raise ValueError("categories repeat a value")
        return self


class RequestSettings(BaseModel):
    """The keys of ``params`` that configure the request, not the model (stripped before it)."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True, allow_inf_nan=False)

    public_metadata: dict[Annotated[str, Field(max_length=255)], ColumnDeclaration] = Field(
        default_factory=dict,
        max_length=_MAX_DECLARED,
        description="column → declared bounds or categories (public: costs no ε)",
    )
    public_target_classes: bool = Field(
        default=True,
        description="whether the declared target's classes are public (false: found under DP)",
    )
    other_label: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="how categories too rare to release are written (default '(other)')",
    )
    seed: int = Field(default=0, ge=0, le=2**63 - 1, description="seeds the training")


#: Keys of ``params`` that belong to the request (see :class:`RequestSettings`).
REQUEST_KEYS: Final[frozenset[str]] = frozenset(RequestSettings.model_fields)


def model_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` without the request-level keys: what the method's model receives."""
    return {k: v for k, v in params.items() if k not in REQUEST_KEYS}


def training_problems(
    *,
    method: str,
    params: Mapping[str, Any],
    privacy: PrivacySpec | None,
    dataset: DatasetSchema | None,
    limits: PolicyLimits,
    remaining_epsilon: float = math.inf,
) -> list[Refusal]:
    """Every reason a training request cannot run (empty when it can).

    Args:
        method: the method's name.
        params: the request's ``params`` (hyper-parameters and request-level keys).
        privacy: the DP settings asked for (None: none).
        dataset: the profiled schema (None: not known; schema checks are skipped).
        limits: the operator's policy limits.
        remaining_epsilon: ε left in the dataset's budget ledger (``inf``: not checked).

    Returns:
        The refusals, method first, then privacy, parameters and declarations.
    """
    try:
        chosen = get_method(method)
    except UnknownMethodError as exc:
        return [Refusal("unknown_method", ("method",), str(exc))]
    out = _privacy_refusals(chosen, privacy)
    private = chosen.differentially_private
    n_rows = dataset.train_rows if dataset is not None else None
    out += params_problems(chosen, model_params(params), private=private, n_rows=n_rows)[1]
    out += _settings_refusals(params, dataset)
    if private and privacy is not None and dataset is not None:
        policy = policy_problems(
            epsilon=privacy.epsilon, delta=privacy.delta, n_rows=dataset.train_rows, limits=limits
        )
        out += [Refusal("invalid_privacy", ("privacy",), reason) for reason in policy]
        budget = None if policy else budget_problem(privacy.epsilon, remaining_epsilon)
        if budget is not None:
            out.append(Refusal("budget_exhausted", ("privacy", "epsilon"), budget))
    return out


def sampling_problems(
    *, method: str, conditions: Mapping[str, Any], columns: Mapping[str, str]
) -> list[Refusal]:
    """Every reason a sample's ``conditions`` cannot be honoured (empty when they can).

    A condition is an equality on one released category of a categorical or boolean column;
    whether the value is a released category is known only to the model (the trainer checks).

    Args:
        method: the generator's method.
        conditions: column → value.
        columns: the dataset's column name → kind.
    """
    out: list[Refusal] = []
    chosen = get_method(method)
    if chosen.max_conditions is not None and len(conditions) > chosen.max_conditions:
        out.append(
            Refusal(
                "invalid_conditions",
                ("conditions",),
                f"method {chosen.name!r} conditions on at most {chosen.max_conditions} "
                f"column(s); {len(conditions)} were given",
            )
        )
    for column, value in conditions.items():
        loc = ("conditions", _shown(column))
        kind = columns.get(column)
        if kind is None:
            out.append(Refusal("invalid_conditions", loc, _unknown_column(column, columns)))
        elif kind not in CONDITION_KINDS:
            out.append(
                Refusal(
                    "invalid_conditions",
                    loc,
                    f"conditions apply to categorical or boolean columns; {_shown(column)!r} "
                    f"is {kind}",
                )
            )
        if value is None or isinstance(value, dict | list):
            out.append(
                Refusal(
                    "invalid_conditions",
                    loc,
                    "a condition's value is one category: a string, number or boolean",
                )
            )
        elif isinstance(value, str) and len(value) > 1000:
            out.append(Refusal("invalid_conditions", loc, "the value is over 1000 characters"))
    return out


def refusal_code(refusals: Iterable[Refusal]) -> str:
    """The one code of a set of refusals: theirs when they share it, else ``invalid_request``."""
    codes = {r.code for r in refusals}
    return codes.pop() if len(codes) == 1 else "invalid_request"


def _privacy_refusals(method: Method, privacy: PrivacySpec | None) -> list[Refusal]:
    if not method.differentially_private:
        if privacy is None:
            return []
        return [
            Refusal(
                "privacy_not_applicable",
                ("privacy",),
                f"method {method.name!r} is not differentially private: privacy settings would "
                "be ignored; use a DP method such as 'dp-ctgan'",
            )
        ]
    if privacy is None:
        return [
            Refusal(
                "privacy_required",
                ("privacy",),
                f"method {method.name!r} is differentially private and needs privacy settings "
                "(at least privacy.epsilon)",
            )
        ]
    if method.dp_sgd:
        return []
    # Defaults are what every request carries once serialised; only a chosen value is refused.
    ignored = [("accountant", privacy.accountant != "rdp")]
    ignored.append(("max_grad_norm", privacy.max_grad_norm is not None))
    return [
        Refusal(
            "privacy_not_applicable",
            ("privacy", key),
            f"method {method.name!r} measures noisy marginals and accounts in zCDP; {key!r} "
            "applies to DP-SGD methods only: drop it",
        )
        for key, chosen in ignored
        if chosen
    ]


def params_problems(
    method: Method, params: Mapping[str, Any], *, private: bool, n_rows: int | None
) -> tuple[MethodParams | None, list[Refusal]]:
    """Parse a method's hyper-parameters, listing every problem at once.

    Args:
        method: the method.
        params: its hyper-parameters (request-level keys already removed).
        private: whether the training is differentially private.
        n_rows: the training rows (None: not known; row-count checks are skipped).

    Returns:
        The parsed model (None when a value is unusable) and the refusals.
    """
    try:
        parsed = method.params.model_validate(dict(params))
    except ValidationError as exc:
        known = ", ".join(sorted(set(method.params.model_fields) | REQUEST_KEYS))
        out = []
        for error in exc.errors(include_url=False):
            loc = ("params", *(_shown(str(p)) for p in error["loc"]))
            where = ".".join(loc)
            if error["type"] == "extra_forbidden":
                message = (
                    f"unknown parameter {_shown(str(error['loc'][0]))!r} for method "
                    f"{method.name!r}; its parameters are: {known}"
                )
            else:
                message = f"{where}: {_message(error)}"
            out.append(Refusal("invalid_params", loc, message))
        # The checks across parameters still run on the usable ones (defaults for the rest),
        # so one answer lists every problem.
        bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
        try:
            rest = method.params.model_validate({k: v for k, v in params.items() if k not in bad})
        except ValidationError:
            return None, out
        return None, out + _context(rest, private=private, n_rows=n_rows)
    return parsed, _context(parsed, private=private, n_rows=n_rows)


def _context(parsed: MethodParams, *, private: bool, n_rows: int | None) -> list[Refusal]:
    return [
        Refusal("invalid_params", ("params",), reason)
        for reason in parsed.problems(private=private, n_rows=n_rows)
    ]


def _settings_refusals(params: Mapping[str, Any], dataset: DatasetSchema | None) -> list[Refusal]:
    out: list[Refusal] = []
    given = {k: v for k, v in params.items() if k in REQUEST_KEYS}
    declared = given.pop("public_metadata", {})
    try:
        RequestSettings.model_validate(given)
    except ValidationError as exc:
        out += _from_errors(exc, prefix=("params",), code="invalid_params")
    top: tuple[str, ...] = ("params", "public_metadata")
    if not isinstance(declared, Mapping):
        return [
            *out,
            Refusal("invalid_public_metadata", top, f"{'.'.join(top)}: must be an object"),
        ]
    if len(declared) > _MAX_DECLARED:
        message = f"{'.'.join(top)}: at most {_MAX_DECLARED} columns may be declared"
        return [*out, Refusal("invalid_public_metadata", top, message)]
    for column, declaration in declared.items():
        loc = (*top, _shown(str(column)))
        try:
            parsed = ColumnDeclaration.model_validate(declaration)
        except ValidationError as exc:
            out += _from_errors(exc, prefix=loc, code="invalid_public_metadata")
            parsed = None
        keys = set(declaration) if isinstance(declaration, Mapping) else set()
        problem = _declaration_problem(str(column), keys if parsed is None else parsed, dataset)
        if problem is not None:
            where = ".".join(loc)
            out.append(Refusal("invalid_public_metadata", loc, f"{where}: {problem}"))
    return out


def _declaration_problem(
    column: str, declared: ColumnDeclaration | set[str], dataset: DatasetSchema | None
) -> str | None:
    """What the schema says against a declaration (parsed, or the keys of an unusable one)."""
    if dataset is None:
        return None
    if isinstance(declared, ColumnDeclaration):
        declared = {k for k in ("bounds", "categories") if getattr(declared, k) is not None}
    kind = dataset.columns.get(column)
    if kind is None:
        return _unknown_column(column, dataset.columns)
    if kind in NOT_MODELLED:
        return f"column {_shown(column)!r} is {kind}: it is not modelled, declare nothing"
    if "bounds" in declared and kind not in _BOUNDED_KINDS:
        return f"bounds apply to numeric and datetime columns; {_shown(column)!r} is {kind}"
    if "categories" in declared and kind not in _CATEGORY_KINDS:
        return f"categories apply to categorical and boolean columns; {_shown(column)!r} is {kind}"
    return None


def _from_errors(exc: ValidationError, *, prefix: tuple[str, ...], code: str) -> list[Refusal]:
    out = []
    for error in exc.errors(include_url=False):
        loc = (*prefix, *(_shown(str(p)) for p in error["loc"]))
        out.append(Refusal(code, loc, f"{'.'.join(loc)}: {_message(error)}"))
    return out


def _unknown_column(column: str, columns: Mapping[str, str]) -> str:
    names = ", ".join(repr(_shown(c)) for c in list(columns)[:20])
    more = ", ..." if len(columns) > 20 else ""
    return f"unknown column {_shown(column)!r}; the dataset's columns are {names}{more}"


def _message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in ("extra_forbidden", "missing"):
        return message
    given = repr(error.get("input"))
    return f"{message} (got {given if len(given) <= _MAX_SHOWN else given[:_MAX_SHOWN] + '...'})"


def _shown(text: str) -> str:
    """A user-given name, bounded so that a hostile key cannot flood the answer."""
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
