"""Emails to venues and young people, from the booking service's own events, received by a real
SMTP server: outbox → relay → RabbitMQ → the worker's emails consumer → SMTP. Each is HTML with a
plain-text alternative, times in the venue's timezone (Réunion here; Paris across a change of
daylight saving time), with a Message-ID per booking and kind."""

import asyncio
import contextlib
import email
import socket
from datetime import UTC, datetime
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from booking import events, worker
from passculture.booking.v1 import events_pb2
from pclib.db import make_session_factory
from pclib.outbox import OutboxRelay, add_event
from pclib.timestamps import timestamp
from tests.support.booking_helpers import isolated, store_booking, store_venue
from tests.support.pclib_fixtures import consumed, eventually, running_consumers

# Saturday 13 March 2027, 20:30 in Réunion (UTC+4).
STARTS_AT = datetime(2027, 3, 13, 16, 30, tzinfo=UTC)


class Mailbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [message for rcpt, message in self.received if address in rcpt]


def text(message: email.message.EmailMessage) -> str:
    """The plain-text alternative."""
    return message.get_body(("plain",)).get_content()


def html(message: email.message.EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def message_id(message: email.message.EmailMessage) -> str:
    """The Message-ID (a long one is folded onto its own line: CFWS, not part of it)."""
    return message["Message-ID"].strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def smtp_server(port: int):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield mailbox
    finally:
        await asyncio.to_thread(controller.stop)


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def settings(booking_settings, unique_name, smtp_port):
    return isolated(booking_settings, unique_name).model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_timeout_seconds": 2.0}
    )


def emails_consumer(engine, pool, settings):
    (consumer,) = [c for c in worker.consumers(engine, pool, settings) if "emails" in c.queue]
    return consumer


@pytest.fixture
async def pipeline(booking_engine, booking_pool, broker, settings):
    """The outbox relay and the emails consumer, running for the test; yields the consumer."""
    consumer = emails_consumer(booking_engine, booking_pool, settings)
    relay = OutboxRelay(
        booking_engine, settings.amqp_url, settings.events_exchange, poll_interval=0.05
    )
    stop = asyncio.Event()
    async with running_consumers(broker, [consumer]):
        relaying = asyncio.create_task(relay.run(stop))
        yield consumer
        stop.set()
        await asyncio.wait_for(relaying, 10)


@pytest.fixture
async def venue(booking_engine):
    return await store_venue(
        booking_engine,
        name="Ciné Soleil",
        booking_email="resa@soleil.test",
        timezone="Indian/Reunion",
        address="12 rue du Port",
        postal_code="97400",
        city="Saint-Denis",
    )


YOUNG = {
    "first_name": "Léa",
    "last_name": "Martin",
    "email": "lea.martin@example.com",
    "phone_number": "+262692000000",
}


async def store(engine, venue, **fields):
    return await store_booking(
        engine,
        venue,
        young=YOUNG,
        starts_at=STARTS_AT,
        quantity=2,
        amount_cents=750,
        features=["VO"],
        offer_title="Le Voyage\ndans la Lune",
        **fields,
    )


async def emit(engine, routing_key: str, event) -> None:
    async with make_session_factory(engine).begin() as session:
        await add_event(session, routing_key, event)


def created(stored) -> events_pb2.BookingCreated:
    return events_pb2.BookingCreated(
        booking=events.booking_facts(stored.booking, stored.venue),
        booked_at=timestamp(stored.booking.booked_at),
    )


def assert_describes_the_booking(body: str) -> None:
    for line in (
        "Film : Le Voyage dans la Lune",
        "Date : samedi 13 mars 2027",
        "Heure : 20h30",
        "Version : VO",
        "Prix : 7,50 € la place",
        "Quantité : 2 places (15,00 €)",
        "Prénom : Léa",
        "Nom : Martin",
        "Email : lea.martin@example.com",
        "Téléphone : +262692000000",
    ):
        assert line in body


async def test_a_new_booking_is_emailed_to_the_venue(
    booking_engine, pipeline, settings, venue, smtp_port
):
    async with smtp_server(smtp_port) as mailbox:
        stored = await store(booking_engine, venue)
        await emit(booking_engine, "booking.created", created(stored))
        await eventually(lambda: len(mailbox.received) == 2)

    (message,) = mailbox.to("resa@soleil.test")
    assert message["To"] == "resa@soleil.test"
    assert message["From"] == settings.smtp_sender
    assert message["Reply-To"].addresses[0].addr_spec == "lea.martin@example.com"
    assert message["Reply-To"].addresses[0].display_name == "Léa Martin"
    assert message["Subject"] == (
        "Nouvelle réservation pass Culture : Le Voyage dans la Lune, samedi 13 mars 2027 à 20h30"
    )
    body = text(message)
    assert f"Contremarque : {stored.booking.countermark}" in body
    assert_describes_the_booking(body)
    assert stored.booking.countermark in html(message)
    assert message_id(message) == f"<venue-booking.{stored.booking.id}@passculture.app>"


async def test_a_cancellation_by_the_young_person_is_emailed_to_the_venue_and_confirmed_to_them(
    booking_engine, pipeline, venue, smtp_port
):
    handled = consumed(pipeline.queue, "booking.cancelled", "handled")
    async with smtp_server(smtp_port) as mailbox:
        stored = await store(booking_engine, venue, status="CANCELLED")
        await emit(booking_engine, "booking.cancelled", events.cancelled(stored.booking, venue))
        # Handled: every email of the event was sent.
        await eventually(
            lambda: consumed(pipeline.queue, "booking.cancelled", "handled") == handled + 1
        )

    assert len(mailbox.received) == 2
    (message,) = mailbox.to("resa@soleil.test")
    assert message["Subject"].startswith("Réservation annulée : Le Voyage dans la Lune")
    assert message["Reply-To"].addresses[0].addr_spec == "lea.martin@example.com"
    body = text(message)
    assert "annulée par le bénéficiaire" in body
    assert stored.booking.countermark not in body
    assert "Contremarque" not in body
    assert_describes_the_booking(body)

    (to_young,) = mailbox.to("lea.martin@example.com")
    assert to_young["Subject"] == "Votre réservation pour Le Voyage dans la Lune est annulée"
    assert message_id(to_young) == f"<cancellation.{stored.booking.id}@passculture.app>"
    body = text(to_young)
    assert "Bonjour Léa," in body
    assert "samedi 13 mars 2027 à 20h30 (Ciné Soleil, 2 places) est annulée" in body
    assert "Crédit rendu : 15,00 € ont été remis sur votre crédit pass Culture." in body
    assert "Crédit rendu : <strong>15,00 €</strong>" in html(to_young)


async def test_a_cancellation_by_the_cinema_is_emailed_to_the_young_person_too(
    booking_engine, pipeline, venue, smtp_port
):
    async with smtp_server(smtp_port) as mailbox:
        stored = await store(
            booking_engine, venue, status="CANCELLED", cancellation_reason="OFFERER"
        )
        await emit(booking_engine, "booking.cancelled", events.cancelled(stored.booking, venue))
        await eventually(lambda: len(mailbox.received) == 2)

    (to_venue,) = mailbox.to("resa@soleil.test")
    assert "annulée par votre établissement" in text(to_venue)
    assert stored.booking.countermark not in text(to_venue)
    (to_young,) = mailbox.to("lea.martin@example.com")
    assert to_young["To"].addresses[0].addr_spec == "lea.martin@example.com"
    assert to_young["Reply-To"] == "resa@soleil.test"
    assert to_young["Subject"] == (
        "Votre réservation pour Le Voyage dans la Lune a été annulée par le cinéma"
    )
    assert message_id(to_young) == f"<cancelled-by-cinema.{stored.booking.id}@passculture.app>"
    body = text(to_young)
    assert "Bonjour Léa," in body
    assert "Ciné Soleil a annulé la séance de Le Voyage dans la Lune" in body
    assert "samedi 13 mars 2027 à 20h30" in body
    assert "15,00 €" in body


async def test_an_email_waits_for_the_smtp_server_to_come_back(
    booking_engine, pipeline, venue, smtp_port
):
    # Nothing listens on the SMTP port yet: sending fails, the event goes back to the queue.
    stored = await store(booking_engine, venue)
    await emit(booking_engine, "booking.created", created(stored))
    await eventually(lambda: consumed(pipeline.queue, "booking.created", "failed") >= 1)

    async with smtp_server(smtp_port) as mailbox:
        await eventually(lambda: len(mailbox.received) == 2, within=15)

    (message,) = mailbox.to("resa@soleil.test")
    assert stored.booking.countermark in text(message)
    (message,) = mailbox.to("lea.martin@example.com")
    assert stored.booking.countermark in text(message)
