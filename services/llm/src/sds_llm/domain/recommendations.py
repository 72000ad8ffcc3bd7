"""Concrete next steps for one evaluation, naming only settings of the method that was used.

``aim`` and ``mst`` measure noisy marginals and fit a graphical model: they have no epochs, batch
size or learning rate; what moves them is declared public metadata (no ε spent finding the
domain), a larger ε, and for ``aim`` the declared target its workload weighs (``params.focus``,
``params.focus_weight``). ``dp-ctgan`` trains a network with DP-SGD: epochs and batch size exist.
An unknown method gets only what holds for every method (metadata, ε, more rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sds_llm.domain.judgement import FidelityVerdict, UtilityVerdict, fidelity_verdict, num
from sds_llm.domain.judgement import utility_verdict as judge_utility
from sds_llm.domain.methods import MethodFacts, method_facts

MIA_RISK: Final = 0.6
EPS_MODERATE: Final = 10.0
SMALL_TABLE: Final = 2_000
WEAK_COLUMN: Final = 0.7
PAIR_GAP: Final = 0.08
#: Validity failures a generator's domain explains (declared metadata fixes them) ...
DOMAIN_CHECKS: Final = frozenset(
    {"empty", "out_of_range", "missing_excess", "unknown_categories", "categories_lost"}
)
#: ... and those of its output writing (no setting fixes them).
OUTPUT_CHECKS: Final = frozenset({"absent", "dtype", "representation", "not_unique", "id_shape"})


def _columns(facts: Mapping[str, Any], checks: frozenset[str]) -> list[str]:
    names: list[str] = []
    for flag in facts.get("validity_flags", []):
        if not isinstance(flag, Mapping) or flag.get("check") not in checks:
            continue
        name = str(flag.get("column", ""))
        if name not in names:
            names.append(name)
    return names


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")


def _validity(facts: Mapping[str, Any], method: MethodFacts | None) -> list[str]:
    recs: list[str] = []
    domain = _columns(facts, DOMAIN_CHECKS)
    if domain and (method is None or method.differentially_private):
        recs.append(
            f"Declare public metadata for {_listed(domain)} in the schema review (bounds of "
            "numeric columns, category lists): the generator then draws their values from the "
            "declared domain instead of finding it under DP, where rare categories and extreme "
            "values are lost or come back missing; declared metadata costs no ε."
        )
    output = _columns(facts, OUTPUT_CHECKS)
    if output:
        recs.append(
            f"{_listed(output)} are not written as the real columns: a defect of the "
            "generator's output, not of its settings; retraining will not fix it, so report it."
        )
    return recs


def _quality_poor(fidelity: FidelityVerdict, utility: UtilityVerdict) -> bool:
    return fidelity.state in ("below_baseline", "low", "moderate") or utility.state in (
        "chance",
        "baseline",
        "poor",
    )


def _metadata(facts: Mapping[str, Any], already: bool) -> list[str]:
    spent = num(facts.get("guarantee", {}), "preprocessing_epsilon")
    if already or spent == 0.0:
        # Everything was declared (no ε went to preprocessing), or the advice was given above.
        return []
    weak = [
        str(c["name"])
        for c in facts.get("worst_columns", [])
        if c.get("kind") in ("categorical", "boolean") and c.get("score", 1.0) < WEAK_COLUMN
    ]
    named = f" (above all {_listed(weak)})" if weak else ""
    return [
        "Declare public metadata in the schema review: the column kinds, bounds and category "
        f"lists an owner may publish{named}. Nothing declared means part of ε goes to finding "
        "the domain and rare categories are dropped; declared metadata costs no ε."
    ]


def _method(
    facts: Mapping[str, Any],
    method: MethodFacts,
    fidelity: FidelityVerdict,
    utility: UtilityVerdict,
) -> list[str]:
    scores: Mapping[str, Any] = facts.get("scores", {})
    target = facts.get("utility", {}).get("target") or "the target"
    recs: list[str] = []
    poor_utility = utility.state in ("chance", "baseline", "poor", "fair")
    if method.focus and poor_utility:
        recs.append(
            f"aim weighs the marginals that hold the declared target ({target}) 4 times the "
            "others by default: raise params.focus_weight to favour it further, at no extra ε "
            "but at some cost to the other columns."
        )
    if method.family == "marginal" and not method.adaptive and _quality_poor(fidelity, utility):
        recs.append(
            f"Try aim instead of {method.name}: it chooses which marginals to measure under DP "
            "and weighs the declared target's, where mst keeps a fixed tree of column pairs."
        )
    shapes, pairs = num(scores, "column_shapes"), num(scores, "column_pairs")
    if method.epochs and shapes is not None and pairs is not None and shapes - pairs > PAIR_GAP:
        recs.append(
            "Train for more epochs (or with larger batches) so the generator learns the "
            f"relationships between columns: pairs ({pairs:.2f}) trail shapes ({shapes:.2f})."
        )
    if method.epochs and poor_utility:
        recs.append(
            f"For ML use, check that {target} and its strongest predictors are among the "
            "well-kept columns, or generate conditionally on it."
        )
    return recs


def _privacy(facts: Mapping[str, Any], method: MethodFacts | None) -> tuple[bool, bool, list[str]]:
    """(trained with DP, a leak was found, what the privacy checks call for first)."""
    scores: Mapping[str, Any] = facts.get("scores", {})
    guarantee: Mapping[str, Any] = facts.get("guarantee", {})
    epsilon = num(guarantee, "epsilon")
    dp = bool(guarantee.get("differentially_private")) and epsilon is not None
    risky = (num(scores, "mia_auc") or 0.5) > MIA_RISK or (num(scores, "exact_copies") or 0) > 0
    if not dp:
        other = " (dp-ctgan, aim or mst)" if method is not None and method.family == "deep" else ""
        return (
            False,
            risky,
            [
                f"Retrain with differential privacy{other} (for example ε = 3, δ below 1/n) before "
                "sharing: without it nothing bounds what the table reveals."
            ],
        )
    if risky:
        return (
            True,
            True,
            [
                f"Do not release yet: lower ε (now {epsilon:g}) or add data before retraining, "
                "since the empirical attacks found a leak."
            ],
        )
    return True, False, []


def recommendations(facts: Mapping[str, Any]) -> list[str]:
    """Next steps for the facts of one evaluation, most important first."""
    guarantee: Mapping[str, Any] = facts.get("guarantee", {})
    method = method_facts(facts.get("method"), guarantee.get("mechanism"))
    fidelity = fidelity_verdict(facts.get("scores", {}))
    utility = judge_utility(facts.get("scores", {}), facts.get("utility", {}))
    dp, risky, recs = _privacy(facts, method)
    recs += _validity(facts, method)
    epsilon = num(guarantee, "epsilon")
    poor = _quality_poor(fidelity, utility)
    if dp and poor:
        recs += _metadata(facts, already=bool(_columns(facts, DOMAIN_CHECKS)))
        if epsilon is not None and epsilon < EPS_MODERATE and not risky:
            recs.append(
                f"Raise ε from {epsilon:g} to about {min(epsilon * 2, EPS_MODERATE):g} if the "
                "dataset's privacy budget allows: less noise improves every score."
            )
    if method is not None:
        recs += _method(facts, method, fidelity, utility)
    if utility.state == "no_target":
        focus = method is not None and method.focus
        recs.append(
            "Declare the target column (at upload, or when requesting an evaluation) to measure "
            "ML utility: no column is guessed"
            + (", and aim's workload then weighs the marginals that hold it." if focus else ".")
        )
    train_rows = facts.get("rows", {}).get("real_train")
    if dp and isinstance(train_rows, int) and train_rows < SMALL_TABLE:
        recs.append(
            f"The table has only {train_rows} training rows; DP noise weighs heavily on small "
            "tables, so more rows help more than tuning."
        )
    if not recs and not poor:
        recs.append(
            "No change needed: the synthetic data is valid, well above the independent-columns "
            "baseline, and the checks found no leak."
        )
    elif not recs:
        recs.append(
            "Every setting that helps is already used: only more rows or a larger privacy "
            "budget would bring the scores closer to real data."
        )
    return recs
