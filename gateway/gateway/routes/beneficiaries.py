"""Young people: sign-up, their sessions (tokens, refresh, logout), their account and credit
(booking BeneficiaryService)."""

from fastapi import APIRouter, Request, Response

from gateway import booking_views
from gateway.auth import LOGOUT_RESPONSES, REFRESH_RESPONSES, SIGN_IN_RESPONSES, access_token
from gateway.dependencies import BeneficiaryBooking, PublicBooking
from gateway.schemas.accounts import AccessTokenOut, CredentialsIn, RefreshTokenIn
from gateway.schemas.beneficiaries import BeneficiaryIn, BeneficiaryOut
from passculture.booking.v1 import beneficiary_service_pb2 as pb
from pclib.auth import Role

router = APIRouter(prefix="/v1", tags=["young people"])


@router.post("/beneficiaries", status_code=201)
async def sign_up_beneficiary(body: BeneficiaryIn, booking: PublicBooking) -> BeneficiaryOut:
    reply = await booking.beneficiaries.SignUpBeneficiary(booking_views.sign_up_request(body))
    return booking_views.beneficiary_out(reply.beneficiary)


@router.post("/auth/token", responses=SIGN_IN_RESPONSES)
async def issue_beneficiary_token(
    body: CredentialsIn, booking: PublicBooking, request: Request, response: Response
) -> AccessTokenOut:
    """Signs a young person in: an access token (an hour) and a refresh token (30 days)."""
    reply = await booking.beneficiaries.AuthenticateBeneficiary(
        pb.AuthenticateBeneficiaryRequest(email=body.email, password=body.password)
    )
    beneficiary_id = reply.beneficiary.id
    return access_token(request, response, beneficiary_id, Role.BENEFICIARY, reply.refresh_token)


@router.post("/auth/refresh", responses=REFRESH_RESPONSES)
async def refresh_beneficiary_token(
    body: RefreshTokenIn, booking: PublicBooking, request: Request, response: Response
) -> AccessTokenOut:
    """A new pair for a refresh token, which is retired."""
    reply = await booking.beneficiaries.RefreshSession(
        pb.RefreshSessionRequest(refresh_token=body.refresh_token)
    )
    beneficiary_id = reply.beneficiary.id
    return access_token(request, response, beneficiary_id, Role.BENEFICIARY, reply.refresh_token)


@router.post("/auth/logout", status_code=204, responses=LOGOUT_RESPONSES)
async def log_out_beneficiary(body: RefreshTokenIn, booking: PublicBooking) -> Response:
    """Ends the session of a refresh token; access tokens already issued last until they
    expire."""
    await booking.beneficiaries.RevokeSession(
        pb.RevokeSessionRequest(refresh_token=body.refresh_token)
    )
    return Response(status_code=204)


@router.get("/me")
async def get_me(booking: BeneficiaryBooking) -> BeneficiaryOut:
    reply = await booking.beneficiaries.GetMe(pb.GetMeRequest())
    return booking_views.beneficiary_out(reply.beneficiary)
