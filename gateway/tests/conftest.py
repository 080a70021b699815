"""Fixtures for the gateway: a real catalog gRPC server in-process, and the app over ASGI.

The catalog's database is migrated once per session (tests make their own pros, SIRENs and
titles, so they never see each other's data); each test gets its own catalog server and app.
"""

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from catalog.__main__ import MIGRATIONS, create_admin
from catalog.app import build_server
from catalog.settings import CatalogSettings
from gateway.app import create_app
from gateway.settings import GatewaySettings
from pclib.auth import TokenIssuer, TokenVerifier
from pclib.db import make_engine, make_pool, make_session_factory
from pclib.grpc_server import GrpcServer
from tests.support.catalog_helpers import new_siren, siret_of
from tests.support.pclib_fixtures import migrated_session_database

PASSWORD = "correct horse battery"
ADMIN_EMAIL = "admin@passculture.example.com"
PARIS = (48.8566, 2.3522)


@pytest.fixture(scope="session")
def catalog_db_url(pg_server_url: str) -> Iterator[str]:
    with migrated_session_database(pg_server_url, "gateway_catalog", MIGRATIONS) as url:
        yield url


@pytest.fixture(scope="session")
async def catalog_engine(catalog_db_url):
    engine = make_engine(catalog_db_url, pool_size=20)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def admin_credentials(catalog_db_url) -> dict[str, str]:
    await create_admin(
        CatalogSettings(
            database_url=catalog_db_url, admin_email=ADMIN_EMAIL, admin_password=PASSWORD
        )
    )
    return {"email": ADMIN_EMAIL, "password": PASSWORD}


@dataclass
class CatalogServer:
    server: GrpcServer
    port: int
    stopped: bool = False

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            await self.server.stop(0)


@pytest.fixture
async def catalog_server(catalog_engine, jwt_keys) -> AsyncIterator[CatalogServer]:
    url = catalog_engine.url.render_as_string(hide_password=False)
    async with make_pool(url, 5) as pool:
        server = build_server(
            make_session_factory(catalog_engine),
            pool,
            TokenVerifier.from_file(str(jwt_keys[1])),
            CatalogSettings(),
        )
        running = CatalogServer(server, await server.start(0, host="127.0.0.1"))
        yield running
        await running.stop()


@pytest.fixture
def gateway_settings(catalog_server, jwt_keys) -> GatewaySettings:
    return GatewaySettings(
        upstreams=("catalog",),
        catalog_addr=f"127.0.0.1:{catalog_server.port}",
        jwt_private_key_file=str(jwt_keys[0]),
        jwt_public_key_file=str(jwt_keys[1]),
        readiness_timeout_seconds=1.0,
    )


@asynccontextmanager
async def gateway_client(
    settings: GatewaySettings, *, raise_app_exceptions: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of a gateway app made with these settings, its lifespan running."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http


@pytest.fixture
def client_with():
    """Makes a client of a gateway with other settings: `async with client_with(settings)`."""
    return gateway_client


@pytest.fixture
async def client(gateway_settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(gateway_settings) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Pro:
    user_id: str
    offerer_id: str
    siren: str
    email: str
    headers: dict[str, str]


class Api:
    """Builds data through the gateway's HTTP API, asserting each step worked."""

    def __init__(self, http: httpx.AsyncClient, issuer: TokenIssuer) -> None:
        self.http = http
        self.issuer = issuer
        self.admin_headers = bearer(issuer.issue(str(uuid.uuid4()), "admin"))

    async def sign_up(self, *, validated: bool = True) -> Pro:
        siren = new_siren()
        email = f"pro-{uuid.uuid4().hex[:8]}@cinema.example.com"
        answer = await self.http.post(
            "/v1/pro/accounts",
            json={
                "email": email,
                "password": PASSWORD,
                "first_name": "Paula",
                "last_name": "Pro",
                "offerer": {"siren": siren, "name": "Cinéma du Centre"},
            },
        )
        assert answer.status_code == 201, answer.text
        account = answer.json()
        if validated:
            path = f"/v1/admin/offerers/{account['offerer']['id']}/validate"
            validation = await self.http.post(path, headers=self.admin_headers)
            assert validation.status_code == 200, validation.text
        # A token minted directly: logging in (tested on its own) would hash the password again.
        user_id = account["user"]["id"]
        headers = bearer(self.issuer.issue(user_id, "pro"))
        return Pro(user_id, account["offerer"]["id"], siren, email, headers)

    @staticmethod
    def in_days(days: float) -> str:
        """An RFC 3339 time `days` from now."""
        return (datetime.now(UTC) + timedelta(days=days)).isoformat()

    @staticmethod
    def venue_body(pro: Pro, *, at=PARIS, **fields) -> dict:
        return {
            "offerer_id": pro.offerer_id,
            "name": "Le Grand Rex",
            "siret": siret_of(pro.siren),
            "address": "1 boulevard Poissonnière",
            "postal_code": "75001",
            "city": "Paris",
            "latitude": at[0],
            "longitude": at[1],
            "booking_email": "resa@cinema.example.com",
        } | fields

    async def create_venue(self, pro: Pro, *, at=PARIS, **fields) -> dict:
        body = self.venue_body(pro, at=at, **fields)
        answer = await self.http.post("/v1/pro/venues", json=body, headers=pro.headers)
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def create_offer(self, pro: Pro, venue_id: str, **fields) -> dict:
        body = {"title": "La Dernière Séance"} | fields
        path = f"/v1/pro/venues/{venue_id}/offers"
        answer = await self.http.post(path, json=body, headers=pro.headers)
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def create_stock(self, pro: Pro, offer_id: str, **fields) -> dict:
        body = {"starts_at": self.in_days(3), "price_cents": 800} | fields
        path = f"/v1/pro/offers/{offer_id}/stocks"
        answer = await self.http.post(path, json=body, headers=pro.headers)
        assert answer.status_code == 201, answer.text
        return answer.json()


@pytest.fixture
def api(client, issuer) -> Api:
    return Api(client, issuer)


@pytest.fixture
async def pro(api) -> Pro:
    return await api.sign_up()


@pytest.fixture
def problem():
    """Checks an answer is a problem+json of this status and code; returns its body."""

    def check(answer: httpx.Response, status: int, code: str) -> dict:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert body["status"] == status
        assert body["code"] == code
        assert {"type", "title", "detail"} <= body.keys()
        return body

    return check


# --- The booking service, in-process beside the catalog ----------------------------------------
# booking.* is imported inside the fixtures: the tests above need only the catalog.

# Wrong countermarks a pro may type before 429 (low, so that the throttling test is quick).
COUNTER_MAX_FAILURES = 3


@pytest.fixture(scope="session")
def booking_db_url(pg_server_url: str) -> Iterator[str]:
    from booking.__main__ import MIGRATIONS as BOOKING_MIGRATIONS

    with migrated_session_database(pg_server_url, "gateway_booking", BOOKING_MIGRATIONS) as url:
        yield url


@pytest.fixture(scope="session")
async def booking_engine(booking_db_url):
    engine = make_engine(booking_db_url, pool_size=20)
    yield engine
    await engine.dispose()


@pytest.fixture
def booking_settings(booking_db_url, catalog_server, jwt_keys, ticket_keys):
    from booking.settings import BookingSettings

    return BookingSettings(
        database_url=booking_db_url,
        catalog_addr=f"127.0.0.1:{catalog_server.port}",
        # Every server shares the test's event loop: on a busy machine a call can wait its turn
        # for seconds (a deadline here is not what these tests check).
        catalog_timeout_seconds=10.0,
        jwt_private_key_file=str(jwt_keys[0]),
        jwt_public_key_file=str(jwt_keys[1]),
        ticket_private_key_file=str(ticket_keys[0]),
        ticket_public_key_file=str(ticket_keys[1]),
        counter_max_failures=COUNTER_MAX_FAILURES,
    )


@pytest.fixture
async def booking_server(booking_engine, verifier, booking_settings) -> AsyncIterator[str]:
    """The booking gRPC server on a free port, calling this test's catalog: its address."""
    from tests.support.booking_helpers import running_booking

    async with running_booking(booking_engine, verifier, booking_settings) as (address, _):
        yield address


@pytest.fixture
def full_gateway_settings(gateway_settings, booking_server) -> GatewaySettings:
    return gateway_settings.model_copy(
        update={"upstreams": ("catalog", "booking"), "booking_addr": booking_server}
    )


@pytest.fixture
async def booking_client(full_gateway_settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(full_gateway_settings) as http:
        yield http


@dataclass
class Young:
    id: str
    email: str
    headers: dict[str, str]


@dataclass
class Cinema:
    pro: Pro
    venue: dict


@dataclass
class Showtime:
    cinema: Cinema
    offer: dict
    stock: dict

    @property
    def stock_id(self) -> str:
        return self.stock["id"]


class BookingApi(Api):
    """The Api, plus young people, their credit and bookings (the gateway with booking)."""

    def young_body(self, *, age: int = 18, **fields) -> dict:
        from tests.support.booking_helpers import birth_date_for_age

        return {
            "email": f"young-{uuid.uuid4().hex[:8]}@example.com",
            "password": PASSWORD,
            "first_name": "Camille",
            "last_name": "Jeune",
            "birth_date": birth_date_for_age(age).isoformat(),
            "phone_number": "+33600000000",
            "postal_code": "75011",
        } | fields

    async def sign_up_young(self, *, age: int = 18, credit: bool = True) -> Young:
        answer = await self.http.post("/v1/beneficiaries", json=self.young_body(age=age))
        assert answer.status_code == 201, answer.text
        young = answer.json()
        if credit:
            await self.grant_credit(young["id"])
        # A token minted directly: logging in (tested on its own) would hash the password again.
        headers = bearer(self.issuer.issue(young["id"], "beneficiary"))
        return Young(young["id"], young["email"], headers)

    async def grant_credit(self, beneficiary_id: str) -> dict:
        path = f"/v1/admin/beneficiaries/{beneficiary_id}/credit"
        answer = await self.http.post(path, headers=self.admin_headers)
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def cinema(self, *, validated: bool = True, **venue_fields) -> Cinema:
        pro = await self.sign_up(validated=validated)
        return Cinema(pro, await self.create_venue(pro, **venue_fields))

    async def another_venue(self, cinema: Cinema, name: str = "Salle 2") -> Cinema:
        """The same pro's second venue (its own SIRET)."""
        siret = siret_of(cinema.pro.siren, 2)
        return Cinema(cinema.pro, await self.create_venue(cinema.pro, siret=siret, name=name))

    async def showtime(
        self, cinema: Cinema, *, days: float = 5, is_duo: bool = False, **stock_fields
    ) -> Showtime:
        """A new offer (film) of the cinema with one stock starting in `days` days."""
        title = f"Le Mépris {uuid.uuid4().hex[:6]}"
        offer = await self.create_offer(cinema.pro, cinema.venue["id"], title=title, is_duo=is_duo)
        fields = {"starts_at": self.in_days(days), "features": ["VO"]} | stock_fields
        stock = await self.create_stock(cinema.pro, offer["id"], **fields)
        return Showtime(cinema, offer, stock)

    async def book(self, young: Young, showtime: Showtime, quantity: int = 1) -> dict:
        body = {"stock_id": showtime.stock_id, "quantity": quantity}
        answer = await self.http.post("/v1/bookings", json=body, headers=young.headers)
        assert answer.status_code == 201, answer.text
        return answer.json()


@pytest.fixture
def bapi(booking_client, issuer) -> BookingApi:
    return BookingApi(booking_client, issuer)


@pytest.fixture
async def cinema(bapi) -> Cinema:
    return await bapi.cinema()


@pytest.fixture
async def young(bapi) -> Young:
    return await bapi.sign_up_young()


@pytest.fixture
def booking_sql(booking_engine):
    """Runs a statement on the booking service's database (to reach states the API cannot,
    e.g. a past showtime or a reimbursed booking)."""

    async def run(statement: str, **params) -> None:
        async with booking_engine.begin() as conn:
            await conn.execute(text(statement), params)

    return run


# --- The payments service, in-process beside the catalog ---------------------------------------
# A database per test: a batch pays every line it finds, whichever test stored it.


@pytest.fixture
def payments_db_url(migrated_database) -> str:
    from payments.__main__ import MIGRATIONS as PAYMENTS_MIGRATIONS

    return migrated_database("gateway_payments", PAYMENTS_MIGRATIONS)


@pytest.fixture
async def payments_engine(payments_db_url):
    engine = make_engine(payments_db_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def payments_server(payments_engine, payments_db_url, verifier, catalog_server, jwt_keys):
    """The payments gRPC server on a free port, calling this test's catalog: its address."""
    from payments.settings import PaymentsSettings
    from tests.support.payments_helpers import running_payments

    settings = PaymentsSettings(
        database_url=payments_db_url,
        catalog_addr=f"127.0.0.1:{catalog_server.port}",
        jwt_public_key_file=str(jwt_keys[1]),
    )
    async with running_payments(payments_engine, verifier, settings) as (address, _):
        yield address


@pytest.fixture
def money_gateway_settings(gateway_settings, payments_server) -> GatewaySettings:
    return gateway_settings.model_copy(
        update={"upstreams": ("catalog", "payments"), "payments_addr": payments_server}
    )


@pytest.fixture
async def money_client(money_gateway_settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(money_gateway_settings) as http:
        yield http


@pytest.fixture
def mapi(money_client, issuer) -> Api:
    return Api(money_client, issuer)
