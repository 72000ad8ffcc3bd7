"""Removing every stored object that came from some datasets, as far as the gateway knows them.

The gateway's read models record the keys of what each step stored: the upload and profile of a
dataset (all under ``datasets/{id}/``), each generator's model and privacy report, each synthetic
table, each evaluation's reports. A recorded key whose folder is named after its resource (the
trainer's ``generators/{id}/model.bin``) has its whole folder removed, which also takes the
files the read model never names (the training checkpoint beside the model).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sds_common.storage import ObjectStore
from sds_gateway.adapters.orm import evaluations, generators, synthetic_datasets

log = logging.getLogger(__name__)


def _key_or_folder(key: str, owner_id: str) -> str:
    folder, _, _ = key.rpartition("/")
    return f"{folder}/" if owner_id in folder.split("/") else key


async def object_prefixes(session: AsyncSession, dataset_ids: Sequence[str]) -> list[str]:
    """The key prefixes holding the objects of ``dataset_ids`` and of everything made from them."""
    if not dataset_ids:
        return []
    prefixes = {f"datasets/{dataset_id}/" for dataset_id in dataset_ids}
    models = await session.execute(
        select(generators.c.id, generators.c.model_key, generators.c.privacy_report_key).where(
            generators.c.dataset_id.in_(dataset_ids)
        )
    )
    for generator_id, *keys in models:
        prefixes.update(_key_or_folder(key, generator_id) for key in keys if key)
    samples = await session.execute(
        select(synthetic_datasets.c.id, synthetic_datasets.c.object_key).where(
            synthetic_datasets.c.dataset_id.in_(dataset_ids)
        )
    )
    sample_ids = []
    for synthetic_id, key in samples:
        sample_ids.append(synthetic_id)
        if key:
            prefixes.add(_key_or_folder(key, synthetic_id))
    if sample_ids:
        reports = await session.execute(
            select(evaluations.c.id, evaluations.c.report_key, evaluations.c.html_report_key).where(
                evaluations.c.synthetic_dataset_id.in_(sample_ids)
            )
        )
        for evaluation_id, *keys in reports:
            prefixes.update(_key_or_folder(key, evaluation_id) for key in keys if key)
    return sorted(prefixes)


async def purge(storage: ObjectStore, prefixes: Iterable[str]) -> tuple[int, list[str]]:
    """Delete every object under ``prefixes``.

    Returns:
        How many objects were deleted, and the prefixes that could not be (logged).
    """
    deleted = 0
    failed: list[str] = []
    for prefix in prefixes:
        try:
            deleted += await storage.delete_prefix(prefix)
        except Exception:
            log.exception("could not delete the objects under %s", prefix)
            failed.append(prefix)
    return deleted, failed
