"""pclib.mail against a real SMTP server (aiosmtpd), offering PIPELINING or not: one connection
for many messages, a new one when the server dropped it, headers in any script, and HTML with
its text and inline images; a command group pipelined to a server that waits for it whole."""

import asyncio
import datetime
import email
import ipaddress
import smtplib
import ssl
from email.mime.text import MIMEText
from email.policy import compat32
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pclib.mail import (
    SMTP_POLICY,
    InlineImage,
    Mailer,
    address,
    html_message,
    message_id,
    text_message,
    text_part,
)
from tests.support.smtp_sink import free_port, with_pipelining


class Mailbox:
    """Keeps what it receives; refuses the `refused` recipients; with `pipelining`, offers
    PIPELINING (aiosmtpd reads commands in order either way)."""

    def __init__(self, pipelining: bool) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.connections = 0
        self.pipelining = pipelining
        self.refused = {"nobody@example.com"}

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return with_pipelining(responses) if self.pipelining else responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session, envelope):
        self.received.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


class Server:
    """An SMTP server on a fixed port that can stop and start again (a new Controller each time:
    one cannot start twice); with a TLS context, it requires STARTTLS."""

    def __init__(self, tls: ssl.SSLContext | None = None, pipelining: bool = True) -> None:
        self.mailbox = Mailbox(pipelining)
        self.port = free_port()
        self._tls = {"tls_context": tls, "require_starttls": True} if tls else {}
        self._controller: Controller | None = None

    async def start(self) -> None:
        self._controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, **self._tls
        )
        await asyncio.to_thread(self._controller.start)

    async def stop(self) -> None:
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)
            self._controller = None


@pytest.fixture(params=["pipelining", "lockstep"])
async def server(request):
    smtp = Server(pipelining=request.param == "pipelining")
    await smtp.start()
    yield smtp
    await smtp.stop()


def message(number: int):
    return text_message(
        sender="pass Culture <ne-pas-repondre@passculture.app>",
        to=address("Léa Martin", "lea@example.com"),
        subject=f"Réservation n°{number}\nconfirmée",
        body="Bonjour Léa,\n",
        reply_to="resa@cinema.test",
    )


async def test_messages_share_one_connection(server):
    mailbox = server.mailbox
    mailer = Mailer("127.0.0.1", server.port, timeout=2)
    for number in range(3):
        await mailer.send(message(number))
    await mailer.close()
    assert mailbox.connections == 1
    first = mailbox.received[0]
    assert first["Subject"] == "Réservation n°0 confirmée"
    assert first["To"].addresses[0].display_name == "Léa Martin"
    assert first["To"].addresses[0].addr_spec == "lea@example.com"
    assert first["From"].addresses[0].addr_spec == "ne-pas-repondre@passculture.app"
    assert first["Reply-To"] == "resa@cinema.test"
    assert first.get_content() == "Bonjour Léa,\n"


async def test_a_dropped_connection_is_opened_again(server):
    mailbox = server.mailbox
    mailer = Mailer("127.0.0.1", server.port, timeout=2)
    await mailer.send(message(1))
    # The server restarts: the open connection is dead.
    await server.stop()
    await server.start()
    await mailer.send(message(2))
    await mailer.close()
    assert [m["Subject"] for m in mailbox.received] == [
        "Réservation n°1 confirmée",
        "Réservation n°2 confirmée",
    ]
    assert mailbox.connections == 2


async def test_a_line_starting_with_a_dot_arrives_as_written(server):
    """The dot that ends a message: a line of the message that starts with one is sent with a
    second (negative control: without it the pipelined message ends at the lone dot)."""
    body = "Seance de 20h30\n.\n..deux points\n.un point\n"
    sent = MIMEText(body, "plain", "us-ascii")  # 7bit: the lines are sent as they are
    sent["From"], sent["To"], sent["Subject"] = "a@passculture.app", "lea@example.com", "points"
    mailer = Mailer("127.0.0.1", server.port, timeout=2)
    await mailer.send(sent)
    await mailer.close()
    (received,) = server.mailbox.received
    assert received.get_content().replace("\r\n", "\n") == body


async def test_a_refused_recipient_raises_and_the_next_message_goes(server):
    refused = text_message(
        sender="a@passculture.app", to="nobody@example.com", subject="x", body=""
    )
    mailer = Mailer("127.0.0.1", server.port, timeout=2)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await mailer.send(refused)
    await mailer.send(message(1))
    await mailer.close()
    assert [m["Subject"] for m in server.mailbox.received] == ["Réservation n°1 confirmée"]


async def test_commands_are_pipelined_to_a_server_that_offers_it():
    """A server that answers MAIL, RCPT and DATA only once it has all three (RFC 2920 allows
    it): the message goes (negative control: sent in lockstep, MAIL waits for its answer until
    the timeout)."""
    received: list[bytes] = []

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 strict ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-strict\r\n250 PIPELINING\r\n")
            elif verb == b"MAIL":
                group = [line]
                while group[-1] and not group[-1].upper().startswith(b"DATA"):
                    group.append(await reader.readline())
                if not group[-1]:
                    break  # the client hung up
                writer.write(b"250 OK\r\n" * (len(group) - 1) + b"354 go on\r\n")
                received.append(await reader.readuntil(b"\r\n.\r\n"))
                writer.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
            else:
                writer.write(b"502 not here\r\n")
            await writer.drain()
        writer.close()

    strict = await asyncio.start_server(session, "127.0.0.1", 0)
    try:
        mailer = Mailer("127.0.0.1", strict.sockets[0].getsockname()[1], timeout=1)
        await mailer.send(message(1))
        await mailer.send(message(2))
        await mailer.close()
    finally:
        strict.close()
        await strict.wait_closed()
    assert [m["Subject"] for m in map(email.message_from_bytes, received)] == [
        "=?utf-8?b?UsOpc2VydmF0aW9uIG7CsDEgY29uZmlybcOpZQ==?=",
        "=?utf-8?b?UsOpc2VydmF0aW9uIG7CsDIgY29uZmlybcOpZQ==?=",
    ]


async def test_an_unreachable_server_raises(server):
    await server.stop()
    mailer = Mailer("127.0.0.1", server.port, timeout=2)
    with pytest.raises(ConnectionError):
        await mailer.send(message(1))
    await server.start()
    await mailer.send(message(2))
    await mailer.close()


def self_signed(directory) -> tuple[ssl.SSLContext, str]:
    """A server TLS context for 127.0.0.1 with a self-signed certificate, and that certificate's
    PEM file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp.pem", directory / "smtp.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, str(cert_file)


async def test_starttls_when_the_server_offers_it_with_its_certificate_verified(
    tmp_path, monkeypatch
):
    """The server requires STARTTLS (negative control: without it, MAIL is refused with 530)."""
    context, certificate = self_signed(tmp_path)
    smtp = Server(tls=context)
    await smtp.start()
    try:
        untrusting = Mailer("127.0.0.1", smtp.port, timeout=2)
        with pytest.raises(ssl.SSLCertVerificationError):
            await untrusting.send(message(1))
        await untrusting.close()
        # Once its certificate is trusted (OpenSSL's SSL_CERT_FILE), the message goes.
        monkeypatch.setenv("SSL_CERT_FILE", certificate)
        trusting = Mailer("127.0.0.1", smtp.port, timeout=2)
        await trusting.send(message(2))
        await trusting.close()
    finally:
        await smtp.stop()
    assert [m["Subject"] for m in smtp.mailbox.received] == ["Réservation n°2 confirmée"]


@pytest.mark.parametrize(
    "subject",
    [
        "Nouvelle réservation pass Culture : Le Voyage dans la Lune, samedi 13 mars 2027 à 20h30",
        "日本語の件名テスト" * 6,
        "plain ascii",
        "é",
    ],
)
def test_subjects_in_any_script_come_back_as_written(subject):
    sent = text_message(sender="a@b.test", to="c@d.test", subject=subject, body="")
    raw = sent.as_bytes()
    assert max(len(line) for line in raw.split(b"\n")) <= 78
    assert email.message_from_bytes(raw, policy=default_policy)["Subject"] == subject


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("Léa Martin", "Nouvelle réservation : Le Voyage dans la Lune, samedi 13 mars à 20h30"),
        ("Martin, Léa", "plain ascii, on one line"),
        ("Jean-Baptiste de La Fontaine-Saint-Exupéry " * 3, "a long plain ascii subject " * 4),
    ],
)
def test_messages_are_written_to_the_server_as_compat32_writes_them(name, subject):
    """SMTP_POLICY writes the headers that fit on a line as they are, without folding them: the
    bytes are compat32's all the same, short and long headers alike."""
    sent = text_message(
        sender="pass Culture <ne-pas-repondre@passculture.app>",
        to=address(name, "lea@example.com"),
        subject=subject,
        body="Bonjour,\n",
        reply_to=address(name, "lea@example.com"),
    )
    assert sent.as_bytes(policy=SMTP_POLICY) == sent.as_bytes(policy=compat32.clone(linesep="\r\n"))


@pytest.mark.parametrize(
    "text",
    ["", "Bonjour Léa,\n", "ascii only", "é" * 500 + "\n" + "x" * 2000, "🎬 séance\r\nà 20h30\n"],
)
@pytest.mark.parametrize("subtype", ["plain", "html"])
def test_a_text_part_is_the_one_mimetext_makes(text, subtype):
    expected = MIMEText(text, subtype, "utf-8")
    assert text_part(text, subtype).as_bytes(policy=SMTP_POLICY) == expected.as_bytes(
        policy=SMTP_POLICY
    )


async def test_an_html_message_with_its_text_and_inline_image_arrives_whole(server):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    sent = html_message(
        sender="pass Culture <ne-pas-repondre@passculture.app>",
        to=address("Léa Martin", "lea@example.com"),
        subject="Votre réservation est confirmée",
        text="Bonjour Léa,\n",
        # A line that looks like a boundary: base64 keeps it from being one.
        html='<p>Bonjour Léa,</p>\n--==_passculture_alternative_==\n<img src="cid:qr.1@x">',
        message_id=message_id("confirmation", "1", "ne-pas-repondre@passculture.app"),
        reply_to="resa@cinema.test",
        images=(InlineImage("qr.1@x", png),),
    )
    mailer = Mailer("127.0.0.1", server.port, timeout=5)
    await mailer.send(sent)
    await mailer.close()

    (received,) = server.mailbox.received
    assert received["Message-ID"].strip() == "<confirmation.1@passculture.app>"
    assert received["Reply-To"] == "resa@cinema.test"
    assert [part.get_content_type() for part in received.walk()] == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
    ]
    assert received.get_body(("plain",)).get_content() == "Bonjour Léa,\n"
    html = received.get_body(("html",)).get_content()
    assert html.endswith('--==_passculture_alternative_==\n<img src="cid:qr.1@x">')
    (image,) = [part for part in received.walk() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<qr.1@x>"
    assert image.get_content() == png


def test_a_message_id_names_the_kind_the_key_and_the_senders_domain():
    assert message_id("reminder", "b-1", "pass Culture <x@passculture.app>") == (
        "<reminder.b-1@passculture.app>"
    )
    assert message_id("reminder", "b-1", "nobody") == "<reminder.b-1@localhost>"
