"""The invitation email, sent by the catalog's worker from its own `invitation.created` events.

A consumer, not a step of the invitation: a slow SMTP server never slows InviteMember. A failed
send raises and the event comes back later; a sent event's id goes to the inbox
(pclib.inbox.EffectConsumer) and the Message-ID is the invitation's, so that a redelivery shows
no second email.
"""

from email.message import Message
from typing import Any

from psycopg import AsyncConnection

from passculture.catalog.v1 import events_pb2
from pclib import france
from pclib.inbox import EffectHandlers, EventMeta
from pclib.mail import Mailer, text_message
from pclib.timestamps import to_datetime

# Pros read the limit in metropolitan France's time (an offerer has no timezone of its own).
PARIS = "Europe/Paris"


def link(url_template: str, token: str) -> str:
    return url_template.format(token=token)


def invitation_email(
    event: events_pb2.InvitationCreated, sender: str, url_template: str
) -> Message:
    offerer = " ".join(event.offerer.name.split())
    until = france.local_moment(to_datetime(event.expires_at), PARIS)
    inviter = event.invited_by or "Un membre"
    body = [
        "Bonjour,",
        "",
        f"{inviter} vous invite à rejoindre la structure « {offerer} » sur pass Culture Pro.",
        "",
        "Pour accepter l'invitation, ouvrez ce lien :",
        link(url_template, event.token),
        "",
        f"Le lien est valable jusqu'au {until} (heure de Paris), une seule fois.",
        "Si vous n'attendiez pas cette invitation, ignorez ce message.",
        "",
        "L'équipe pass Culture",
    ]
    domain = sender.rpartition("@")[2].rstrip(">") or "passculture.app"
    return text_message(
        sender=sender,
        to=event.email,
        subject=f"Invitation à rejoindre {offerer} sur pass Culture Pro",
        body="\n".join(body) + "\n",
        message_id=f"<invitation-{event.invitation_id}@{domain}>",
    )


def handlers(mailer: Mailer, sender: str, url_template: str) -> EffectHandlers:
    """The invitation emails consumer's handlers, by routing key of the catalog's events."""

    async def on_invitation_created(
        conn: AsyncConnection[Any], event: events_pb2.InvitationCreated, meta: EventMeta
    ) -> None:
        await mailer.send(invitation_email(event, sender, url_template))

    return {"invitation.created": (events_pb2.InvitationCreated, on_invitation_created)}
