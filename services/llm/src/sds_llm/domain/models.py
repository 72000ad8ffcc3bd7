"""Value types of the llm domain: what a provider is asked, and what a feature answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Task = Literal["evaluation", "data_dictionary", "privacy_advice", "pii_hints", "chat"]
Sensitivity = Literal["public", "internal", "personal", "sensitive"]


@dataclass(frozen=True)
class ChatTurn:
    """One earlier message of a chat (the user's own words or an earlier answer)."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Prompt:
    """What a provider receives: built ONLY by :mod:`sds_llm.domain.prompts` from redacted facts.

    Attributes:
        task: which feature asks.
        system: instructions.
        user: the request, with the facts as JSON.
        facts: the redacted facts themselves (the offline provider renders from these).
        history: earlier chat turns (chat only).
    """

    task: Task
    system: str
    user: str
    facts: dict[str, JsonValue]
    history: tuple[ChatTurn, ...] = field(default=())

    def all_text(self) -> str:
        """Every character a provider could see (for size estimates and privacy tests)."""
        turns = "\n".join(turn.content for turn in self.history)
        return f"{self.system}\n{self.user}\n{turns}"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Severity = Literal["good", "fair", "poor", "info"]


class Finding(_Frozen):
    """One observation with the number behind it."""

    topic: Literal["validity", "fidelity", "utility", "privacy", "guarantee"]
    severity: Severity
    text: str


class Answer(_Frozen):
    """Provenance of a generated text: which provider wrote it and whether it was degraded."""

    provider: str
    model: str
    degraded: bool = False
    degraded_reason: str | None = None
    cached: bool = False
    input_tokens: int = 0
    output_tokens: int = 0


class Explanation(_Frozen):
    """A plain-language explanation of an evaluation report."""

    summary: str
    findings: list[Finding]
    recommendations: list[str]
    answer: Answer


class DictionaryEntry(_Frozen):
    """One column of a data dictionary (schema facts and a guessed meaning, never values)."""

    name: str
    kind: str
    meaning: str
    missing_fraction: float
    sensitivity: Sensitivity
    pii: list[str] = Field(default_factory=list)


class DataDictionary(_Frozen):
    """A data dictionary of one dataset."""

    entries: list[DictionaryEntry]
    text: str
    answer: Answer


class PrivacyAdvice(_Frozen):
    """Suggested privacy settings for a target use, with the reasons."""

    use: str
    epsilon: float
    delta: float
    method: str
    epochs: int | None
    declare_public_metadata: list[str]
    reasons: list[str]
    text: str
    answer: Answer


class PiiHint(_Frozen):
    """A column whose NAME suggests personal data (adds to the datasets detector's findings)."""

    column: str
    kind: str
    reason: str
    already_detected: bool


class PiiHints(_Frozen):
    """Name-based PII hints for one dataset."""

    hints: list[PiiHint]
    text: str
    answer: Answer


JsonFacts = dict[str, JsonValue]
