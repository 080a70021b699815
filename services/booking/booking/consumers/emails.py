"""Emails from the booking service's own events: to the venue on each new booking and each
cancellation, and to the young person when the cinema cancelled.

A consumer, not a step of the booking: a slow or unreachable SMTP server never slows or fails a
booking. A failed send raises, so the event comes back later (with a backoff, dead-lettered
after the delivery limit); a sent event's id goes to the inbox (pclib.inbox.EffectConsumer), so
that a redelivery sends nothing. Delivery is at least once: a redelivery after a partial failure
may send an email twice. The worker keeps one SMTP connection (pclib.mail).
"""

import logging
import uuid
from dataclasses import dataclass
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection

from booking import models, views
from booking.domain.status import CancellationReason
from passculture.booking.v1 import events_pb2
from pclib.inbox import EffectHandlers, EventMeta
from pclib.mail import Mailer, address, text_message

log = logging.getLogger(__name__)

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


# --- what the emails say --------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    booking: models.Booking
    beneficiary: models.Beneficiary
    venue: models.Venue
    # The From header (settings.smtp_sender).
    sender: str


def _one_line(text: str) -> str:
    """Header values are one line (a title with a line break would make the email invalid)."""
    return " ".join(text.split())


def film(context: Context) -> str:
    return _one_line(context.booking.offer_title)


def local_date(context: Context) -> str:
    moment = context.booking.starts_at.astimezone(ZoneInfo(context.venue.timezone))
    return f"{DAYS[moment.weekday()]} {moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def local_hour(context: Context) -> str:
    moment = context.booking.starts_at.astimezone(ZoneInfo(context.venue.timezone))
    return f"{moment.hour}h{moment.minute:02d}"


def euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d} €"


def _booking_lines(context: Context, *, with_countermark: bool) -> list[str]:
    booking, young = context.booking, context.beneficiary
    lines = [
        f"Film : {film(context)}",
        f"Date : {local_date(context)}",
        f"Heure : {local_hour(context)}",
        f"Version : {', '.join(booking.features) or 'non précisée'}",
        f"Prix : {euros(booking.amount_cents)} la place",
        f"Quantité : {booking.quantity} place{'s' if booking.quantity > 1 else ''}"
        f" ({euros(booking.total_cents)})",
    ]
    if with_countermark:
        lines.append(f"Contremarque : {booking.countermark}")
    return [
        *lines,
        "",
        "Bénéficiaire :",
        f"Prénom : {young.first_name}",
        f"Nom : {young.last_name}",
        f"Email : {young.email}",
        f"Téléphone : {young.phone_number or 'non renseigné'}",
    ]


def _email(
    context: Context, to: str, subject: str, lines: list[str], reply_to: str | None = None
) -> Message:
    return text_message(
        sender=context.sender,
        to=to,
        subject=subject,
        body="\n".join(lines) + "\n",
        reply_to=reply_to,
    )


def _young_address(context: Context) -> str:
    young = context.beneficiary
    return address(f"{young.first_name} {young.last_name}", young.email)


def new_booking_email(context: Context) -> Message:
    return _email(
        context,
        context.venue.booking_email,
        f"Nouvelle réservation pass Culture : {film(context)}, {local_date(context)} à "
        f"{local_hour(context)}",
        [
            f"Une nouvelle réservation a été faite pour {context.venue.name} :",
            "",
            *_booking_lines(context, with_countermark=True),
            "",
            "Le jeune présentera sa contremarque au guichet. Répondez à cet email pour lui écrire.",
        ],
        reply_to=_young_address(context),
    )


def cancellation_email(context: Context, *, by_cinema: bool) -> Message:
    who = "par votre établissement" if by_cinema else "par le bénéficiaire"
    return _email(
        context,
        context.venue.booking_email,
        f"Réservation annulée : {film(context)}, {local_date(context)} à {local_hour(context)}",
        [
            f"Une réservation pour {context.venue.name} a été annulée {who} :",
            "",
            *_booking_lines(context, with_countermark=False),
        ],
        reply_to=_young_address(context),
    )


def cancelled_by_cinema_email(context: Context) -> Message:
    booking, venue = context.booking, context.venue
    return _email(
        context,
        _young_address(context),
        f"Votre réservation pour {film(context)} a été annulée par le cinéma",
        [
            f"Bonjour {context.beneficiary.first_name},",
            "",
            f"{venue.name} a annulé la séance de {film(context)} du {local_date(context)} "
            f"à {local_hour(context)} que vous aviez réservée ({booking.quantity} place"
            f"{'s' if booking.quantity > 1 else ''}).",
            f"Les {euros(booking.total_cents)} de cette réservation ne sont plus décomptés "
            "de votre crédit pass Culture.",
            "",
            "L'équipe pass Culture",
        ],
        reply_to=venue.booking_email or None,
    )


# --- the consumer's handlers ----------------------------------------------------------------


async def _load(conn: AsyncConnection[Any], facts: events_pb2.BookingFacts, sender: str) -> Context:
    view = await views.by_id(conn, uuid.UUID(facts.booking_id))
    if view is None:  # our own event: the booking is in this database
        raise LookupError(f"booking {facts.booking_id} not found")
    return Context(*view, sender=sender)


def handlers(mailer: Mailer, sender: str) -> EffectHandlers:
    """The emails consumer's handlers, by routing key of the booking service's events."""

    async def send_all(messages: list[Message], meta: EventMeta) -> None:
        for message in messages:
            if message["To"]:
                await mailer.send(message)
            else:
                log.warning("no address to send %r to (%s)", message["Subject"], meta.message_id)

    async def on_created(
        conn: AsyncConnection[Any], event: events_pb2.BookingCreated, meta: EventMeta
    ) -> None:
        context = await _load(conn, event.booking, sender)
        await send_all([new_booking_email(context)], meta)

    async def on_cancelled(
        conn: AsyncConnection[Any], event: events_pb2.BookingCancelled, meta: EventMeta
    ) -> None:
        context = await _load(conn, event.booking, sender)
        by_cinema = event.reason == CancellationReason.OFFERER
        messages = [cancellation_email(context, by_cinema=by_cinema)]
        if by_cinema:
            messages.append(cancelled_by_cinema_email(context))
        await send_all(messages, meta)

    return {
        "booking.created": (events_pb2.BookingCreated, on_created),
        "booking.cancelled": (events_pb2.BookingCancelled, on_cancelled),
    }
