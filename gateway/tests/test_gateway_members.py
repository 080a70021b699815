"""An offerer's members through the gateway: invitation, acceptance, list, removal, and their
problems (410 for a spent or expired link, 409 for the last member), documented in OpenAPI."""

import uuid

from sqlalchemy import text

from tests.support.catalog_helpers import invitations_sent

PASSWORD = "correct horse battery"


async def invite(api, catalog_engine, pro, email: str) -> tuple[dict, str]:
    answer = await api.http.post(
        f"/v1/pro/offerers/{pro.offerer_id}/invitations", json={"email": email}, headers=pro.headers
    )
    assert answer.status_code == 201, answer.text
    invitation = answer.json()
    (event,) = [
        event
        for event in await invitations_sent(catalog_engine)
        if event.invitation_id == invitation["id"]
    ]
    return invitation, event.token


async def test_a_colleague_is_invited_joins_and_is_removed(api, pro, catalog_engine, problem):
    email = f"colette-{uuid.uuid4().hex[:8]}@cinema.example.com"
    invitation, token = await invite(api, catalog_engine, pro, email)
    assert invitation["email"] == email and "token" not in invitation
    assert invitation["expires_at"].endswith("Z")

    accept = f"/v1/pro/invitations/{token}/accept"
    body = {"password": PASSWORD, "first_name": "Colette", "last_name": "Collègue"}
    accepted = await api.http.post(accept, json=body)
    assert accepted.status_code == 200, accepted.text
    joined = accepted.json()
    assert joined["created_account"] is True
    assert (joined["user"]["email"], joined["offerer"]["id"]) == (email, pro.offerer_id)
    problem(await api.http.post(accept, json=body), 410, "INVITATION_USED")

    signed_in = await api.http.post(
        "/v1/pro/auth/token", json={"email": email, "password": PASSWORD}
    )
    colleague = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    offerers = (await api.http.get("/v1/pro/offerers", headers=colleague)).json()["items"]
    assert [offerer["id"] for offerer in offerers] == [pro.offerer_id]
    members = await api.http.get(f"/v1/pro/offerers/{pro.offerer_id}/members", headers=colleague)
    assert [m["user_id"] for m in members.json()["items"]] == [pro.user_id, joined["user"]["id"]]
    assert members.json()["items"][1]["joined_at"].endswith("Z")

    removed = await api.http.delete(
        f"/v1/pro/offerers/{pro.offerer_id}/members/{joined['user']['id']}", headers=pro.headers
    )
    assert removed.status_code == 204, removed.text
    problem(
        await api.http.get(f"/v1/pro/offerers/{pro.offerer_id}/members", headers=colleague),
        404,
        "OFFERER_NOT_FOUND",
    )
    problem(
        await api.http.delete(
            f"/v1/pro/offerers/{pro.offerer_id}/members/{pro.user_id}", headers=pro.headers
        ),
        409,
        "LAST_MEMBER",
    )


async def test_an_expired_link_is_gone_and_an_unknown_one_not_found(
    api, pro, catalog_engine, problem
):
    invitation, token = await invite(api, catalog_engine, pro, "late@cinema.example.com")
    async with catalog_engine.begin() as conn:
        await conn.execute(
            text("UPDATE invitations SET expires_at = now() WHERE id = :id"),
            {"id": invitation["id"]},
        )
    body = {"password": PASSWORD, "first_name": "L", "last_name": "L"}
    problem(
        await api.http.post(f"/v1/pro/invitations/{token}/accept", json=body),
        410,
        "INVITATION_EXPIRED",
    )
    problem(
        await api.http.post("/v1/pro/invitations/nope/accept", json=body),
        404,
        "INVITATION_NOT_FOUND",
    )


async def test_inviting_needs_a_member_and_an_email(api, pro, problem):
    stranger = await api.sign_up()
    path = f"/v1/pro/offerers/{pro.offerer_id}/invitations"
    answer = await api.http.post(path, json={"email": "x@example.com"}, headers=stranger.headers)
    problem(answer, 404, "OFFERER_NOT_FOUND")
    answer = await api.http.post(path, json={"email": "not-an-email"}, headers=pro.headers)
    problem(answer, 422, "VALIDATION_ERROR")
    answer = await api.http.post(path, json={"email": pro.email}, headers=pro.headers)
    problem(answer, 409, "ALREADY_MEMBER")
    problem(await api.http.post(path, json={"email": "x@example.com"}), 401, "UNAUTHENTICATED")


async def test_openapi_documents_the_members_paths_and_codes(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    accept = paths["/v1/pro/invitations/{token}/accept"]["post"]["responses"]
    assert "INVITATION_EXPIRED" in accept["410"]["description"]
    assert "INVITATION_USED" in accept["410"]["description"]
    assert "application/problem+json" in accept["410"]["content"]
    remove = paths["/v1/pro/offerers/{offerer_id}/members/{user_id}"]["delete"]["responses"]
    assert "LAST_MEMBER" in remove["409"]["description"]
    assert (
        "ALREADY_MEMBER"
        in (
            paths["/v1/pro/offerers/{offerer_id}/invitations"]["post"]["responses"]["409"][
                "description"
            ]
        )
    )
    assert "get" in paths["/v1/pro/offerers/{offerer_id}/members"]
