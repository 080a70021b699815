"""pclib.mail against a real SMTP server (aiosmtpd): one connection for many messages, a new one
when the server dropped it, headers in any script, and HTML with its text and inline images."""

import asyncio
import datetime
import email
import ipaddress
import socket
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


class Mailbox:
    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: SMTPServer, session, envelope):
        self.received.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """An SMTP server on a fixed port that can stop and start again (a new Controller each time:
    one cannot start twice); with a TLS context, it requires STARTTLS."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.mailbox = Mailbox()
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


@pytest.fixture
async def server():
    smtp = Server()
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
