"""What the audit service does: record every event, sign checkpoints, verify the chain."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sds_audit.adapters import reads, store
from sds_audit.domain.chain import ChainVerifier, Checkpoint, Head, VerifyResult
from sds_audit.domain.records import entry_of
from sds_audit.domain.stored import StoredRecord
from sds_common.bus import BatchItems, Subscription
from sds_common.db import Database, UnitOfWork
from sds_common.events import CATALOGUE

Clock = Callable[[], datetime]
VERIFY_PAGE_SIZE = 10_000
#: Records hashed between two yields to the event loop while verifying.
VERIFY_SLICE = 200
#: The name of the audit service's one batch subscription (and of its inbox rows).
RECORD = "record"


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class AuditLog:
    """What the handlers need: the database, the checkpoint key and policy, a clock."""

    database: Database
    signing_key: bytes
    checkpoint_every: int
    clock: Clock = utc_now


def subscriptions(audit: AuditLog) -> Sequence[Subscription]:
    """Every catalogue entry (type and version) in ONE batch subscription, ``RECORD``.

    The consumer calls ``record_events`` once per fetch with all the fetch's fresh events, so a
    batch costs one head lock and one insert per table. Every envelope the consumer can parse
    is recorded: one no model can read (unknown type or version, invalid payload) comes through
    the same subscription's ``unrecognised`` part and is recorded flagged (see
    ``domain.records.UNRECOGNISED``), in fetch order with the others.
    """
    handler = functools.partial(record_events, audit=audit)
    return [
        *(
            Subscription.batch(model, handler, name=RECORD)
            for (_type, _version), model in sorted(CATALOGUE.items())
        ),
        Subscription.unrecognised(handler, name=RECORD),
    ]


async def record_events(items: BatchItems, uow: UnitOfWork, *, audit: AuditLog) -> None:
    """Append consumed events to the chain in fetch order, in the consumer's transaction."""
    await store.append_many(
        uow.session,
        [entry_of(envelope, event) for envelope, event in items],
        now=audit.clock(),
        signing_key=audit.signing_key,
        checkpoint_every=audit.checkpoint_every,
    )


async def create_checkpoint(audit: AuditLog, *, actor: str) -> Checkpoint | None:
    """Sign the current head now (None while the log is empty)."""
    async with audit.database.unit_of_work(actor=actor) as uow:
        return await store.checkpoint_head(
            uow.session, now=audit.clock(), signing_key=audit.signing_key, reason="on_demand"
        )


@dataclass(frozen=True)
class VerifyReport:
    """A verification's result, the head it covered and how long it took."""

    result: VerifyResult
    head: Head
    seconds: float


async def verify_log(audit: AuditLog, *, page_size: int = VERIFY_PAGE_SIZE) -> VerifyReport:
    """Walk the whole chain in pages; stop at the first broken record.

    Checkpoints are read before the head, and only records up to that head are walked, so
    records appended while verification runs neither break it nor get half-checked.
    """
    started = time.perf_counter()
    checkpoints = await reads.read_checkpoints(audit.database)
    head = await reads.read_head(audit.database)
    verifier = ChainVerifier(checkpoints=checkpoints, signing_key=audit.signing_key, head=head)
    pages = reads.iter_pages(audit.database, up_to=head.seq, page_size=page_size)
    upcoming: asyncio.Future[list[StoredRecord] | None] = asyncio.ensure_future(anext(pages, None))
    try:
        while (page := await upcoming) is not None:
            # The database reads the next page while this one is hashed, on this thread, a slice
            # at a time: each yield lets the next page's rows come in (and other requests run).
            # Hashing on another thread made the two fight over the GIL (benchmarks/audit.py).
            upcoming = asyncio.ensure_future(anext(pages, None))
            for first in range(0, len(page), VERIFY_SLICE):
                if not verifier.feed(page[first : first + VERIFY_SLICE]):
                    break
                await asyncio.sleep(0)
            if verifier.broken:
                break
    finally:
        upcoming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upcoming
        await pages.aclose()
    return VerifyReport(result=verifier.result(), head=head, seconds=time.perf_counter() - started)
