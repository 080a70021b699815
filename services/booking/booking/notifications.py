"""Booking notifications: each booking and cancellation of a venue with a notification URL is
POSTed there, signed (domain.notifications), from the booking events.

The worker's emails consumer (consumers/emails.py, before the emails) writes one delivery row
per event of a venue with a URL (unique per booking and action: a redelivered event adds
nothing): the venue's delivery log, and the retry queue. The worker's delivery loop takes the
due rows (SKIP LOCKED: several workers share them), POSTs each with short timeouts, and on a
failure (no answer, or not a 2xx) schedules the next attempt, doubling the wait, until the retry
window (24 h) has passed since the first attempt: the row is then DEAD_LETTERED. Rows rather
than RabbitMQ's delayed queues: the retry state is what the delivery log shows, and a wait of an
hour holds no message nor consumer.

The destination is checked when the URL is set and again before every attempt: the host's
every address must be public (no private, loopback, link-local, reserved), and redirects are
not followed, so that a URL cannot reach the cluster's own services.
"""

import asyncio
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from psycopg import AsyncConnection
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.domain import notifications as rules
from booking.domain.status import DeliveryStatus, NotificationAction
from booking.models import Booking, NotificationDelivery, Venue, VenueNotification
from booking.queries import BookingView
from booking.settings import BookingSettings
from passculture.booking.v1.reasons import Reason
from pclib.batches import run_in_batches
from pclib.errors import InvalidArgument

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
# Deliveries sent per round of the loop, each round's rows locked until their attempt ends.
BATCH_SIZE = 20
MAX_ERROR_LENGTH = 300


def new_signing_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class UnsafeDestination(Exception):
    """The URL's host has (or resolves to) an address that is not public."""


@dataclass(frozen=True)
class Destinations:
    """Which URLs may be called: the production rules, loosened by the test settings."""

    allow_http: bool = False
    allow_loopback: bool = False

    @classmethod
    def of(cls, settings: BookingSettings) -> "Destinations":
        return cls(settings.notification_allow_http, settings.notification_allow_loopback)

    def host_of(self, url: str) -> str:
        return rules.check_url(url, allow_http=self.allow_http)

    def allowed(self, address: rules.IPAddress) -> bool:
        return rules.is_public(address) or (self.allow_loopback and address.is_loopback)

    async def check(self, url: str) -> list[rules.IPAddress]:
        """The host's addresses; UnsafeDestination unless every one is allowed."""
        host = self.host_of(url)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except socket.gaierror as error:
            raise UnsafeDestination(f"{host}: does not resolve ({error})") from None
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
        refused = sorted(str(address) for address in addresses if not self.allowed(address))
        if not addresses or refused:
            raise UnsafeDestination(f"{host}: not a public address ({', '.join(refused)})")
        return sorted(addresses, key=str)


async def checked_url(url: str, destinations: Destinations) -> str:
    """A URL a pro sets: refused with a stable reason when it may not be a destination."""
    url = url.strip()
    try:
        await destinations.check(url)
    except UnsafeDestination as error:
        raise InvalidArgument(Reason.NOTIFICATION_URL_FORBIDDEN, str(error)) from None
    return url


# The consumer: one delivery per event of a venue with a URL.


def payload(action: NotificationAction, booking: Booking, venue: Venue) -> bytes:
    """The body POSTed: `{action, booking}`, times RFC 3339 in the venue's timezone."""
    zone = ZoneInfo(venue.timezone)

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).isoformat() if moment else None

    body: dict[str, Any] = {
        "action": action.value,
        "booking": {
            "id": str(booking.id),
            "countermark": booking.countermark,
            "status": booking.status.value,
            "offerer_id": str(booking.offerer_id),
            "venue_id": str(booking.venue_id),
            "offer_id": str(booking.offer_id),
            "offer_title": booking.offer_title,
            "stock_id": str(booking.stock_id),
            "starts_at": local(booking.starts_at),
            "quantity": booking.quantity,
            "price_category_label": booking.price_category_label,
            "amount_cents": booking.amount_cents,
            "total_cents": booking.total_cents,
            "booked_at": local(booking.booked_at),
            "cancelled_at": local(booking.cancelled_at),
        },
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


ENQUEUE = f"""
INSERT INTO notification_deliveries (id, venue_id, booking_id, action, status, url, body,
    attempts, created_at, next_attempt_at, last_error)
VALUES (%(id)s, %(venue_id)s, %(booking_id)s, %(action)s, '{DeliveryStatus.PENDING}', %(url)s,
    %(body)s, 0, %(now)s, %(now)s, '')
ON CONFLICT (booking_id, action) DO NOTHING
"""  # noqa: S608 (only a status constant is formatted in)


async def enqueue(
    conn: AsyncConnection[Any],
    view: BookingView,
    url: str | None,
    action: NotificationAction,
    now: datetime,
) -> None:
    """The delivery of a booking's event to its venue's `url`, read with the booking
    (views.with_notification_url); most venues have none: nothing then. A booking has one
    delivery per action: a redelivered event adds nothing."""
    if url is None:
        return
    params = {
        "id": uuid.uuid4(),
        "venue_id": view.venue.id,
        "booking_id": view.booking.id,
        "action": action.value,
        "url": url,
        "body": payload(action, view.booking, view.venue),
        "now": now,
    }
    await conn.execute(ENQUEUE, params)


# The delivery loop.


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender:
    """POSTs signed bodies: short timeouts, no redirects, the destination checked first."""

    def __init__(self, destinations: Destinations, timeout_seconds: float) -> None:
        self._destinations = destinations
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0)),
            follow_redirects=False,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def send(self, url: str, secret: str, body: bytes) -> Attempt:
        try:
            addresses = await self._destinations.check(url)
        except (UnsafeDestination, InvalidArgument) as error:
            return Attempt(None, f"refused destination: {error}"[:MAX_ERROR_LENGTH])
        target = httpx.URL(url)
        headers = {
            "Host": target.netloc.decode("ascii"),
            "Content-Type": "application/json",
            rules.SIGNATURE_HEADER: rules.signature(secret, int(time.time()), body),
        }
        # To the address just checked, not to a second DNS answer (rebinding); TLS still
        # names and verifies the host.
        pinned = target.copy_with(host=str(addresses[0]))
        try:
            answer = await self._http.post(
                pinned,
                content=body,
                headers=headers,
                extensions={"sni_hostname": target.host},
            )
        except httpx.HTTPError as error:
            return Attempt(None, f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH])
        failure = "" if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"
        return Attempt(answer.status_code, failure)


@dataclass(frozen=True)
class Schedule:
    first: timedelta
    cap: timedelta
    window: timedelta

    @classmethod
    def of(cls, settings: BookingSettings) -> "Schedule":
        return cls(
            timedelta(seconds=settings.notification_first_retry_seconds),
            timedelta(seconds=settings.notification_max_retry_seconds),
            timedelta(seconds=settings.notification_retry_window_seconds),
        )


def record(
    delivery: NotificationDelivery, attempt: Attempt, schedule: Schedule, now: datetime
) -> None:
    """The attempt's outcome on the row: delivered, retried later, or dead-lettered."""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = attempt.status_code
    delivery.last_error = attempt.error
    if attempt.delivered:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
    elif rules.gives_up(now - delivery.created_at, schedule.window):
        delivery.status = DeliveryStatus.DEAD_LETTERED
        log.warning(
            "notification %s dead-lettered after %d attempts", delivery.id, delivery.attempts
        )
    else:
        delivery.next_attempt_at = now + rules.retry_delay(
            delivery.attempts, schedule.first, schedule.cap
        )


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession], sender: Sender, schedule: Schedule
) -> int:
    """One round: attempts the due deliveries, each row locked until its outcome is saved."""
    async with sessions.begin() as session:
        rows = (
            await session.execute(
                select(NotificationDelivery, VenueNotification.signing_secret)
                .outerjoin(
                    VenueNotification,
                    VenueNotification.venue_id == NotificationDelivery.venue_id,
                )
                .where(
                    NotificationDelivery.status == DeliveryStatus.PENDING,
                    NotificationDelivery.next_attempt_at <= datetime.now(UTC),
                )
                .order_by(NotificationDelivery.next_attempt_at)
                .limit(BATCH_SIZE)
                .with_for_update(of=NotificationDelivery, skip_locked=True)
            )
        ).all()
        for delivery, secret in rows:
            if secret is None:  # the venue removed its URL meanwhile: nothing to sign with
                delivery.status = DeliveryStatus.DEAD_LETTERED
                delivery.last_error = "the venue has no notification URL any more"
                continue
            attempt = await sender.send(delivery.url, secret, delivery.body)
            record(delivery, attempt, schedule, datetime.now(UTC))
    return len(rows)


async def run_deliveries(
    sessions: async_sessionmaker[AsyncSession], settings: BookingSettings, stop: asyncio.Event
) -> None:
    sender = Sender(Destinations.of(settings), settings.notification_timeout_seconds)
    schedule = Schedule.of(settings)
    try:
        await run_in_batches(
            stop,
            lambda: deliver_due(sessions, sender, schedule),
            batch=BATCH_SIZE,
            interval=settings.notification_poll_seconds,
            log=log,
            done="notifications delivered",
        )
    finally:
        await sender.close()
