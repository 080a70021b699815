"""Email over SMTP: one connection kept open per process (reconnected when the server dropped
it), and messages built with the email package's MIME classes (compat32): its newer
EmailMessage API parses every header it is given, several times the cost of the message.

Addresses and subjects may hold any character: they are encoded (RFC 2047) here.
"""

import asyncio
import base64
import contextlib
import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email import base64mime
from email.message import Message
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.policy import Compat32
from email.utils import formataddr, getaddresses, make_msgid, parseaddr
from functools import lru_cache

from opentelemetry import trace

from pclib import tracing

log = logging.getLogger(__name__)
# No OpenTelemetry instrumentation exists for smtplib: a CLIENT span by hand.
_tracer = trace.get_tracer(__name__)

# Bytes per encoded word: "Subject: " and one word (base64 of 39 bytes) stay within a line.
WORD_BYTES = 39
# What a dropped connection looks like (the server's idle timeout, a restart): send again once
# on a new connection. A message sent twice is possible then, as with any at-least-once sender.
DROPPED = (smtplib.SMTPServerDisconnected, ConnectionError)
# Fixed multipart boundaries: every part is base64 (utf-8 text, images), whose alphabet has no
# "_", so no line of a part can be one. The generator would otherwise draw a random one and
# compile a regular expression to check it, a third of a message's cost.
ALTERNATIVE_BOUNDARY = "==_passculture_alternative_=="
RELATED_BOUNDARY = "==_passculture_related_=="
# A line of the message that starts with a dot gets a second one (RFC 5321 4.5.2).
_LEADING_DOT = re.compile(rb"(?m)^\.")


class _AsciiHeaders(Compat32):
    """compat32 for the messages built here, whose header values are all ASCII already (RFC 2047
    words from encoded_words, addresses from address()): a value that fits on its line is written
    as it is, the bytes compat32 writes, without email.header.Header parsing and folding it (a
    quarter of a message's cost). Longer values are folded by compat32."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
            and "\r" not in value
            and "\n" not in value
        ):
            return f"{name}: {value}{self.linesep}".encode()
        return super().fold_binary(name, value)


# How messages are written to the SMTP server: CRLF line ends, as the protocol has them.
SMTP_POLICY = _AsciiHeaders(linesep="\r\n")


def address(name: str, email: str) -> str:
    """A header's address with a display name in any script."""
    return formataddr((" ".join(name.split()), email), charset="utf-8")


def text_message(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    reply_to: str | None = None,
    message_id: str | None = None,
) -> Message:
    """A plain-text email. `sender`, `to` and `reply_to` are header values (`address(...)`, or a
    bare email); a line break in the subject is folded away (a header is one line)."""
    message = text_part(body, "plain")
    message["From"] = _encoded(sender)
    message["To"] = _encoded(to)
    message["Subject"] = encoded_words(" ".join(subject.split()))
    message["Message-ID"] = message_id or make_msgid(
        domain=_email_of(sender).rpartition("@")[2] or None
    )
    if reply_to:
        message["Reply-To"] = _encoded(reply_to)
    return message


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML shows as `<img src="cid:{content_id}">`."""

    content_id: str
    data: bytes
    subtype: str = "png"


def html_message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    reply_to: str | None = None,
    images: tuple[InlineImage, ...] = (),
) -> Message:
    """An HTML email with its plain-text alternative (multipart/alternative), the HTML's inline
    images beside it (multipart/related). `message_id` is given (e.g. `message_id(...)`): the
    same email sent twice has the same Message-ID, and a mail client shows it once."""
    message = MIMEMultipart("alternative", boundary=ALTERNATIVE_BOUNDARY)
    message.attach(text_part(text, "plain"))
    html_part = text_part(html, "html")
    if images:
        related = MIMEMultipart("related", boundary=RELATED_BOUNDARY)
        related.attach(html_part)
        for image in images:
            part = MIMEImage(image.data, image.subtype)
            part["Content-ID"] = f"<{image.content_id}>"
            part["Content-Disposition"] = "inline"
            related.attach(part)
        message.attach(related)
    else:
        message.attach(html_part)
    message["From"] = _encoded(sender)
    message["To"] = _encoded(to)
    message["Subject"] = encoded_words(" ".join(subject.split()))
    message["Message-ID"] = message_id
    if reply_to:
        message["Reply-To"] = _encoded(reply_to)
    return message


def text_part(text: str, subtype: str) -> Message:
    """The part MIMEText(text, subtype, "utf-8") makes (utf-8 in base64), without its charset
    machinery: setting the charset parses the Content-Type it has just written, three times
    the cost of encoding the text."""
    part = Message()
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["MIME-Version"] = "1.0"
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(base64mime.body_encode(text.encode()))
    return part


def message_id(kind: str, key: str, sender: str) -> str:
    """A deterministic Message-ID, `<kind.key@domain of the sender>`."""
    _, at, domain = _email_of(sender).rpartition("@")
    return f"<{kind}.{key}@{domain if at and domain else 'localhost'}>"


def encoded_words(text: str) -> str:
    """A header value in RFC 2047 encoded words, each short enough that the generator folds
    between them (email.header.Header does this at ~0.3 ms a subject: most of a message's
    cost). ASCII is left as it is."""
    if text.isascii():
        return text
    words, chunk = [], b""
    for char in text:
        encoded = char.encode()
        if len(chunk) + len(encoded) > WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return " ".join(f"=?utf-8?b?{base64.b64encode(word).decode()}?=" for word in words)


# Header values parsed once each: the sender is the same on every message, and a venue's
# address on each of its bookings (parsing one costs as much as writing a message's headers).


@lru_cache(maxsize=1024)
def _email_of(value: str) -> str:
    return parseaddr(value)[1]


@lru_cache(maxsize=1024)
def _emails_of(value: str) -> tuple[str, ...]:
    return tuple(email for _, email in getaddresses([value]) if email)


@lru_cache(maxsize=1024)
def _encoded(value: str) -> str:
    name, email = parseaddr(value)
    return address(name, email) if name else email


class Mailer:
    """Sends messages on one SMTP connection, opened on first use, from a thread of its own with
    the standard library's smtplib: about half the CPU of aiosmtplib on the event loop, hand-off
    included (0.19 against 0.34 ms per 6 kB email to a local aiosmtpd). One conversation at a
    time, each run to its end even when its caller is cancelled: the connection is never left
    mid-conversation. STARTTLS when the server offers it, its certificate verified. Not usable
    after `close`."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._host, self._port, self._timeout = host, port, timeout
        self._smtp: smtplib.SMTP | None = None  # used on the thread only
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp")
        self._span_attributes: dict[str, str | int] = {"server.address": host, "server.port": port}

    async def send(self, message: Message) -> None:
        sender = _email_of(message["From"])
        recipients = [email for value in message.get_all("To", []) for email in _emails_of(value)]
        content = message.as_bytes(policy=SMTP_POLICY)
        if not tracing.is_active():
            await self._on_thread(self._send, sender, recipients, content)
            return
        with _tracer.start_as_current_span(
            "smtp send", kind=trace.SpanKind.CLIENT, attributes=self._span_attributes
        ):
            await self._on_thread(self._send, sender, recipients, content)

    async def close(self) -> None:
        await self._on_thread(self._quit)
        self._thread.shutdown()

    async def _on_thread(self, function: Callable[..., None], *args: object) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    # On the thread.

    def _send(self, sender: str, recipients: list[str], content: bytes) -> None:
        try:
            try:
                _sendmail(self._connected(), sender, recipients, content)
            except DROPPED as error:
                log.info("SMTP connection dropped (%r): sending again on a new one", error)
                self._drop()
                _sendmail(self._connected(), sender, recipients, content)
        except BaseException:
            # Refused, timed out, dropped twice: the conversation's state is unknown.
            self._drop()
            raise

    def _connected(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            try:
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def _quit(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._drop()


def _sendmail(smtp: smtplib.SMTP, sender: str, recipients: list[str], content: bytes) -> None:
    """smtplib's sendmail; to a server that offers PIPELINING (RFC 2920: every usual MTA does,
    smtplib does not use it), MAIL, RCPT and DATA in one write and the message in a second: two
    round trips instead of four. Raises as sendmail does; a recipient refused among others is
    skipped, as sendmail skips it."""
    if not smtp.has_extn("pipelining"):
        smtp.sendmail(sender, recipients, content)
        return
    size = f" SIZE={len(content)}" if smtp.has_extn("size") else ""
    commands = [
        f"MAIL FROM:{smtplib.quoteaddr(sender)}{size}",
        *(f"RCPT TO:{smtplib.quoteaddr(recipient)}" for recipient in recipients),
        "DATA",
    ]
    smtp.send("".join(f"{command}\r\n" for command in commands))
    mail, *rcpts, data = [smtp.getreply() for _ in commands]
    if mail[0] != 250:
        raise smtplib.SMTPSenderRefused(*mail, sender)
    refused = {
        to: reply for to, reply in zip(recipients, rcpts, strict=True) if reply[0] not in (250, 251)
    }
    if len(refused) == len(recipients):
        raise smtplib.SMTPRecipientsRefused(refused)
    if data[0] != 354:
        raise smtplib.SMTPDataError(*data)
    body = _LEADING_DOT.sub(b"..", content)
    smtp.send(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    reply = smtp.getreply()
    if reply[0] != 250:
        raise smtplib.SMTPDataError(*reply)
