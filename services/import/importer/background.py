"""On-demand syncs run in the background of the gRPC server, a bounded number at a time."""

import asyncio
import contextlib
import logging
import uuid

from importer.sync import Syncer
from pclib import aio

log = logging.getLogger(__name__)


class BackgroundSyncs:
    def __init__(self, syncer: Syncer, concurrency: int) -> None:
        self._syncer = syncer
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, sync_id: uuid.UUID) -> None:
        task = asyncio.create_task(self._run(sync_id), name=f"sync-{sync_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, sync_id: uuid.UUID) -> None:
        running = False
        try:
            async with self._slots:
                running = True
                await self._syncer.run(sync_id)
        except asyncio.CancelledError:
            if not running:  # still PENDING; a running sync records its own interruption
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._syncer.interrupt_unstarted(sync_id))
            raise
        except Exception:
            log.exception("background sync failed", extra={"sync_id": str(sync_id)})

    async def wait(self) -> None:
        """Until every sync started so far has ended (tests, graceful stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self, grace_seconds: float) -> None:
        """Lets the syncs under way finish for `grace_seconds`, then interrupts the rest."""
        await aio.stop_tasks(list(self._tasks), grace_seconds)
