"""Back-office actions of pass Culture staff."""

from fastapi import APIRouter

from gateway import convert
from gateway.dependencies import AdminCatalog
from gateway.schemas.accounts import OffererOut
from passculture.catalog.v1 import account_service_pb2 as pb

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/offerers/{offerer_id}/validate")
async def validate_offerer(offerer_id: str, catalog: AdminCatalog) -> OffererOut:
    reply = await catalog.accounts.ValidateOfferer(pb.ValidateOffererRequest(offerer_id=offerer_id))
    return convert.offerer_out(reply.offerer)
