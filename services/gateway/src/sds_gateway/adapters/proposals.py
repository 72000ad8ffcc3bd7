"""Reading a dataset's schema proposal, stored by the datasets service beside its profile."""

from __future__ import annotations

from pydantic import ValidationError

from sds_common.storage import ObjectNotFound, ObjectStore
from sds_common.tables.public_metadata import SchemaProposal, proposal_key
from sds_gateway.domain.errors import Conflict


async def load_proposal(
    storage: ObjectStore, *, dataset_id: str, profile_key: str
) -> SchemaProposal:
    """The proposal beside ``profile_key``.

    Raises:
        Conflict: none is stored (a dataset profiled before proposals existed, or one whose
            objects are gone) or it cannot be read.
    """
    try:
        raw = await storage.get_bytes(proposal_key(profile_key))
        return SchemaProposal.model_validate_json(raw)
    except (ObjectNotFound, ValidationError):
        raise Conflict(
            f"dataset {dataset_id} has no schema proposal (it was profiled before the schema "
            "review existed, or its files are gone): upload the table again to review its schema",
            code="no_schema_proposal",
        ) from None
