"""Young people: sign-up, their token, their account and credit (booking BeneficiaryService)."""

from fastapi import APIRouter, Request, Response

from gateway import booking_views
from gateway.auth import access_token
from gateway.dependencies import BeneficiaryBooking, PublicBooking
from gateway.schemas.accounts import AccessTokenOut, CredentialsIn
from gateway.schemas.beneficiaries import BeneficiaryIn, BeneficiaryOut
from passculture.booking.v1 import beneficiary_service_pb2 as pb
from pclib.auth import Role

router = APIRouter(prefix="/v1", tags=["young people"])


@router.post("/beneficiaries", status_code=201)
async def sign_up_beneficiary(body: BeneficiaryIn, booking: PublicBooking) -> BeneficiaryOut:
    reply = await booking.beneficiaries.SignUpBeneficiary(booking_views.sign_up_request(body))
    return booking_views.beneficiary_out(reply.beneficiary)


@router.post("/auth/token")
async def issue_beneficiary_token(
    body: CredentialsIn, booking: PublicBooking, request: Request, response: Response
) -> AccessTokenOut:
    reply = await booking.beneficiaries.AuthenticateBeneficiary(
        pb.AuthenticateBeneficiaryRequest(email=body.email, password=body.password)
    )
    return access_token(request, response, reply.beneficiary.id, Role.BENEFICIARY)


@router.get("/me")
async def get_me(booking: BeneficiaryBooking) -> BeneficiaryOut:
    reply = await booking.beneficiaries.GetMe(pb.GetMeRequest())
    return booking_views.beneficiary_out(reply.beneficiary)
