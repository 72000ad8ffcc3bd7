"""The privacy-policy dry run: a training's privacy request checked without reserving budget."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from sds_common.events.privacy import PrivacySpec
from sds_common.methods import DEFAULT_METHOD
from sds_gateway.schemas.common import EXAMPLE_DATASET, RequestBody, Schema


class PrivacyValidate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "dataset_id": EXAMPLE_DATASET,
                    "method": "dp-ctgan",
                    "privacy": {"epsilon": 3.0, "delta": 1e-6},
                }
            ]
        },
    )

    dataset_id: str = Field(min_length=1, max_length=36)
    method: str = Field(default=DEFAULT_METHOD, max_length=64)
    privacy: PrivacySpec = Field(description="the privacy settings a training would ask for")


class PrivacyVerdict(Schema):
    """Whether the trainer's policy would accept the request now, and why not."""

    ok: bool
    epsilon: float
    delta: float | None = Field(
        description="the δ asked for, or the default the trainer would use (null: not ready yet)"
    )
    reasons: list[str] = Field(description="every reason for refusal, in plain words")
    remaining_epsilon: float = Field(
        description="ε the dataset has left, from the budget ledger the trainer reported"
    )
    train_rows: int | None = Field(description="training rows (null until the dataset is ready)")
