"""The per-project daily token budget."""

from __future__ import annotations

from datetime import datetime


class BudgetExceededError(Exception):
    """The project spent its daily LLM tokens; the message says how many and when it resets."""


def day_of(now: datetime) -> str:
    """The UTC day a budget counts against."""
    return now.date().isoformat()


def check(*, project_id: str, used: int, budget: int) -> None:
    """Refuse when ``used`` reached ``budget``.

    Raises:
        BudgetExceededError: the budget is spent.
    """
    if used >= budget:
        raise BudgetExceededError(
            f"project {project_id} has used {used} of its {budget} LLM tokens today; the budget "
            "resets at 00:00 UTC (SDS_LLM_TOKEN_BUDGET sets it)"
        )
