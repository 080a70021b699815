"""One venue's sync: the feed from Allociné, the import rules, the catalog upsert, the record
(with its `sync.finished` event) and the metrics.

Nothing is sent that the catalog already has:
- a feed identical to the last successful sync's (same bytes, same settings, timezone and
  rules) has nothing new: it is not even read again (`feed_unchanged`);
- otherwise only offers whose proposal changed since the catalog last applied it are sent
  (per-offer fingerprints). `full` sends everything; the catalog then writes nothing anyway.
"""

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import async_sessionmaker

from importer import metrics, store, sync_run
from importer.allocine_client import AllocineClient, AllocineError, parse
from importer.catalog_client import CatalogClient, CatalogError
from importer.domain import ticketing_programme
from importer.domain.feed import FeedError
from importer.domain.programme import ImportSettings, Programme, build_programme
from importer.domain.status import SyncStatus, SyncTrigger
from importer.models import Sync
from importer.provider_offers import OfferToSend, offer_fingerprint, to_send
from importer.sync_run import Started, SyncOutcome, SyncRecord
from importer.ticketing import TicketingError
from importer.ticketing.clients import TicketingClients
from passculture.catalog.v1 import provider_service_pb2 as provider_pb
from passculture.catalog.v1.resources_pb2 import OFFER_SOURCE_ALLOCINE, OFFER_SOURCE_TICKETING
from passculture.importer.v1.reasons import Reason
from pclib.db import autocommit_engine

log = logging.getLogger(__name__)

# Bump when the reading of feeds changes: every feed is then read again (2: 3D showtimes).
RULES_VERSION = 2


class SyncFailure(Exception):
    """Why a sync failed, in words for the pro."""


def _now() -> datetime:
    return datetime.now(UTC)


def feed_fingerprint(body: bytes, venue: Row, timezone: str) -> bytes:
    """Of the feed's bytes and of everything its reading depends on."""
    reading = (RULES_VERSION, venue.theater_id, venue.price_cents, venue.quantity, venue.is_duo)
    return hashlib.sha256(repr((*reading, timezone)).encode() + b"\0" + body).digest()


@dataclass
class Syncer:
    sessions: async_sessionmaker
    catalog: CatalogClient
    allocine: AllocineClient
    stale_after_seconds: float = 900.0
    clock: Callable[[], datetime] = field(default=_now)
    # The adapters of venues linked to a ticketing system.
    ticketing: TicketingClients | None = None

    async def claim(self, venue_id: uuid.UUID, trigger: SyncTrigger) -> tuple[Sync, bool]:
        """A new PENDING sync of the venue, or the one already under way: (sync, created)."""
        async with self.sessions.begin() as session:
            return await sync_run.claim(session, venue_id, trigger, self.stale_after_seconds)

    async def run(self, sync_id: uuid.UUID, *, full: bool = False) -> SyncRecord | None:
        """Runs a PENDING sync to its end; None when it was no longer PENDING. `full` sends
        every offer to the catalog."""
        clock_started = time.perf_counter()
        async with autocommit_engine(self.sessions).connect() as conn:
            started = await sync_run.start_pending(conn, sync_id)
        if started is None:
            return None
        return await self._run(started, clock_started, full)

    async def run_now(
        self, venue_id: uuid.UUID, trigger: SyncTrigger, *, full: bool = False
    ) -> SyncRecord | None:
        """Starts and runs a sync of the venue (the daily run); None when the venue has one
        under way."""
        clock_started = time.perf_counter()
        async with autocommit_engine(self.sessions).connect() as conn:
            started = await sync_run.start_now(conn, venue_id, trigger)
        if started is None:
            return None
        return await self._run(started, clock_started, full)

    async def fail_stale(self) -> None:
        async with self.sessions.begin() as session:
            await sync_run.fail_stale(session, self.stale_after_seconds)

    async def interrupt_unstarted(self, sync_id: uuid.UUID) -> None:
        """Ends a sync that never ran (interrupted while PENDING)."""
        async with autocommit_engine(self.sessions).connect() as conn:
            head = await sync_run.head(conn, sync_id)
        if head is not None:
            outcome = SyncOutcome()
            outcome.interrupt()
            await self._finish(head, outcome, time.perf_counter())

    async def _run(self, started: Started, clock_started: float, full: bool) -> SyncRecord:
        outcome = SyncOutcome()
        try:
            await self._import(started, outcome, full)
        except asyncio.CancelledError:
            outcome.interrupt()
            await asyncio.shield(self._finish(started.row, outcome, clock_started))
            raise
        except (SyncFailure, AllocineError, FeedError, CatalogError, TicketingError) as error:
            outcome.error = str(error)
        except Exception:
            log.exception("sync failed unexpectedly", extra={"sync_id": str(started.id)})
            outcome.error = "internal error of the import service"
        return await self._finish(started.row, outcome, clock_started)

    async def _finish(self, head: Row, outcome: SyncOutcome, clock_started: float) -> SyncRecord:
        async with autocommit_engine(self.sessions).connect() as conn:
            record = await sync_run.finish(conn, head, outcome)
        seconds = time.perf_counter() - clock_started
        _observe(outcome, seconds)
        log.info(
            "sync finished",
            extra={
                "sync_id": str(record.id),
                "venue_id": str(record.venue_id),
                "status": record.status,
                "seconds": round(seconds, 3),
                "feed_unchanged": record.feed_unchanged,
                "error": record.error,
            },
        )
        return record

    async def _import(self, started: Started, outcome: SyncOutcome, full: bool) -> None:
        venue = started.row
        if venue.system is not None:
            programme = await self._ticketing_programme(started, outcome, full)
        else:
            zone, body = await self._timezone_and_feed(venue)
            outcome.feed_fingerprint = feed_fingerprint(body, venue, zone.key)
            programme = None
            if full or started.last_feed_fingerprint != outcome.feed_fingerprint:
                settings = ImportSettings(venue.price_cents, venue.quantity, venue.is_duo)
                programme = build_programme(parse(body), settings, zone, self.clock())
        if programme is None:
            _carry_over(venue, outcome)
            return
        await self._send(started, programme, outcome, full)

    async def _ticketing_programme(
        self, started: Started, outcome: SyncOutcome, full: bool
    ) -> Programme | None:
        """The linked venue's programme from its system; None when its showtimes (and their
        seats) are the last successful sync's."""
        if self.ticketing is None:
            raise SyncFailure("the import service has no ticketing clients")
        venue = started.row
        zone = await self._timezone(venue)
        client = self.ticketing.of(venue)
        today = self.clock().astimezone(zone).date()
        showtimes = await client.showtimes(today, self.ticketing.sync_days)
        reading = (RULES_VERSION, venue.system, venue.account_id, venue.cinema_id, zone.key)
        outcome.feed_fingerprint = hashlib.sha256(repr((reading, showtimes)).encode()).digest()
        if not full and started.last_feed_fingerprint == outcome.feed_fingerprint:
            return None
        return ticketing_programme.build_programme(showtimes, self.clock())

    async def _send(
        self, started: Started, programme: Programme, outcome: SyncOutcome, full: bool
    ) -> None:
        venue = started.row
        _count_showtimes(programme, outcome)
        known: dict[str, bytes] = {}
        if not full:
            async with self.sessions() as session:
                known = await store.fingerprints(session, venue.venue_id)
        changed: list[OfferToSend] = []
        for offer in programme.offers:
            fingerprint = offer_fingerprint(offer)
            if known.get(offer.reference) != fingerprint:
                changed.append(to_send(offer, fingerprint))

        async def applied(
            reply: provider_pb.UpsertProviderOffersResponse, completed: dict[str, bytes]
        ) -> None:
            outcome.offers_created += reply.offers_created
            outcome.offers_updated += reply.offers_updated
            outcome.stocks_created += reply.stocks_created
            outcome.stocks_updated += reply.stocks_updated
            async with self.sessions.begin() as session:
                await store.save_fingerprints(session, venue.venue_id, completed, self.clock())
                await sync_run.heartbeat(session, started.id)

        source = OFFER_SOURCE_TICKETING if venue.system is not None else OFFER_SOURCE_ALLOCINE
        await self.catalog.upsert(str(venue.venue_id), changed, applied, source=source)

    async def _timezone_and_feed(self, venue: Row) -> tuple[ZoneInfo, bytes]:
        """Asks the catalog and Allociné at once."""
        fetch = asyncio.create_task(self.allocine.showtimes(venue.theater_id))
        try:
            zone = await self._timezone(venue)
        except BaseException:
            fetch.cancel()
            raise
        return zone, await fetch

    async def _timezone(self, venue: Row) -> ZoneInfo:
        """The venue's timezone as the catalog says (checking it still has a SIRET)."""
        catalog_venue = await self.catalog.venue(str(venue.venue_id))
        if not catalog_venue.siret:
            raise SyncFailure(f"the venue has no SIRET any more ({Reason.VENUE_WITHOUT_SIRET})")
        try:
            zone = ZoneInfo(catalog_venue.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SyncFailure(f"unknown venue timezone {catalog_venue.timezone!r}") from None
        if catalog_venue.timezone != venue.timezone:
            async with self.sessions.begin() as session:
                await store.remember_timezone(session, venue.venue_id, catalog_venue.timezone)
        return zone


def _carry_over(started: Row, outcome: SyncOutcome) -> None:
    outcome.feed_unchanged = True
    outcome.showtimes_imported = started.last_showtimes_imported
    outcome.showtimes_skipped = started.last_showtimes_skipped
    outcome.movies_rejected = started.last_movies_rejected
    outcome.rejected_movies = list(started.last_rejected_movies)


def _count_showtimes(programme: Programme, outcome: SyncOutcome) -> None:
    outcome.showtimes_imported = programme.showtimes_imported
    outcome.showtimes_skipped = programme.showtimes_skipped
    outcome.movies_rejected = len(programme.rejections)
    outcome.rejected_movies = [
        {"movie": rejection.movie, "reason": rejection.reason} for rejection in programme.rejections
    ]
    outcome.showtimes_rejected = programme.showtimes_rejected
    for rejection in programme.rejections:
        log.warning("movie rejected", extra={"movie": rejection.movie, "reason": rejection.reason})


def _observe(outcome: SyncOutcome, seconds: float) -> None:
    metrics.SYNC_SECONDS.labels(outcome.status.lower()).observe(seconds)
    if outcome.feed_unchanged:
        return  # its showtimes were counted when the feed was read
    if outcome.status == SyncStatus.SUCCEEDED:
        metrics.SHOWTIMES.labels("imported").inc(outcome.showtimes_imported)
    metrics.SHOWTIMES.labels("skipped").inc(outcome.showtimes_skipped)
    metrics.SHOWTIMES.labels("rejected").inc(outcome.showtimes_rejected)
    metrics.MOVIES_REJECTED.inc(outcome.movies_rejected)
