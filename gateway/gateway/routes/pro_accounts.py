"""Pro sign-up, pro/admin tokens, and the pro's offerers (catalog AccountService)."""

from fastapi import APIRouter, Request, Response

from gateway import catalog_views
from gateway.auth import access_token
from gateway.dependencies import ProCatalog, PublicCatalog
from gateway.routes.pagination import page
from gateway.schemas.accounts import (
    AccessTokenOut,
    CredentialsIn,
    OffererOut,
    ProAccountIn,
    ProAccountOut,
)
from gateway.schemas.common import Page
from passculture.catalog.v1 import account_service_pb2 as pb
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


@router.post("/auth/token")
async def issue_pro_token(
    body: CredentialsIn, catalog: PublicCatalog, request: Request, response: Response
) -> AccessTokenOut:
    reply = await catalog.accounts.AuthenticateProUser(
        pb.AuthenticateProUserRequest(email=body.email, password=body.password)
    )
    role = Role.ADMIN if reply.user.is_admin else Role.PRO
    return access_token(request, response, reply.user.id, role)


@router.get("/offerers")
async def list_my_offerers(catalog: ProCatalog) -> Page[OffererOut]:
    reply = await catalog.accounts.ListMyOfferers(pb.ListMyOfferersRequest())
    return page(map(catalog_views.offerer_out, reply.offerers))
