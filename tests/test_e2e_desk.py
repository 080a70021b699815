"""The counter's page ("Guichet", /desk) in a real browser: Playwright drives Debian's Chromium
(headless, no browser download) against every process of `make run` (conftest.booking_stack).

Online: sign in, type a countermark, check it, validate it, undo it; each counter error's French
sentence; QR payloads pasted, and one read by the camera (Chromium's fake camera playing the
ticket's QR code). Offline (the browser context's network cut): a signed ticket
validated and synced when the network is back, a revoked, a foreign, a not-today and a forged
ticket refused, a typed countermark that cannot be checked, and one ticket validated offline at
two counters reported as a conflict. A screenshot of each main state goes to the test's
tmp_path (printed at the end of each test: `pytest -s` shows where).
"""

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from e2e_helpers import (
    PASSWORD,
    eventually,
    ok,
    pay,
    publish_cinema,
    publish_showtime,
    sign_up_young,
    token,
    until_started,
)
from playwright.async_api import BrowserContext, Page, expect

from booking import qr_image
from tests.support.browser import chromium

pytestmark = pytest.mark.e2e

# Venues where a showtime in an hour is still today, whatever the time of the test run: Paris,
# else Guadeloupe (8 or 9 hours behind).
PLACES = (
    ("Europe/Paris", {"postal_code": "75005", "city": "Paris"}),
    (
        "America/Guadeloupe",
        {"postal_code": "97100", "city": "Basse-Terre", "latitude": 15.99, "longitude": -61.72},
    ),
)


def qr_video(payload: str, path: Path) -> Path:
    """A Y4M video (what Chromium's fake camera plays) of a QR code encoding `payload` as the
    emails draw it (booking.qr_image), dark modules on a light page: 640 by 480, one grey frame
    (Y plane; neutral chroma) repeated."""
    width, height = 640, 480
    matrix = [[module == qr_image.DARK for module in row] for row in qr_image.qr_code(payload)]
    scale = (height - 40) // len(matrix)
    left, top = (width - scale * len(matrix)) // 2, (height - scale * len(matrix)) // 2
    luma = bytearray([235]) * (width * height)
    for row, modules in enumerate(matrix):
        for column, dark in enumerate(modules):
            if dark:
                for y in range(top + row * scale, top + (row + 1) * scale):
                    start = y * width + left + column * scale
                    luma[start : start + scale] = bytes(16 for _ in range(scale))
    chroma = bytes([128]) * (width * height // 2)
    frame = b"FRAME\n" + bytes(luma) + chroma
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * 5)
    return path


@pytest.fixture
async def http(booking_stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=booking_stack.base_url, timeout=15) as client:
        yield client


@pytest.fixture
async def admin(http, booking_stack) -> dict:
    return await token(http, "/v1/pro/auth/token", **booking_stack.admin)


@dataclass
class Cinema:
    email: str
    pro: dict  # the pro's headers
    venue: dict
    timezone: str


@dataclass
class Shots:
    """Screenshots of the page's states, in the test's tmp_path."""

    folder: Path
    taken: list[Path]

    async def take(self, page: Page, name: str) -> None:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)


@pytest.fixture
def shots(tmp_path) -> AsyncIterator[Shots]:
    taken = Shots(tmp_path, [])
    yield taken
    print("screenshots:", *map(str, taken.taken), sep="\n  ")


def long_day_left() -> tuple[str, dict]:
    """A timezone (and a venue's address in it) where it is not yet 22:00."""
    now = datetime.now(UTC)
    for zone, address in PLACES:
        if now.astimezone(ZoneInfo(zone)).hour < 22:
            return zone, address
    raise AssertionError("unreachable: Paris and Guadeloupe are never both past 22:00")


async def open_cinema(http: httpx.AsyncClient, admin: dict, *, bank_account=False) -> Cinema:
    zone, address = long_day_left()
    email = f"guichet-{uuid.uuid4().hex[:8]}@cinema.example.com"
    booking_email = f"resa-{uuid.uuid4().hex[:8]}@cinema.example.com"
    pro, venue = await publish_cinema(http, admin, booking_email, email, **address)
    assert venue["timezone"] == zone
    if bank_account:
        iban = {"iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "AGRIFRPP"}
        body = iban | {"holder_name": "Cinéma du Panthéon"}
        await ok(http.put(f"/v1/pro/venues/{venue['id']}/bank-account", json=body, headers=pro))
    return Cinema(email, pro, venue, zone)


async def booked(
    http: httpx.AsyncClient, admin: dict, cinema: Cinema, title: str, in_hours: float
) -> dict:
    """A young person's booking of a new showtime of the cinema."""
    _, stock = await publish_showtime(http, cinema.pro, cinema.venue, title, in_hours, quantity=5)
    _, young = await sign_up_young(http, admin)
    body = {"stock_id": stock["id"], "quantity": 1}
    booking = await ok(http.post("/v1/bookings", json=body, headers=young), 201)
    return booking | {"young": young}


async def signed_in(context: BrowserContext, base_url: str, cinema: Cinema) -> Page:
    page = await context.new_page()
    await page.goto(f"{base_url}/desk/")
    await page.get_by_label("Adresse e-mail").fill(cinema.email)
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    # The ticket keys, the venues and their revoked tickets are loaded.
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page


async def check(page: Page, typed: str) -> None:
    await page.get_by_label("Contremarque").fill(typed)
    await page.get_by_role("button", name="Vérifier").click()


def status(page: Page):
    return page.locator("#result-status")


def hour(instant: str, zone: str) -> str:
    return datetime.fromisoformat(instant).astimezone(ZoneInfo(zone)).strftime("%H:%M")


async def booking_status(http: httpx.AsyncClient, booking: dict) -> dict:
    return await ok(http.get(f"/v1/bookings/{booking['id']}", headers=booking["young"]))


# --- online -----------------------------------------------------------------------------------


async def test_sign_in_check_validate_and_undo(booking_stack, http, admin, browser, shots):
    cinema = await open_cinema(http, admin)
    booking = await booked(http, admin, cinema, "Playtime", 1)
    context = await browser.new_context(locale="fr-FR")
    page = await context.new_page()
    await page.goto(f"{booking_stack.base_url}/desk/")
    await expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    await shots.take(page, "sign-in")
    await page.get_by_label("Adresse e-mail").fill(cinema.email)
    await page.get_by_label("Mot de passe").fill("not the password")
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("alert").first).to_have_text(
        "Adresse e-mail ou mot de passe incorrect."
    )
    await page.close()

    page = await signed_in(context, booking_stack.base_url, cinema)
    countermark = booking["countermark"]
    # Any case, spaces ignored.
    await check(page, f" {countermark[:3].lower()} {countermark[3:]} ")
    await expect(status(page)).to_have_text(
        "Réservation valide : vous pouvez valider la contremarque."
    )
    result = page.get_by_role("region", name="Résultat")
    for shown in (
        "Playtime",
        "Camille Jeune",
        "7,00 €",
        hour(booking["starts_at"], cinema.timezone),
    ):
        await expect(result).to_contain_text(shown)
    await expect(result).to_contain_text("Vérifiez la pièce d'identité de Camille Jeune")
    await shots.take(page, "checked")

    await page.get_by_role("button", name="Valider la contremarque").click()
    await expect(status(page)).to_contain_text("Contremarque validée le")
    assert (await booking_status(http, booking))["status"] == "USED"
    await shots.take(page, "validated")

    await page.get_by_role("button", name="Annuler la validation").click()
    await expect(status(page)).to_have_text(
        "Validation annulée : la réservation est de nouveau valable."
    )
    assert (await booking_status(http, booking))["status"] == "CONFIRMED"
    await shots.take(page, "undone")
    await context.close()


async def test_each_counter_error_has_its_sentence(booking_stack, http, admin, browser, shots):
    cinema = await open_cinema(http, admin, bank_account=True)
    # Reimbursed: used before its showtime starts, then paid by a batch.
    paid = await booked(http, admin, cinema, "Jeanne", 15 / 3600)
    await ok(http.post(f"/v1/pro/countermarks/{paid['countermark']}/use", headers=cinema.pro))
    later = await booked(http, admin, cinema, "Le Mépris", 5 * 24)
    used = await booked(http, admin, cinema, "Pierrot le fou", 1)
    await ok(http.post(f"/v1/pro/countermarks/{used['countermark']}/use", headers=cinema.pro))
    cancelled = await booked(http, admin, cinema, "Alphaville", 5 * 24)
    path = f"/v1/bookings/{cancelled['id']}/cancel"
    await ok(http.post(path, headers=cancelled["young"]))
    await until_started(paid)
    await pay(http, admin)

    async def reimbursed() -> bool:
        return (await booking_status(http, paid))["status"] == "REIMBURSED"

    await eventually(reimbursed)

    context = await browser.new_context(locale="fr-FR")
    page = await signed_in(context, booking_stack.base_url, cinema)
    limit = later["cancellation_limit_at"]
    sentences = {
        "unknown": ("ZZZZZ2", "Contremarque inconnue : aucune réservation de vos lieux"),
        "not-yet-validatable": (
            later["countermark"],
            "Pas encore validable : le jeune peut encore annuler sa réservation."
            " Validable à partir du",
        ),
        "already-used": (used["countermark"], "Contremarque déjà validée le"),
        "cancelled": (cancelled["countermark"], "Réservation annulée : cette contremarque"),
        "reimbursed": (paid["countermark"], "Réservation déjà remboursée au lieu"),
    }
    for name, (typed, sentence) in sentences.items():
        await check(page, typed)
        await expect(status(page)).to_contain_text(sentence)
        await shots.take(page, name)
    await expect(status(page)).to_be_visible()
    await check(page, later["countermark"])
    await expect(status(page)).to_contain_text(hour(limit, cinema.timezone))
    # A used booking can be un-validated from its error.
    await check(page, used["countermark"])
    await page.get_by_role("button", name="Annuler la validation").click()
    await expect(status(page)).to_contain_text("Validation annulée")

    # Too many wrong countermarks: another account, throttled after 10.
    stranger = await open_cinema(http, admin)
    page = await signed_in(context, booking_stack.base_url, stranger)
    for _ in range(10):
        await check(page, "ZZZZZ2")
        await expect(status(page)).to_contain_text("Contremarque inconnue")
        await page.get_by_label("Contremarque").fill("")
    await check(page, "ZZZZZ2")
    await expect(status(page)).to_contain_text("Trop de contremarques erronées : patientez")
    await expect(status(page)).to_contain_text(" s avant de réessayer.")
    await shots.take(page, "too-many-attempts")
    await context.close()


async def test_a_qr_payload_pasted(booking_stack, http, admin, browser, shots):
    cinema = await open_cinema(http, admin)
    booking = await booked(http, admin, cinema, "Tati", 1)
    context = await browser.new_context(locale="fr-FR")
    page = await signed_in(context, booking_stack.base_url, cinema)
    for payload in (booking["signed_qr_payload"], booking["qr_payload"]):
        await page.get_by_label("Contremarque").fill("")
        await check(page, payload)
        await expect(status(page)).to_have_text(
            "Réservation valide : vous pouvez valider la contremarque."
        )
        await expect(page.get_by_role("region", name="Résultat")).to_contain_text("Tati")
    await shots.take(page, "pasted-qr-payload")
    await context.close()


# --- offline ----------------------------------------------------------------------------------


def forged(payload: str) -> str:
    """The ticket with another quantity, its signature kept."""
    header, claims, signature = payload.removeprefix("PASSCULTURE:v4;").split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    changed = base64.urlsafe_b64encode(json.dumps(decoded | {"q": 2}).encode()).rstrip(b"=")
    return f"PASSCULTURE:v4;{header}.{changed.decode()}.{signature}"


async def test_offline_tickets_are_checked_in_the_browser_and_synced(
    booking_stack, http, admin, browser, shots
):
    cinema = await open_cinema(http, admin)
    valid = await booked(http, admin, cinema, "Valide", 1)
    revoked = await booked(http, admin, cinema, "Déjà vu", 1)
    await ok(http.post(f"/v1/pro/countermarks/{revoked['countermark']}/use", headers=cinema.pro))
    not_today = await booked(http, admin, cinema, "Demain", 3 * 24)
    rival = await open_cinema(http, admin)
    foreign = await booked(http, admin, rival, "Ailleurs", 1)

    context = await browser.new_context(locale="fr-FR")
    page = await signed_in(context, booking_stack.base_url, cinema)
    await context.set_offline(True)
    await expect(page.locator("#network")).to_have_text("Hors ligne")

    refusals = {
        "offline-typed": (
            valid["countermark"],
            "Hors ligne, une contremarque saisie ne peut pas être vérifiée",
        ),
        "offline-forged": (
            forged(valid["signed_qr_payload"]),
            "Billet refusé : sa signature n'est pas valide",
        ),
        "offline-revoked": (
            revoked["signed_qr_payload"],
            "Billet refusé : cette réservation a été annulée ou déjà validée.",
        ),
        "offline-foreign": (
            foreign["signed_qr_payload"],
            "Contremarque inconnue : aucune réservation de vos lieux",
        ),
        "offline-not-today": (not_today["signed_qr_payload"], "pas pour aujourd'hui"),
    }
    for name, (typed, sentence) in refusals.items():
        await page.get_by_label("Contremarque").fill("")
        await check(page, typed)
        await expect(status(page)).to_contain_text(sentence)
        await shots.take(page, name)

    await page.get_by_label("Contremarque").fill("")
    await check(page, valid["signed_qr_payload"])
    await expect(status(page)).to_contain_text("Billet valide (vérifié hors ligne)")
    await shots.take(page, "offline-checked")
    before = datetime.now(UTC)
    await page.get_by_role("button", name="Valider la contremarque").click()
    await expect(status(page)).to_contain_text("validée hors ligne")
    await expect(page.locator("#offline-summary")).to_have_text(
        "1 validation(s) hors ligne en attente de synchronisation."
    )
    await shots.take(page, "offline-validated")
    assert (await booking_status(http, valid))["status"] == "CONFIRMED"
    # The same ticket again on this counter.
    await check(page, valid["signed_qr_payload"])
    await expect(status(page)).to_contain_text("Billet déjà validé hors ligne sur ce poste")

    await context.set_offline(False)
    await expect(page.locator("#offline-summary")).to_have_text(
        "Aucune validation hors ligne en attente."
    )
    await shots.take(page, "synced")
    synced = await booking_status(http, valid)
    assert synced["status"] == "USED"
    used_at = datetime.fromisoformat(synced["used_at"])
    assert before - timedelta(seconds=5) < used_at < datetime.now(UTC)
    await context.close()


async def test_a_ticket_validated_offline_at_two_counters_is_a_conflict(
    booking_stack, http, admin, browser, shots
):
    cinema = await open_cinema(http, admin)
    booking = await booked(http, admin, cinema, "Deux guichets", 1)
    counters = [await browser.new_context(locale="fr-FR") for _ in range(2)]
    pages = [await signed_in(context, booking_stack.base_url, cinema) for context in counters]
    for context, page in zip(counters, pages, strict=True):
        await context.set_offline(True)
        await expect(page.locator("#network")).to_have_text("Hors ligne")
        await check(page, booking["signed_qr_payload"])
        await page.get_by_role("button", name="Valider la contremarque").click()
        await expect(status(page)).to_contain_text("validée hors ligne")

    first, second = pages
    await counters[0].set_offline(False)
    await expect(first.locator("#offline-summary")).to_have_text(
        "Aucune validation hors ligne en attente."
    )
    used_at = (await booking_status(http, booking))["used_at"]
    await counters[1].set_offline(False)
    conflict = second.locator("#conflicts li")
    await expect(conflict).to_contain_text(
        f"Contremarque {booking['countermark']} validée hors ligne le"
    )
    await expect(conflict).to_contain_text("Contremarque déjà validée le")
    await expect(conflict).to_contain_text(hour(used_at, cinema.timezone))
    await shots.take(second, "conflict")
    for context in counters:
        await context.close()


async def test_a_ticket_scanned_with_the_camera(booking_stack, http, admin, shots, tmp_path):
    """Chromium's fake camera shows the ticket's QR code (no BarcodeDetector on Linux: the
    vendored jsQR reads it)."""
    cinema = await open_cinema(http, admin)
    booking = await booked(http, admin, cinema, "Jour de fête", 1)
    video = qr_video(booking["signed_qr_payload"], tmp_path / "ticket.y4m")
    camera = (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    async with chromium(camera) as browser:
        context = await browser.new_context(locale="fr-FR", permissions=["camera"])
        page = await signed_in(context, booking_stack.base_url, cinema)
        await page.get_by_role("button", name="Scanner un QR code").click()
        await expect(status(page)).to_have_text(
            "Réservation valide : vous pouvez valider la contremarque."
        )
        await expect(page.get_by_role("region", name="Résultat")).to_contain_text("Jour de fête")
        await expect(page.get_by_label("Contremarque")).to_have_value(booking["signed_qr_payload"])
        await shots.take(page, "scanned")
