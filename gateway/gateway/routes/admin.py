"""Back-office actions of pass Culture staff."""

from fastapi import APIRouter

from gateway import booking_views, catalog_views
from gateway.dependencies import AdminBooking, AdminCatalog
from gateway.schemas.accounts import OffererOut
from gateway.schemas.beneficiaries import CreditOut
from gateway.schemas.bookings import AutoUseOut
from passculture.booking.v1 import beneficiary_service_pb2, job_service_pb2
from passculture.catalog.v1 import account_service_pb2 as pb

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/offerers/{offerer_id}/validate")
async def validate_offerer(offerer_id: str, catalog: AdminCatalog) -> OffererOut:
    reply = await catalog.accounts.ValidateOfferer(pb.ValidateOffererRequest(offerer_id=offerer_id))
    return catalog_views.offerer_out(reply.offerer)


@router.post("/beneficiaries/{beneficiary_id}/credit", status_code=201)
async def grant_credit(beneficiary_id: str, booking: AdminBooking) -> CreditOut:
    """Grants the 300 € credit, valid 2 years, once, to an 18-year-old."""
    reply = await booking.beneficiaries.GrantCredit(
        beneficiary_service_pb2.GrantCreditRequest(beneficiary_id=beneficiary_id)
    )
    return booking_views.credit_out(reply.credit)


@router.post("/jobs/auto-use")
async def run_auto_use(booking: AdminBooking) -> AutoUseOut:
    """Marks USED every CONFIRMED booking whose showtime started more than 48h ago, now."""
    reply = await booking.jobs.RunAutoUse(job_service_pb2.RunAutoUseRequest())
    return AutoUseOut(bookings_used=reply.bookings_used)
