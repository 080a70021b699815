"""The booking service's emails, rendered from Jinja2 templates (templates/emails/, autoescaped
HTML with a plain-text alternative), in French, with times in the venue's timezone.

Each email has a deterministic Message-ID, `<kind.booking-id@sender's domain>` (a moved
showtime's names the new start too: each move is news), so an email sent again for a redelivered
event is the same email to a mail client. Templates are compiled once, at import: this runs for
every booking.
"""

from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from booking import models, qr_image
from booking.domain import rules, wording
from pclib.mail import InlineImage, address, html_message, message_id

ENVIRONMENT = Environment(
    loader=PackageLoader("booking", "templates/emails"),
    autoescape=select_autoescape(("html",)),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    # The templates ship with the code: never look at their files again (a stat per template,
    # per extends and per include, on every email).
    auto_reload=False,
)
KINDS = (
    "venue-booking",
    "venue-cancellation",
    "confirmation",
    "cancellation",
    "cancelled-by-cinema",
    "moved",
    "reminder",
)
# Every template compiled now, partials included (they stay in the environment's cache).
COMPILED = [ENVIRONMENT.get_template(name) for name in ENVIRONMENT.list_templates()]
TEMPLATES: dict[str, tuple[Template, Template]] = {
    kind: (ENVIRONMENT.get_template(f"{kind}.txt"), ENVIRONMENT.get_template(f"{kind}.html"))
    for kind in KINDS
}


@dataclass(frozen=True)
class Context:
    booking: models.Booking
    beneficiary: models.Beneficiary
    venue: models.Venue
    # The From header (settings.smtp_sender).
    sender: str


def tariff_label(booking: models.Booking) -> str | None:
    """The price category the booking was made at; None for a booking that records none."""
    return booking.price_category_label or None


def film(context: Context) -> str:
    return wording.one_line(context.booking.offer_title)


def when(context: Context) -> str:
    """E.g. "samedi 13 mars 2027 à 20h30", in the venue's timezone."""
    return wording.local_moment(context.booking.starts_at, context.venue.timezone)


def _values(context: Context, cancellable_from: datetime) -> dict[str, Any]:
    """What the templates show of the booking (`b`)."""
    booking, venue = context.booking, context.venue
    limit = booking.cancellation_limit_at
    return {
        "film": film(context),
        "venue_name": venue.name,
        "venue_address": wording.postal_address(venue.address, venue.postal_code, venue.city),
        "date": wording.local_date(booking.starts_at, venue.timezone),
        "hour": wording.local_hour(booking.starts_at, venue.timezone),
        "features": ", ".join(booking.features) or "non précisée",
        "tariff": tariff_label(booking),
        "places": wording.places(booking.quantity),
        "unit_price": wording.euros(booking.amount_cents),
        "total": wording.euros(booking.total_cents),
        "countermark": booking.countermark,
        "tickets": [{"barcode": barcode, "seat": seat} for barcode, seat in booking.tickets],
        "cancellable_until": wording.local_moment(limit, venue.timezone)
        if rules.cancellable_after(limit, cancellable_from)
        else None,
        "young": context.beneficiary,
        "qr_cid": _qr_cid(context),
        "qr_width": 0,
    }


def _qr_cid(context: Context) -> str:
    return message_id("qr", str(context.booking.id), context.sender).strip("<>")


def qr_code(context: Context) -> tuple[InlineImage, int]:
    """The booking's QR code (the v3 payload of its countermark, which every counter reads, or
    its ticketing system's barcode) as a PNG, and its width in px."""
    image, width = qr_image.png(qr_image.qr_code(context.booking.qr_code_text))
    return InlineImage(_qr_cid(context), image), width


def _render(
    kind: str,
    context: Context,
    *,
    to: str,
    subject: str,
    reply_to: str | None = None,
    with_qr: bool = False,
    cancellable_from: datetime | None = None,
    key: str | None = None,
    **extra: Any,
) -> Message:
    values = _values(context, cancellable_from or context.booking.booked_at)
    images: tuple[InlineImage, ...] = ()
    if with_qr:
        image, values["qr_width"] = qr_code(context)
        images = (image,)
    text_template, html_template = TEMPLATES[kind]
    variables = {"b": values, **extra}
    return html_message(
        sender=context.sender,
        to=to,
        subject=subject,
        text=text_template.render(variables),
        html=html_template.render(variables),
        message_id=message_id(kind, key or str(context.booking.id), context.sender),
        reply_to=reply_to,
        images=images,
    )


def young_address(context: Context) -> str:
    young = context.beneficiary
    return address(f"{young.first_name} {young.last_name}", young.email)


# --- to the venue -----------------------------------------------------------------------------


def new_booking_email(context: Context) -> Message:
    return _render(
        "venue-booking",
        context,
        to=context.venue.booking_email,
        subject=f"Nouvelle réservation pass Culture : {film(context)}, {when(context)}",
        reply_to=young_address(context),
    )


def cancellation_email(context: Context, *, by_cinema: bool) -> Message:
    return _render(
        "venue-cancellation",
        context,
        to=context.venue.booking_email,
        subject=f"Réservation annulée : {film(context)}, {when(context)}",
        reply_to=young_address(context),
        who="par votre établissement" if by_cinema else "par le bénéficiaire",
    )


# --- to the young person ----------------------------------------------------------------------


def confirmation_email(context: Context) -> Message:
    return _render(
        "confirmation",
        context,
        to=young_address(context),
        subject=f"Votre réservation est confirmée : {film(context)}, {when(context)}",
        reply_to=context.venue.booking_email or None,
        with_qr=True,
    )


def cancelled_by_young_email(context: Context) -> Message:
    return _render(
        "cancellation",
        context,
        to=young_address(context),
        subject=f"Votre réservation pour {film(context)} est annulée",
    )


def cancelled_by_cinema_email(context: Context) -> Message:
    return _render(
        "cancelled-by-cinema",
        context,
        to=young_address(context),
        subject=f"Votre réservation pour {film(context)} a été annulée par le cinéma",
        reply_to=context.venue.booking_email or None,
    )


def moved_email(context: Context, previous_starts_at: datetime, moved_at: datetime) -> Message:
    """`context.booking` at its new start and cancellation limit."""
    starts_at = context.booking.starts_at
    return _render(
        "moved",
        context,
        to=young_address(context),
        subject=f"Nouvel horaire pour {film(context)} : {when(context)}",
        reply_to=context.venue.booking_email or None,
        cancellable_from=moved_at,
        key=f"{int(starts_at.timestamp())}.{context.booking.id}",
        previous=wording.local_moment(previous_starts_at, context.venue.timezone),
    )


def reminder_email(context: Context) -> Message:
    return _render(
        "reminder",
        context,
        to=young_address(context),
        subject=f"C'est demain : {film(context)}, {when(context)}",
        reply_to=context.venue.booking_email or None,
        with_qr=True,
    )
