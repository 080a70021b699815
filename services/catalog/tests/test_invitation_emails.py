"""The invitation email, received by a real SMTP server: InviteMember → outbox → relay →
RabbitMQ → the catalog worker's invitation emails consumer → SMTP."""

import asyncio
import contextlib
import email
import socket
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from catalog.__main__ import invitation_emails_consumer, mailer
from catalog.settings import CatalogSettings
from passculture.catalog.v1 import member_service_pb2 as pb
from pclib.db import make_pool
from pclib.outbox import OutboxRelay
from tests.support.catalog_helpers import invitations_sent, make_pro, running_catalog
from tests.support.pclib_fixtures import consumed, eventually, running_consumers


class Mailbox:
    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


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
def settings(unique_name, amqp_url) -> CatalogSettings:
    return CatalogSettings(
        amqp_url=amqp_url,
        events_exchange=f"catalog-{unique_name}",
        queue_prefix=f"catalog-{unique_name}",
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_timeout_seconds=2.0,
        invitation_url="https://pro.passculture.test/rejoindre/{token}",
    )


@pytest.fixture
async def pipeline(catalog_engine, catalog_db_url, broker, settings, verifier):
    """The catalog's server, its relay and the invitation emails consumer; yields the stubs and
    the consumer."""
    relay = OutboxRelay(
        catalog_engine, settings.amqp_url, settings.events_exchange, poll_interval=0.05
    )
    stop = asyncio.Event()
    mail = mailer(settings)
    async with (
        make_pool(catalog_db_url, 2) as pool,
        running_catalog(catalog_engine, verifier, settings) as (_, stubs),
    ):
        consumer = invitation_emails_consumer(pool, settings, mail)
        async with running_consumers(broker, [consumer]):
            relaying = asyncio.create_task(relay.run(stop))
            yield stubs, consumer
            stop.set()
            await asyncio.wait_for(relaying, 10)
    await mail.close()


async def test_the_invited_person_gets_the_link(pipeline, catalog_engine, issuer, settings):
    stubs, consumer = pipeline
    pro = await make_pro(stubs, issuer)
    async with smtp_server(settings.smtp_port) as mailbox:
        reply = await stubs.members.InviteMember(
            pb.InviteMemberRequest(offerer_id=pro.offerer_id, email="colette@cinema.test"),
            metadata=pro.metadata,
        )
        await eventually(lambda: mailbox.received)
        (message,) = mailbox.received
        assert message["To"] == "colette@cinema.test"
        assert message["Subject"] == "Invitation à rejoindre Cinéma du Centre sur pass Culture Pro"
        assert message["Message-ID"] == f"<invitation-{reply.invitation.id}@passculture.app>"
        body = message.get_content()
        assert "Paula Pro vous invite à rejoindre la structure « Cinéma du Centre »" in body
        assert "(heure de Paris), une seule fois." in body
        # The link's token is the one whose hash the catalog keeps (the relay has published
        # the event: the outbox is empty, the token is nowhere in the database).
        (link,) = [line for line in body.splitlines() if line.startswith("https://")]
        token = link.removeprefix("https://pro.passculture.test/rejoindre/")
        assert await invitations_sent(catalog_engine) == []
        accepted = await stubs.members.AcceptInvitation(
            pb.AcceptInvitationRequest(
                token=token, password="correct horse battery", first_name="C", last_name="C"
            )
        )
        assert accepted.offerer.id == pro.offerer_id
        assert consumed(consumer.queue, "invitation.created", "handled") == 1
