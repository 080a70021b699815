"""Per-request dependencies of the routes: upstream stubs bound to the caller."""

from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth import CHALLENGE, Caller, admin_caller, beneficiary_caller, pro_caller
from gateway.errors import Problem, ProblemCode
from gateway.settings import GatewaySettings
from gateway.upstreams import Booking, Catalog, Importer, Metadata, Payments, Stubs
from passculture.catalog.v1 import api_key_service_pb2
from pclib.auth import Principal, Role, TokenIssuer
from pclib.idempotency import METADATA_KEY
from pclib.login_throttle import CLIENT_ADDRESS_KEY

AnyStubs = TypeVar("AnyStubs", bound=Stubs)


def idempotency_metadata(request: Request) -> Metadata:
    """The `Idempotency-Key` header, forwarded for services to answer a repeated create once."""
    key = request.headers.get("idempotency-key", "").strip()
    return ((METADATA_KEY, key),) if key else ()


def client_metadata(request: Request) -> Metadata:
    """The client's address (X-Forwarded-For's behind a trusted proxy), which anonymous calls
    carry: the services throttle wrong passwords by it."""
    return ((CLIENT_ADDRESS_KEY, request.client.host),) if request.client else ()


def _bound(request: Request, upstream: type[AnyStubs], metadata: Metadata) -> AnyStubs:
    """The upstream's stubs bound to the request's caller; 503 when it is not configured."""
    stubs: AnyStubs | None = getattr(request.app.state, upstream.NAME)
    if stubs is None:
        raise Problem(
            503,
            ProblemCode.UPSTREAM_NOT_CONFIGURED,
            f"the {upstream.NAME} service is not configured",
        )
    settings: GatewaySettings = request.app.state.settings
    return stubs.bound(metadata + idempotency_metadata(request), settings.upstream_timeout_seconds)


# Catalog


async def public_catalog(request: Request) -> Catalog:
    return _bound(request, Catalog, client_metadata(request))


async def pro_catalog(request: Request, caller: Annotated[Caller, Depends(pro_caller)]) -> Catalog:
    return _bound(request, Catalog, caller.metadata)


async def admin_catalog(
    request: Request, caller: Annotated[Caller, Depends(admin_caller)]
) -> Catalog:
    return _bound(request, Catalog, caller.metadata)


PublicCatalog = Annotated[Catalog, Depends(public_catalog)]
ProCatalog = Annotated[Catalog, Depends(pro_catalog)]
AdminCatalog = Annotated[Catalog, Depends(admin_catalog)]


# Booking


async def public_booking(request: Request) -> Booking:
    return _bound(request, Booking, client_metadata(request))


async def beneficiary_booking(
    request: Request, caller: Annotated[Caller, Depends(beneficiary_caller)]
) -> Booking:
    return _bound(request, Booking, caller.metadata)


async def pro_booking(request: Request, caller: Annotated[Caller, Depends(pro_caller)]) -> Booking:
    return _bound(request, Booking, caller.metadata)


async def admin_booking(
    request: Request, caller: Annotated[Caller, Depends(admin_caller)]
) -> Booking:
    return _bound(request, Booking, caller.metadata)


# Providers: an offerer's API key, checked with the catalog on every request (a revoked key
# fails at once), exchanged for a token of that offerer that lives just the request.

PROVIDER_TOKEN_TTL_SECONDS = 60
API_KEY_PREFIX = "pk_"
_api_key = HTTPBearer(
    auto_error=False,
    scheme_name="ProviderApiKey",
    description="An offerer's API key `pk_…` (POST /v1/pro/offerers/{offerer_id}/api-keys)",
)


async def provider_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_api_key)],
) -> Caller:
    if credentials is None or not credentials.credentials.startswith(API_KEY_PREFIX):
        raise Problem(
            401, ProblemCode.UNAUTHENTICATED, "an API key (pk_…) is required", headers=CHALLENGE
        )
    catalog = _bound(request, Catalog, client_metadata(request))
    reply = await catalog.api_keys.AuthenticateApiKey(
        api_key_service_pb2.AuthenticateApiKeyRequest(key=credentials.credentials)
    )
    issuer: TokenIssuer = request.app.state.token_issuer
    token = issuer.issue(reply.offerer_id, Role.PROVIDER, PROVIDER_TOKEN_TTL_SECONDS)
    return Caller(Principal(reply.offerer_id, Role.PROVIDER), token)


async def provider_booking(
    request: Request, caller: Annotated[Caller, Depends(provider_caller)]
) -> Booking:
    return _bound(request, Booking, caller.metadata)


ProviderBooking = Annotated[Booking, Depends(provider_booking)]
PublicBooking = Annotated[Booking, Depends(public_booking)]
BeneficiaryBooking = Annotated[Booking, Depends(beneficiary_booking)]
ProBooking = Annotated[Booking, Depends(pro_booking)]
AdminBooking = Annotated[Booking, Depends(admin_booking)]


# Import (Allociné)


async def pro_importer(
    request: Request, caller: Annotated[Caller, Depends(pro_caller)]
) -> Importer:
    return _bound(request, Importer, caller.metadata)


ProImporter = Annotated[Importer, Depends(pro_importer)]


# Payments


async def pro_payments(
    request: Request, caller: Annotated[Caller, Depends(pro_caller)]
) -> Payments:
    return _bound(request, Payments, caller.metadata)


async def admin_payments(
    request: Request, caller: Annotated[Caller, Depends(admin_caller)]
) -> Payments:
    return _bound(request, Payments, caller.metadata)


ProPayments = Annotated[Payments, Depends(pro_payments)]
AdminPayments = Annotated[Payments, Depends(admin_payments)]
