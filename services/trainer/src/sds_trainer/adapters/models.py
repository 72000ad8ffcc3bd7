"""Trained models in object storage, with a small in-process cache for repeated sampling."""

from __future__ import annotations

from collections import OrderedDict

from sds_common.storage import ObjectStore
from sds_trainer.domain.synthesizers import Synthesizer, get_synthesizer


def model_key(generator_id: str) -> str:
    """Where a generator's final model lives."""
    return f"generators/{generator_id}/model.bin"


def checkpoint_key(generator_id: str) -> str:
    """Where a running training keeps its latest checkpoint."""
    return f"generators/{generator_id}/checkpoint.bin"


def privacy_report_key(generator_id: str) -> str:
    """Where a generator's privacy report (JSON) lives."""
    return f"generators/{generator_id}/privacy.json"


class ModelStore:
    """Loads models by generator id, keeping the last few in memory."""

    def __init__(self, storage: ObjectStore, *, capacity: int = 4) -> None:
        self._storage = storage
        self._capacity = capacity
        self._cache: OrderedDict[str, Synthesizer] = OrderedDict()

    async def save(self, generator_id: str, model: Synthesizer) -> str:
        """Store a trained model; returns its key."""
        key = model_key(generator_id)
        await self._storage.put_bytes(key, model.save())
        self._remember(generator_id, model)
        return key

    async def load(self, generator_id: str, *, method: str) -> Synthesizer:
        """The model of a generator (from the cache or storage)."""
        if generator_id in self._cache:
            self._cache.move_to_end(generator_id)
            return self._cache[generator_id]
        data = await self._storage.get_bytes(model_key(generator_id))
        model = get_synthesizer(method).load(data)
        self._remember(generator_id, model)
        return model

    def _remember(self, generator_id: str, model: Synthesizer) -> None:
        self._cache[generator_id] = model
        self._cache.move_to_end(generator_id)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
