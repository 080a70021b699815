"""Pro sign-up, pro/admin sessions (tokens, refresh, logout), and the pro's offerers (catalog
AccountService)."""

from fastapi import APIRouter, Request, Response

from gateway import catalog_views
from gateway.auth import LOGOUT_RESPONSES, REFRESH_RESPONSES, SIGN_IN_RESPONSES, access_token
from gateway.dependencies import ProCatalog, PublicCatalog
from gateway.routes.pagination import page
from gateway.schemas.accounts import (
    AccessTokenOut,
    CredentialsIn,
    OffererOut,
    ProAccountIn,
    ProAccountOut,
    RefreshTokenIn,
)
from gateway.schemas.common import Page
from passculture.catalog.v1 import account_service_pb2 as pb
from passculture.catalog.v1 import resources_pb2
from pclib.auth import Role

router = APIRouter(prefix="/v1/pro", tags=["pro accounts"])


@router.post("/accounts", status_code=201)
async def create_pro_account(body: ProAccountIn, catalog: PublicCatalog) -> ProAccountOut:
    reply = await catalog.accounts.CreateProAccount(
        pb.CreateProAccountRequest(
            email=body.email,
            password=body.password,
            first_name=body.first_name,
            last_name=body.last_name,
            offerer_siren=body.offerer.siren,
            offerer_name=body.offerer.name,
        )
    )
    return ProAccountOut(
        user=catalog_views.pro_user_out(reply.user),
        offerer=catalog_views.offerer_out(reply.offerer),
    )


def _role(user: resources_pb2.ProUser) -> Role:
    return Role.ADMIN if user.is_admin else Role.PRO


@router.post("/auth/token", responses=SIGN_IN_RESPONSES)
async def issue_pro_token(
    body: CredentialsIn, catalog: PublicCatalog, request: Request, response: Response
) -> AccessTokenOut:
    """Signs a pro or an admin in: an access token (an hour) and a refresh token (7 days)."""
    reply = await catalog.accounts.AuthenticateProUser(
        pb.AuthenticateProUserRequest(email=body.email, password=body.password)
    )
    return access_token(request, response, reply.user.id, _role(reply.user), reply.refresh_token)


@router.post("/auth/refresh", responses=REFRESH_RESPONSES)
async def refresh_pro_token(
    body: RefreshTokenIn, catalog: PublicCatalog, request: Request, response: Response
) -> AccessTokenOut:
    """A new pair for a refresh token, which is retired."""
    reply = await catalog.accounts.RefreshSession(
        pb.RefreshSessionRequest(refresh_token=body.refresh_token)
    )
    return access_token(request, response, reply.user.id, _role(reply.user), reply.refresh_token)


@router.post("/auth/logout", status_code=204, responses=LOGOUT_RESPONSES)
async def log_out_pro(body: RefreshTokenIn, catalog: PublicCatalog) -> Response:
    """Ends the session of a refresh token; access tokens already issued last until they
    expire."""
    await catalog.accounts.RevokeSession(pb.RevokeSessionRequest(refresh_token=body.refresh_token))
    return Response(status_code=204)


@router.get("/offerers")
async def list_my_offerers(catalog: ProCatalog) -> Page[OffererOut]:
    reply = await catalog.accounts.ListMyOfferers(pb.ListMyOfferersRequest())
    return page(map(catalog_views.offerer_out, reply.offerers))
