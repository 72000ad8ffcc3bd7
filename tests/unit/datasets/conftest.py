"""Helpers of the datasets service's unit tests: run the pipeline on bytes written to a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from sds_common.tables import ColumnFormat, ColumnOverride
from sds_datasets.domain.errors import DatasetError
from sds_datasets.domain.limits import Limits
from sds_datasets.domain.pipeline import PreparedDataset, prepare_dataset

Prepare = Callable[..., PreparedDataset]
Reject = Callable[..., DatasetError]


@pytest.fixture
def prepare(tmp_path: Path) -> Prepare:
    counter = iter(range(1_000_000))

    def run(
        content: bytes | str,
        *,
        fmt: str = "csv",
        target: str | None = None,
        limits: Limits | None = None,
        dataset_id: UUID | None = None,
        overrides: dict[str, ColumnOverride] | None = None,
    ) -> PreparedDataset:
        folder = tmp_path / f"run{next(counter)}"
        folder.mkdir()
        source = folder / "upload"
        source.write_bytes(content.encode() if isinstance(content, str) else content)
        return prepare_dataset(
            source=source,
            workdir=folder,
            table_format=fmt,
            dataset_id=dataset_id or uuid4(),
            target_column=target,
            limits=limits or Limits(),
            overrides=overrides or {},
        )

    return run


@pytest.fixture
def reject(prepare: Prepare) -> Reject:
    def run(content: bytes | str, **kwargs: object) -> DatasetError:
        with pytest.raises(DatasetError) as caught:
            prepare(content, **kwargs)
        return caught.value

    return run


def column(prepared: PreparedDataset, name: str) -> dict[str, Any]:
    return next(c for c in prepared.profile["columns"] if c["name"] == name)


def fmt(prepared: PreparedDataset, name: str) -> ColumnFormat:
    """The detected format of column ``name``."""
    found = next(c for c in prepared.columns if c.name == name).format
    assert found is not None
    return found
