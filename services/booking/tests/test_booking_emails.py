"""Emails to venues and young people, from the booking service's own events, received by a real
SMTP server: outbox → relay → RabbitMQ → the worker's emails consumer → SMTP. Each is HTML with a
plain-text alternative, times in the venue's timezone (Réunion here; Paris across a change of
daylight saving time), with a Message-ID per booking and kind."""

import email
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from booking import events, lifecycle, notifications
from booking.models import NotificationDelivery, VenueNotification
from passculture.booking.v1 import events_pb2
from pclib.db import make_session_factory
from pclib.outbox import add_event
from pclib.timestamps import timestamp
from tests.support.booking_helpers import store_booking, store_venue
from tests.support.pclib_fixtures import consumed, eventually
from tests.support.qr_png import decoded
from tests.support.smtp_sink import Mailbox, html, message_id, smtp_server, text

# Saturday 13 March 2027, 20:30 in Réunion (UTC+4).
STARTS_AT = datetime(2027, 3, 13, 16, 30, tzinfo=UTC)


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
    booking_engine, mail_pipeline, mail_settings, venue, smtp_port
):
    async with smtp_server(smtp_port) as mailbox:
        stored = await store(booking_engine, venue)
        await emit(booking_engine, "booking.created", created(stored))
        await eventually(lambda: len(mailbox.received) == 2)

    (message,) = mailbox.to("resa@soleil.test")
    assert message["To"] == "resa@soleil.test"
    assert message["From"] == mail_settings.smtp_sender
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


async def test_the_emails_consumer_records_the_venues_notification_before_emailing(
    booking_engine, mail_pipeline, venue, smtp_port
):
    """The notifications queue is retired (booking/worker.py): the emails consumer alone
    records the delivery of a venue with a URL, even while the SMTP server is down."""
    sessions = make_session_factory(booking_engine)
    async with sessions.begin() as session:
        session.add(
            VenueNotification(
                venue_id=venue.id,
                url="http://127.0.0.1:9/hook",
                signing_secret=notifications.new_signing_secret(),
                updated_at=datetime.now(UTC),
            )
        )
    stored = await store(booking_engine, venue)
    await emit(booking_engine, "booking.created", created(stored))

    async def delivered_actions() -> list[str]:
        async with sessions() as session:
            rows = await session.scalars(
                select(NotificationDelivery.action).where(
                    NotificationDelivery.booking_id == stored.booking.id
                )
            )
            return list(rows)

    assert await eventually(delivered_actions) == ["BOOK"]
    async with smtp_server(smtp_port) as mailbox:
        await eventually(lambda: len(mailbox.received) == 2, within=15)
    assert await delivered_actions() == ["BOOK"]  # the retried event recorded nothing more


async def test_a_cancellation_by_the_young_person_is_emailed_to_the_venue_and_confirmed_to_them(
    booking_engine, mail_pipeline, venue, smtp_port
):
    handled = consumed(mail_pipeline.queue, "booking.cancelled", "handled")
    async with smtp_server(smtp_port) as mailbox:
        stored = await store(booking_engine, venue, status="CANCELLED")
        await emit(booking_engine, "booking.cancelled", events.cancelled(stored.booking, venue))
        # Handled: every email of the event was sent.
        await eventually(
            lambda: consumed(mail_pipeline.queue, "booking.cancelled", "handled") == handled + 1
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
    booking_engine, mail_pipeline, venue, smtp_port
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
    booking_engine, mail_pipeline, venue, smtp_port
):
    # Nothing listens on the SMTP port yet: sending fails, the event goes back to the queue.
    stored = await store(booking_engine, venue)
    await emit(booking_engine, "booking.created", created(stored))
    await eventually(lambda: consumed(mail_pipeline.queue, "booking.created", "failed") >= 1)

    async with smtp_server(smtp_port) as mailbox:
        await eventually(lambda: len(mailbox.received) == 2, within=15)

    (message,) = mailbox.to("resa@soleil.test")
    assert stored.booking.countermark in text(message)
    (message,) = mailbox.to("lea.martin@example.com")
    assert stored.booking.countermark in text(message)


# --- to the young person ----------------------------------------------------------------------


def young_message(mailbox: Mailbox) -> email.message.EmailMessage:
    (message,) = mailbox.to("lea.martin@example.com")
    return message


async def test_a_new_booking_is_confirmed_to_the_young_person_with_the_qr_code(
    booking_engine, mail_pipeline, mail_settings, venue, smtp_port
):
    # Booked on Monday 1 March 2027 at 14:00 in Réunion: cancellable until 48h later.
    booked_at = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    async with smtp_server(smtp_port) as mailbox:
        stored = await store(booking_engine, venue, booked_at=booked_at)
        await emit(booking_engine, "booking.created", created(stored))
        await eventually(lambda: len(mailbox.received) == 2)

    message = young_message(mailbox)
    assert message["To"].addresses[0].display_name == "Léa Martin"
    assert message["From"] == mail_settings.smtp_sender
    assert message["Reply-To"] == "resa@soleil.test"
    assert message["Subject"] == (
        "Votre réservation est confirmée : Le Voyage dans la Lune, samedi 13 mars 2027 à 20h30"
    )
    assert message_id(message) == f"<confirmation.{stored.booking.id}@passculture.app>"
    assert message.get_content_type() == "multipart/alternative"
    body = text(message)
    for line in (
        "Bonjour Léa,",
        "Film : Le Voyage dans la Lune",
        "Cinéma : Ciné Soleil",
        "Adresse : 12 rue du Port, 97400 Saint-Denis",
        "Date : samedi 13 mars 2027",
        "Heure : 20h30",
        "Version : VO",
        "Prix : 7,50 € la place",
        "Quantité : 2 places (15,00 €)",
        f"Contremarque : {stored.booking.countermark}",
        # booked_at + 48h, in Réunion (UTC+4).
        "Annulation : possible dans l'application jusqu'au mercredi 3 mars 2027 à 14h00",
    ):
        assert line in body
    # No price category on this booking: no tariff line.
    assert "Tarif" not in body

    # The HTML shows the QR code, an inline PNG of the countermark's payload (cid:).
    page = html(message)
    assert "mercredi 3 mars 2027 à 14h00" in page
    (image,) = [part for part in message.walk() if part.get_content_maintype() == "image"]
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    content_id = image["Content-ID"].strip().strip("<>")
    assert f'src="cid:{content_id}"' in page
    assert decoded(image.get_content()) == f"PASSCULTURE:v3;TOKEN:{stored.booking.countermark}"


async def test_a_last_minute_booking_says_non_annulable(
    booking_engine, mail_pipeline, venue, smtp_port
):
    booked_at = STARTS_AT - timedelta(hours=20)
    async with smtp_server(smtp_port) as mailbox:
        stored = await store(booking_engine, venue, booked_at=booked_at)
        assert stored.booking.cancellation_limit_at == booked_at
        await emit(booking_engine, "booking.created", created(stored))
        await eventually(lambda: len(mailbox.received) == 2)

    message = young_message(mailbox)
    assert "Annulation : non annulable" in text(message)
    assert "possible dans l'application" not in text(message)
    assert "<strong>non annulable</strong>" in html(message)


async def test_times_are_the_venues_across_a_change_of_daylight_saving_time(
    booking_engine, mail_pipeline, smtp_port
):
    """Paris moves to summer time on Sunday 28 March 2027 at 2:00: a showtime that evening
    (UTC+2) is cancellable until 48h before, on Friday, still in winter time (UTC+1)."""
    paris = await store_venue(
        booking_engine, name="Le Champo", booking_email="resa@champo.test", timezone="Europe/Paris"
    )
    async with smtp_server(smtp_port) as mailbox:
        stored = await store_booking(
            booking_engine,
            paris,
            young=YOUNG,
            starts_at=datetime(2027, 3, 28, 18, 30, tzinfo=UTC),
            booked_at=datetime(2027, 3, 25, 9, 0, tzinfo=UTC),
        )
        await emit(booking_engine, "booking.created", created(stored))
        await eventually(lambda: len(mailbox.received) == 2)

    body = text(young_message(mailbox))
    assert "Date : dimanche 28 mars 2027" in body
    assert "Heure : 20h30" in body
    assert "jusqu'au vendredi 26 mars 2027 à 19h30" in body
    assert "Heure : 20h30" in text(mailbox.to("resa@champo.test")[0])


async def test_a_redelivered_event_sends_the_same_message_id(
    booking_engine, mail_pipeline, venue, smtp_port
):
    """The same event twice in the outbox (two event ids: the inbox lets both through), as when
    a send succeeded but its event was redelivered: each email is sent twice, with one
    Message-ID, so a mail client shows it once. Another booking's differ."""
    async with smtp_server(smtp_port) as mailbox:
        stored = await store(booking_engine, venue)
        other = await store_booking(booking_engine, venue, starts_at=STARTS_AT)
        for event in (created(stored), created(stored), created(other)):
            await emit(booking_engine, "booking.created", event)
        await eventually(lambda: len(mailbox.received) == 6)

    ids = [message_id(message) for message in mailbox.to("lea.martin@example.com")]
    assert ids == [f"<confirmation.{stored.booking.id}@passculture.app>"] * 2
    to_venue = {message_id(message) for message in mailbox.to("resa@soleil.test")}
    assert to_venue == {
        f"<venue-booking.{stored.booking.id}@passculture.app>",
        f"<venue-booking.{other.booking.id}@passculture.app>",
    }


async def test_a_moved_showtime_gives_the_new_date_and_cancellation_limit(
    booking_engine, mail_pipeline, venue, smtp_port
):
    handled = consumed(mail_pipeline.queue, "booking.moved", "handled")
    moved_at = datetime(2027, 3, 5, 6, 0, tzinfo=UTC)
    new_start = datetime(2027, 3, 20, 15, 0, tzinfo=UTC)  # Saturday 20 March, 19:00 in Réunion
    async with smtp_server(smtp_port) as mailbox:
        stored = await store(booking_engine, venue, booked_at=datetime(2027, 3, 1, tzinfo=UTC))
        cancelled = await store_booking(
            booking_engine, venue, status="CANCELLED", starts_at=STARTS_AT
        )
        (moved,) = lifecycle.move(stored.booking, venue, new_start, moved_at, moved_at)
        await emit(booking_engine, "booking.moved", moved)
        # Cancelled since it moved: no email.
        previous = cancelled.booking.starts_at
        cancelled.booking.starts_at = new_start
        await emit(
            booking_engine,
            "booking.moved",
            events.moved(cancelled.booking, venue, previous, moved_at),
        )
        await eventually(
            lambda: consumed(mail_pipeline.queue, "booking.moved", "handled") >= handled + 2
        )

    (message,) = mailbox.to("lea.martin@example.com")
    assert message["Subject"] == (
        "Nouvel horaire pour Le Voyage dans la Lune : samedi 20 mars 2027 à 19h00"
    )
    started = int(new_start.timestamp())
    assert message_id(message) == f"<moved.{started}.{stored.booking.id}@passculture.app>"
    body = text(message)
    assert "Ancien horaire : samedi 13 mars 2027 à 20h30" in body
    assert "Nouvel horaire : samedi 20 mars 2027 à 19h00" in body
    # The new limit: moved_at + 48h, in Réunion.
    assert "jusqu'au dimanche 7 mars 2027 à 10h00" in body
    assert f"Contremarque : {stored.booking.countermark} (inchangée)" in body
    # The cancelled booking's young person is not told.
    assert len(mailbox.received) == 1
