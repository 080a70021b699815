"""The emails' words, rendered without a server: French wording in the venue's timezone, the
tariff line, autoescaped HTML, deterministic Message-IDs."""

import email
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import compat32, default

import zxingcpp

from booking import messages, models, qr_image
from booking.domain import rules, wording
from pclib.mail import SMTP_POLICY
from tests.support.qr_png import decoded, png_pixels
from tests.support.smtp_sink import html, message_id, text

SENDER = "pass Culture <ne-pas-repondre@passculture.app>"
STARTS_AT = datetime(2027, 3, 13, 16, 30, tzinfo=UTC)
BOOKED_AT = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)


def context(**booking_fields) -> messages.Context:
    fields = {
        "id": uuid.uuid4(),
        "countermark": "ABC234",
        "quantity": 1,
        "amount_cents": 550,
        "offer_title": "Le Voyage dans la Lune",
        "features": [],
        "starts_at": STARTS_AT,
        "booked_at": BOOKED_AT,
        "cancellation_limit_at": rules.cancellation_limit(STARTS_AT, BOOKED_AT),
        "status": "CONFIRMED",
        **booking_fields,
    }
    return messages.Context(
        models.Booking(**fields),
        models.Beneficiary(first_name="Léa", last_name="Martin", email="lea@example.com"),
        models.Venue(
            name="Ciné Soleil",
            booking_email="resa@soleil.test",
            timezone="Indian/Reunion",
            address="12 rue du Port",
            postal_code="97400",
            city="Saint-Denis",
        ),
        SENDER,
    )


def parsed(message) -> EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=default)


def test_french_wording_in_the_venues_timezone():
    assert wording.local_moment(STARTS_AT, "Indian/Reunion") == "samedi 13 mars 2027 à 20h30"
    assert wording.local_moment(STARTS_AT, "Europe/Paris") == "samedi 13 mars 2027 à 17h30"
    # Paris in summer time from Sunday 28 March 2027, 2:00 (UTC+2).
    summer = datetime(2027, 3, 28, 18, 5, tzinfo=UTC)
    assert wording.local_moment(summer, "Europe/Paris") == "dimanche 28 mars 2027 à 20h05"
    assert (wording.euros(0), wording.euros(705), wording.euros(30000)) == (
        "0,00 €",
        "7,05 €",
        "300,00 €",
    )
    assert wording.places(1) == "1 place"
    assert wording.places(2) == "2 places"
    assert wording.postal_address(" 1 rue\nde la Paix ", "75002", "Paris") == (
        "1 rue de la Paix, 75002 Paris"
    )
    assert wording.postal_address("", "", "Paris") == "Paris"


def test_no_tariff_line_without_a_price_category_and_one_with_it():
    plain = parsed(messages.confirmation_email(context()))
    assert "Tarif" not in text(plain)
    with_tariff = context()
    # What a booking made at a price category records (price categories, issue 13 part 1).
    with_tariff.booking.price_category_label = "Tarif réduit"
    message = parsed(messages.confirmation_email(with_tariff))
    assert "Tarif : Tarif réduit" in text(message)
    assert "Tarif réduit" in html(message)


def test_a_3d_showtimes_version_says_3d_to_the_young_person_and_the_venue():
    booked = context(features=["VO", "3D"])
    for message in (messages.confirmation_email(booked), messages.new_booking_email(booked)):
        assert "Version : VO, 3D" in text(parsed(message))
        assert ">VO, 3D</td>" in html(parsed(message))
    assert "Version : non précisée" in text(parsed(messages.confirmation_email(context())))


def test_html_is_autoescaped_and_the_text_is_not():
    message = parsed(
        messages.confirmation_email(context(offer_title='<script>alert("x")</script> & Co'))
    )
    assert "<script>" not in html(message)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html(message)
    assert 'Film : <script>alert("x")</script> & Co' in text(message)


def test_message_ids_are_per_booking_and_kind():
    first = context()
    again = messages.Context(first.booking, first.beneficiary, first.venue, SENDER)
    booking_id = first.booking.id
    assert message_id(parsed(messages.confirmation_email(first))) == (
        f"<confirmation.{booking_id}@passculture.app>"
    )
    assert message_id(parsed(messages.confirmation_email(again))) == message_id(
        parsed(messages.confirmation_email(first))
    )
    assert message_id(parsed(messages.reminder_email(first))) == (
        f"<reminder.{booking_id}@passculture.app>"
    )
    assert message_id(parsed(messages.confirmation_email(context()))) != message_id(
        parsed(messages.confirmation_email(first))
    )
    # Each move is news: its own Message-ID.
    moved = messages.moved_email(first, STARTS_AT, BOOKED_AT)
    assert message_id(parsed(moved)) == (
        f"<moved.{int(STARTS_AT.timestamp())}.{booking_id}@passculture.app>"
    )


def test_the_cancellation_limit_or_non_annulable():
    cancellable = text(parsed(messages.confirmation_email(context())))
    # Booked 1 March 14:00 in Réunion: cancellable until 48h later.
    assert "jusqu'au mercredi 3 mars 2027 à 14h00 (heure du cinéma)" in cancellable
    last_minute = datetime(2027, 3, 13, 6, 0, tzinfo=UTC)
    late = context(
        booked_at=last_minute,
        cancellation_limit_at=rules.cancellation_limit(STARTS_AT, last_minute),
    )
    assert "Annulation : non annulable" in text(parsed(messages.confirmation_email(late)))


def test_the_qr_png_is_the_code_a_reader_reads_back():
    payload = "PASSCULTURE:v3;TOKEN:ABC234"
    ours, width = qr_image.png(qr_image.qr_code(payload))
    assert decoded(ours) == payload
    # Its pixels are zxing-cpp's own drawing of the code (5 px modules, a 4-module quiet zone).
    drawn = memoryview(
        zxingcpp.create_barcode(
            payload, zxingcpp.BarcodeFormat.QRCode, options="ecLevel=M"
        ).to_image(scale=qr_image.SCALE, add_quiet_zones=True)
    )
    assert png_pixels(ours) == (
        width,
        [drawn.tobytes()[row * width : (row + 1) * width] for row in range(drawn.shape[0])],
    )
    # Negative control: another countermark's code reads as that one.
    other, _ = qr_image.png(qr_image.qr_code("PASSCULTURE:v3;TOKEN:ABC235"))
    assert decoded(other) == "PASSCULTURE:v3;TOKEN:ABC235"
    assert png_pixels(other) != png_pixels(ours)


EVERY_EMAIL = (
    messages.new_booking_email,
    messages.confirmation_email,
    messages.cancelled_by_young_email,
    messages.cancelled_by_cinema_email,
    messages.reminder_email,
    lambda ctx: messages.cancellation_email(ctx, by_cinema=True),
    lambda ctx: messages.moved_email(ctx, STARTS_AT, BOOKED_AT),
)


def test_every_email_is_sent_as_compat32_writes_it():
    """The Mailer's policy (headers that fit on a line written as they are) changes no byte."""
    for email_of in EVERY_EMAIL:
        built = email_of(context(offer_title="Le Voyage dans la Lune " * 3))
        assert built.as_bytes(policy=SMTP_POLICY) == built.as_bytes(
            policy=compat32.clone(linesep="\r\n")
        )


def test_templates_are_compiled_once_not_per_email(monkeypatch):
    """Every email renders with the loader gone: nothing is read or compiled at send time."""
    assert set(messages.TEMPLATES) == set(messages.KINDS)

    def no_loading(*args):
        raise AssertionError(f"template loaded at send time: {args[1:]}")

    monkeypatch.setattr(messages.ENVIRONMENT.loader, "get_source", no_loading)
    for email_of in EVERY_EMAIL:
        assert email_of(context()).as_bytes()


def test_the_emails_qr_code_carries_a_ticketing_systems_barcode():
    assert models.Booking(countermark="ABC234").qr_code_text == "PASSCULTURE:v3;TOKEN:ABC234"
    ticketed = models.Booking(countermark="ABC234", external_barcodes=["141414000001", "14141"])
    assert ticketed.qr_code_text == "141414000001"
