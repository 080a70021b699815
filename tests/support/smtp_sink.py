"""A real SMTP server in the test process (aiosmtpd) that keeps what it receives, and helpers
to read the emails. It offers PIPELINING, as the usual MTAs do (aiosmtpd handles pipelined
commands but does not say so): the suite's mailers then pipeline, as they do in production."""

import asyncio
import contextlib
import email
import socket
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller


def with_pipelining(responses: list[str]) -> list[str]:
    """aiosmtpd's answer to EHLO, offering PIPELINING (RFC 2920) too."""
    return [*responses[:-1], "250-PIPELINING", responses[-1]]


class Sink:
    """An aiosmtpd handler that takes every message and keeps none (the bench's mail server:
    `python -m aiosmtpd -c tests.support.smtp_sink.Sink`)."""

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return with_pipelining(responses)


class Mailbox(Sink):
    """An aiosmtpd handler that keeps what it receives: (recipients, message)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.received if address in rcpt]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def smtp_server(port: int) -> AsyncIterator[Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield mailbox
    finally:
        await asyncio.to_thread(controller.stop)


def text(message: EmailMessage) -> str:
    """The plain-text alternative."""
    part = message.get_body(("plain",))
    assert part is not None, "no text/plain part"
    return str(part.get_content())


def html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None, "no text/html part"
    return str(part.get_content())


def message_id(message: EmailMessage) -> str:
    """The Message-ID (a long one is folded onto its own line: CFWS, not part of it)."""
    return str(message["Message-ID"]).strip()
