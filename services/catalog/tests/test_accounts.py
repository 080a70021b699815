import uuid

import grpc
import pytest

from passculture.catalog.v1 import account_service_pb2 as pb
from passculture.catalog.v1 import resources_pb2
from tests.support.catalog_helpers import auth, make_pro, new_siren, reason_of


def account_request(**overrides) -> pb.CreateProAccountRequest:
    fields = {
        "email": f"pro-{uuid.uuid4().hex[:8]}@cinema.test",
        "password": "correct horse battery",
        "first_name": "Paula",
        "last_name": "Pro",
        "offerer_siren": new_siren(),
        "offerer_name": "Cinéma Lumière",
    } | overrides
    return pb.CreateProAccountRequest(**fields)


async def test_sign_up_creates_a_pending_offerer_and_the_pro_can_log_in(catalog):
    request = account_request(email="Paula@Cinema.test")
    created = await catalog.accounts.CreateProAccount(request)
    assert created.offerer.status == resources_pb2.OFFERER_STATUS_PENDING
    assert created.user.email == "paula@cinema.test"

    logged = await catalog.accounts.AuthenticateProUser(
        pb.AuthenticateProUserRequest(email="paula@cinema.test", password=request.password)
    )
    assert logged.user.id == created.user.id
    assert not logged.user.is_admin


async def test_wrong_password_and_unknown_email_are_refused_alike(catalog):
    request = account_request()
    await catalog.accounts.CreateProAccount(request)
    for email, password in ((request.email, "wrong password"), ("nobody@x.test", "whatever1")):
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await catalog.accounts.AuthenticateProUser(
                pb.AuthenticateProUserRequest(email=email, password=password)
            )
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert reason_of(failure.value) == "INVALID_CREDENTIALS"


@pytest.mark.parametrize(
    ("overrides", "code", "reason"),
    [
        ({"offerer_siren": "123456789"}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_SIREN"),
        ({"offerer_siren": "12345678"}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_SIREN"),
        ({"password": "short"}, grpc.StatusCode.INVALID_ARGUMENT, "PASSWORD_TOO_SHORT"),
    ],
)
async def test_invalid_sign_ups(catalog, overrides, code, reason):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await catalog.accounts.CreateProAccount(account_request(**overrides))
    assert failure.value.code() == code
    assert reason_of(failure.value) == reason


async def test_email_and_siren_are_unique(catalog):
    first = account_request()
    await catalog.accounts.CreateProAccount(first)
    cases = [
        (account_request(email=first.email.upper()), "EMAIL_TAKEN"),
        (account_request(offerer_siren=first.offerer_siren), "OFFERER_EXISTS"),
    ]
    for request, reason in cases:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await catalog.accounts.CreateProAccount(request)
        assert failure.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert reason_of(failure.value) == reason


async def test_only_an_admin_validates_an_offerer(catalog, issuer):
    pro = await make_pro(catalog, issuer, validated=False)
    validate = pb.ValidateOffererRequest(offerer_id=pro.offerer_id)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await catalog.accounts.ValidateOfferer(validate, metadata=pro.metadata)
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED

    admin = auth(issuer, str(uuid.uuid4()), "admin")
    validated = await catalog.accounts.ValidateOfferer(validate, metadata=admin)
    assert validated.offerer.status == resources_pb2.OFFERER_STATUS_VALIDATED
    mine = await catalog.accounts.ListMyOfferers(pb.ListMyOfferersRequest(), metadata=pro.metadata)
    assert [o.id for o in mine.offerers] == [pro.offerer_id]


async def test_calls_without_or_with_a_bad_token(catalog, issuer):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await catalog.accounts.ListMyOfferers(pb.ListMyOfferersRequest())
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED

    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await catalog.accounts.ListMyOfferers(
            pb.ListMyOfferersRequest(), metadata=(("authorization", "Bearer not-a-jwt"),)
        )
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(failure.value) == "INVALID_TOKEN"


async def test_an_admin_lists_only_the_offerers_it_belongs_to(catalog, issuer):
    await make_pro(catalog, issuer)
    admin = auth(issuer, str(uuid.uuid4()), "admin")
    mine = await catalog.accounts.ListMyOfferers(pb.ListMyOfferersRequest(), metadata=admin)
    assert list(mine.offerers) == []


async def test_a_token_whose_subject_is_not_a_user_is_refused(catalog, issuer):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await catalog.accounts.ListMyOfferers(
            pb.ListMyOfferersRequest(), metadata=auth(issuer, "booking", "pro")
        )
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(failure.value) == "INVALID_TOKEN"


@pytest.mark.parametrize("field", ["first_name", "last_name", "offerer_name"])
async def test_names_are_required(catalog, field):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await catalog.accounts.CreateProAccount(account_request(**{field: " "}))
    assert reason_of(failure.value) == f"INVALID_{field.upper()}"
