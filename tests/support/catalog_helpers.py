"""Builders of catalog data for tests (this service's and the cross-service ones)."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.app import build_server
from catalog.domain.identifiers import luhn_valid
from catalog.settings import CatalogSettings
from passculture.catalog.v1 import (
    account_service_pb2,
    account_service_pb2_grpc,
    api_key_service_pb2_grpc,
    events_pb2,
    member_service_pb2,
    member_service_pb2_grpc,
    offer_service_pb2,
    offer_service_pb2_grpc,
    provider_service_pb2_grpc,
    reservation_service_pb2_grpc,
    resources_pb2,
    search_service_pb2_grpc,
    stock_service_pb2_grpc,
    venue_service_pb2,
    venue_service_pb2_grpc,
)
from pclib.auth import TokenIssuer, TokenVerifier, bearer_metadata
from pclib.db import make_pool, make_session_factory
from pclib.grpc_client import error_info
from pclib.timestamps import timestamp

PARIS = (48.8566, 2.3522)


@contextlib.asynccontextmanager
async def running_catalog(
    engine: AsyncEngine, verifier: TokenVerifier, settings: CatalogSettings | None = None
) -> AsyncIterator[tuple[str, Stubs]]:
    """The catalog's gRPC server on a free port: (its address, stubs on a channel to it)."""
    async with make_pool(engine.url.render_as_string(hide_password=False), 5) as pool:
        server = build_server(
            make_session_factory(engine), pool, verifier, settings or CatalogSettings()
        )
        port = await server.start(0, host="127.0.0.1")
        address = f"127.0.0.1:{port}"
        async with grpc.aio.insecure_channel(address) as channel:
            yield address, Stubs.on(channel)
        await server.stop(0)


@dataclass
class Stubs:
    accounts: account_service_pb2_grpc.AccountServiceAsyncStub
    venues: venue_service_pb2_grpc.VenueServiceAsyncStub
    offers: offer_service_pb2_grpc.OfferServiceAsyncStub
    search: search_service_pb2_grpc.SearchServiceAsyncStub
    reservations: reservation_service_pb2_grpc.ReservationServiceAsyncStub
    stocks: stock_service_pb2_grpc.StockServiceAsyncStub
    providers: provider_service_pb2_grpc.ProviderServiceAsyncStub
    members: member_service_pb2_grpc.MemberServiceAsyncStub
    api_keys: api_key_service_pb2_grpc.ApiKeyServiceAsyncStub

    @classmethod
    def on(cls, channel: grpc.aio.Channel) -> Stubs:
        return cls(
            accounts=account_service_pb2_grpc.AccountServiceStub(channel),
            venues=venue_service_pb2_grpc.VenueServiceStub(channel),
            offers=offer_service_pb2_grpc.OfferServiceStub(channel),
            search=search_service_pb2_grpc.SearchServiceStub(channel),
            reservations=reservation_service_pb2_grpc.ReservationServiceStub(channel),
            stocks=stock_service_pb2_grpc.StockServiceStub(channel),
            providers=provider_service_pb2_grpc.ProviderServiceStub(channel),
            members=member_service_pb2_grpc.MemberServiceStub(channel),
            api_keys=api_key_service_pb2_grpc.ApiKeyServiceStub(channel),
        )


DIGITS = "0123456789"


def luhn_complete(prefix: str) -> str:
    """Appends the digit that makes `prefix` pass the Luhn check."""
    return next(prefix + d for d in DIGITS if luhn_valid(prefix + d))


def new_siren() -> str:
    return luhn_complete(f"{uuid.uuid4().int % 10**8:08d}")


def siret_of(siren: str, establishment: int = 1) -> str:
    return luhn_complete(f"{siren}{establishment:04d}")


@dataclass
class Pro:
    user_id: str
    offerer_id: str
    siren: str
    metadata: tuple[tuple[str, str], ...]


def auth(issuer: TokenIssuer, subject: str, role: str) -> tuple[tuple[str, str], ...]:
    return bearer_metadata(issuer.issue(subject, role))


async def make_pro(catalog: Stubs, issuer: TokenIssuer, *, validated: bool = True) -> Pro:
    siren = new_siren()
    created = await catalog.accounts.CreateProAccount(
        account_service_pb2.CreateProAccountRequest(
            email=f"pro-{uuid.uuid4().hex[:8]}@cinema.test",
            password="correct horse battery",
            first_name="Paula",
            last_name="Pro",
            offerer_siren=siren,
            offerer_name="Cinéma du Centre",
        )
    )
    if validated:
        await catalog.accounts.ValidateOfferer(
            account_service_pb2.ValidateOffererRequest(offerer_id=created.offerer.id),
            metadata=auth(issuer, str(uuid.uuid4()), "admin"),
        )
    return Pro(created.user.id, created.offerer.id, siren, auth(issuer, created.user.id, "pro"))


async def make_venue(
    catalog: Stubs,
    pro: Pro,
    *,
    at: tuple[float, float] = PARIS,
    postal_code: str = "75001",
    **fields: Any,
) -> resources_pb2.Venue:
    request = venue_service_pb2.CreateVenueRequest(
        offerer_id=pro.offerer_id,
        name=fields.pop("name", "Le Grand Rex"),
        siret=fields.pop("siret", siret_of(pro.siren)),
        address="1 boulevard Poissonnière",
        postal_code=postal_code,
        city="Paris",
        latitude=at[0],
        longitude=at[1],
        booking_email="resa@cinema.test",
        **fields,
    )
    return (await catalog.venues.CreateVenue(request, metadata=pro.metadata)).venue


async def make_offer(catalog: Stubs, pro: Pro, venue_id: str, **fields: Any) -> resources_pb2.Offer:
    request = offer_service_pb2.CreateOfferRequest(
        venue_id=venue_id, title=fields.pop("title", "La Dernière Séance"), **fields
    )
    return (await catalog.offers.CreateOffer(request, metadata=pro.metadata)).offer


async def make_stock(
    catalog: Stubs,
    pro: Pro,
    offer_id: str,
    *,
    in_days: float = 3,
    price_cents: int | None = None,
    **fields: Any,
) -> resources_pb2.Stock:
    """A stock of the category `price_category_id`, or of the bare price (800 by default)."""
    if price_cents is None and not fields.get("price_category_id"):
        price_cents = 800
    request = offer_service_pb2.CreateStockRequest(
        offer_id=offer_id,
        starts_at=timestamp(datetime.now(UTC) + timedelta(days=in_days)),
        price_cents=price_cents,
        **fields,
    )
    return (await catalog.offers.CreateStock(request, metadata=pro.metadata)).stock


async def invitations_sent(engine: AsyncEngine) -> list[events_pb2.InvitationCreated]:
    """The invitation.created events in the catalog's outbox (no relay runs in service tests)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT payload FROM outbox WHERE routing_key = 'invitation.created'"
                " ORDER BY created_at, id"
            )
        )
        return [events_pb2.InvitationCreated.FromString(row.payload) for row in rows]


async def invite(
    catalog: Stubs, engine: AsyncEngine, pro: Pro, email: str
) -> tuple[member_service_pb2.Invitation, str]:
    """`pro` invites `email` to its offerer: (the invitation, the emailed token)."""
    reply = await catalog.members.InviteMember(
        member_service_pb2.InviteMemberRequest(offerer_id=pro.offerer_id, email=email),
        metadata=pro.metadata,
    )
    (event,) = [
        event
        for event in await invitations_sent(engine)
        if event.invitation_id == reply.invitation.id
    ]
    return reply.invitation, event.token


def reason_of(error: grpc.aio.AioRpcError) -> str:
    """The google.rpc.ErrorInfo reason carried by a failed call."""
    return error_info(error).reason


async def refusal(call: Awaitable[object]) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    """The status code, ErrorInfo reason and metadata of the refusal the call answers."""
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    info = error_info(failure.value)
    return failure.value.code(), info.reason, info.metadata


def numbered(query: str) -> tuple[str, list[str]]:
    """A psycopg query with $1, $2… for its %(name)s placeholders (what a PREPARE takes), and
    the names in their order."""
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", query)))
    return re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m[1]) + 1}", query), names
