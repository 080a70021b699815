"""An offerer's provider API keys (catalog ApiKeyService): a member creates one for a
ticketing or management system, which then reaches /v1/provider/… for that offerer only."""

from fastapi import APIRouter, Response

from gateway import catalog_views
from gateway.dependencies import ProCatalog
from gateway.routes.pagination import Paging, page
from gateway.schemas.common import Page
from gateway.schemas.members import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut
from passculture.catalog.v1 import api_key_service_pb2 as pb

router = APIRouter(prefix="/v1/pro/offerers/{offerer_id}/api-keys", tags=["pro API keys"])


@router.post("", status_code=201)
async def create_api_key(offerer_id: str, body: ApiKeyIn, catalog: ProCatalog) -> ApiKeyCreatedOut:
    """A member creates a key: the whole key is in this answer only (store it now)."""
    reply = await catalog.api_keys.CreateApiKey(
        pb.CreateApiKeyRequest(offerer_id=offerer_id, name=body.name)
    )
    shown = catalog_views.api_key_out(reply.api_key)
    return ApiKeyCreatedOut(**shown.model_dump(), key=reply.key)


@router.get("")
async def list_api_keys(offerer_id: str, catalog: ProCatalog, paging: Paging) -> Page[ApiKeyOut]:
    """The offerer's keys not revoked, newest first (never the keys themselves)."""
    reply = await catalog.api_keys.ListApiKeys(
        pb.ListApiKeysRequest(
            offerer_id=offerer_id, page_size=paging.page_size, page_token=paging.page_token
        )
    )
    return page(map(catalog_views.api_key_out, reply.api_keys), reply.next_page_token)


@router.delete("/{api_key_id}", status_code=204)
async def revoke_api_key(offerer_id: str, api_key_id: str, catalog: ProCatalog) -> Response:
    """Revokes the key: its next request answers 401 INVALID_API_KEY."""
    await catalog.api_keys.RevokeApiKey(
        pb.RevokeApiKeyRequest(offerer_id=offerer_id, api_key_id=api_key_id)
    )
    return Response(status_code=204)
