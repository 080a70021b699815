"""An offerer's members (collaborators) and the invitations that make new ones (catalog
MemberService). Every member has the offerer's rights in every service; a removed member loses
them by their next request."""

from typing import Any

from fastapi import APIRouter, Response

from gateway import catalog_views
from gateway.auth import SIGN_IN_RESPONSES
from gateway.dependencies import ProCatalog, PublicCatalog
from gateway.openapi import PROBLEM_RESPONSE
from gateway.routes.pagination import Paging, page
from gateway.schemas.common import Page
from gateway.schemas.members import (
    InvitationAcceptedOut,
    InvitationAcceptIn,
    InvitationIn,
    InvitationOut,
    MemberOut,
)
from passculture.catalog.v1 import member_service_pb2 as pb

router = APIRouter(prefix="/v1/pro", tags=["pro members"])


def _problems(**descriptions: str) -> dict[int | str, dict[str, Any]]:
    return {
        int(status.removeprefix("s")): {**PROBLEM_RESPONSE, "description": description}
        for status, description in descriptions.items()
    }


OFFERER_NOT_FOUND = "OFFERER_NOT_FOUND: unknown, or not one of the caller's offerers"


@router.post(
    "/offerers/{offerer_id}/invitations",
    status_code=201,
    responses=_problems(
        s404=OFFERER_NOT_FOUND,
        s409="ALREADY_MEMBER: the account of this email is a member already",
    ),
)
async def invite_member(offerer_id: str, body: InvitationIn, catalog: ProCatalog) -> InvitationOut:
    """A member invites an email to join the offerer: an email goes there with a link whose
    token works once, for 7 days. The token is never answered here."""
    reply = await catalog.members.InviteMember(
        pb.InviteMemberRequest(offerer_id=offerer_id, email=body.email)
    )
    return catalog_views.invitation_out(reply.invitation)


@router.post(
    "/invitations/{token}/accept",
    responses=_problems(
        s401="INVALID_CREDENTIALS: the invited email has an account and this is not its password",
        s404="INVITATION_NOT_FOUND: unknown token",
        s409="EMAIL_TAKEN: the invited email signed up meanwhile (accept again with its password)",
        s410="INVITATION_EXPIRED: more than 7 days old; INVITATION_USED: accepted already",
        s422="VALIDATION_ERROR, PASSWORD_TOO_SHORT, INVALID_FIRST_NAME, INVALID_LAST_NAME",
    )
    | {429: SIGN_IN_RESPONSES[429]},
)
async def accept_invitation(
    token: str, body: InvitationAcceptIn, catalog: PublicCatalog
) -> InvitationAcceptedOut:
    """Anyone holding the emailed token: signs up a new pro account with the invited email
    (password, first_name, last_name), or attaches the existing account of that email (its
    password). The account then signs in at /v1/pro/auth/token as usual."""
    reply = await catalog.members.AcceptInvitation(
        pb.AcceptInvitationRequest(
            token=token,
            password=body.password,
            first_name=body.first_name,
            last_name=body.last_name,
        )
    )
    return InvitationAcceptedOut(
        user=catalog_views.pro_user_out(reply.user),
        offerer=catalog_views.offerer_out(reply.offerer),
        created_account=reply.created_account,
    )


@router.get("/offerers/{offerer_id}/members", responses=_problems(s404=OFFERER_NOT_FOUND))
async def list_members(offerer_id: str, catalog: ProCatalog, paging: Paging) -> Page[MemberOut]:
    """The offerer's members, oldest first."""
    reply = await catalog.members.ListMembers(
        pb.ListMembersRequest(
            offerer_id=offerer_id, page_size=paging.page_size, page_token=paging.page_token
        )
    )
    return page(map(catalog_views.member_out, reply.members), reply.next_page_token)


@router.delete(
    "/offerers/{offerer_id}/members/{user_id}",
    status_code=204,
    responses=_problems(
        s404=f"{OFFERER_NOT_FOUND}; MEMBER_NOT_FOUND: not a member of the offerer",
        s409="LAST_MEMBER: the offerer's only member cannot leave it",
    ),
)
async def remove_member(offerer_id: str, user_id: str, catalog: ProCatalog) -> Response:
    """Removes a member (a member may remove any member, themselves included): from the next
    request on, in every service, they no longer reach the offerer (venues, offers, counter,
    bank accounts, payments, revenue)."""
    await catalog.members.RemoveMember(
        pb.RemoveMemberRequest(offerer_id=offerer_id, user_id=user_id)
    )
    return Response(status_code=204)
