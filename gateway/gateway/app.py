"""The FastAPI application: routes, problem handlers, metrics, and the upstream channels."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway import desk, problem_docs
from gateway.errors import install_problem_handlers
from gateway.metrics import HttpMetrics, MetricsMiddleware
from gateway.openapi import PROBLEM_RESPONSES, document_problems
from gateway.routes import (
    admin,
    admin_payments,
    beneficiaries,
    bookings,
    counter,
    ops,
    pro_accounts,
    pro_allocine,
    pro_api_keys,
    pro_bookings,
    pro_members,
    pro_money,
    pro_notifications,
    pro_offers,
    pro_revenue,
    pro_ticketing,
    pro_venues,
    provider,
    search,
    tickets,
)
from gateway.settings import GatewaySettings
from gateway.upstreams import UPSTREAMS, Channels
from pclib.auth import TokenIssuer, TokenVerifier

ROUTERS = (
    pro_accounts.router,
    pro_members.router,
    pro_api_keys.router,
    pro_venues.router,
    pro_offers.router,
    search.router,
    beneficiaries.router,
    bookings.router,
    counter.router,
    tickets.router,
    pro_bookings.router,
    provider.router,
    pro_allocine.router,
    pro_ticketing.router,
    pro_money.router,
    pro_notifications.router,
    pro_revenue.router,
    admin.router,
    admin_payments.router,
    ops.router,
)


@asynccontextmanager
async def _upstreams(app: FastAPI) -> AsyncIterator[None]:
    """One long-lived channel per upstream, for the life of the process; an upstream left out of
    UPSTREAMS has no stubs (its routes answer 503)."""
    settings: GatewaySettings = app.state.settings
    channels = Channels(settings.upstream_addresses())
    app.state.channels = channels
    for upstream in UPSTREAMS:
        upstream_channel = channels.by_name.get(upstream.NAME)
        stubs = upstream.on(upstream_channel) if upstream_channel is not None else None
        setattr(app.state, upstream.NAME, stubs)
    try:
        yield
    finally:
        await channels.close()


def create_app(settings: GatewaySettings) -> FastAPI:
    app = FastAPI(
        title="pass Culture cinémas — API",
        version="1",
        lifespan=_upstreams,
        responses=PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier.from_file(settings.jwt_public_key_file)
    app.state.token_issuer = TokenIssuer.from_file(
        settings.jwt_private_key_file, settings.access_token_ttl_seconds
    )
    app.state.metrics = HttpMetrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    if settings.forwarded_allow_ips:
        # The client's address from X-Forwarded-For, when a trusted proxy sent it.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    install_problem_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    desk.mount(app)
    document_problems(app, problem_docs.problem_codes)
    return app
