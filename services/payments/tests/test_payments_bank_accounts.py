"""Bank accounts through gRPC, with the real catalog: checks, masking, whose venue it is."""

import logging
import uuid

import grpc
import pytest
from sqlalchemy import select

from passculture.catalog.v1 import events_pb2 as catalog_events
from passculture.payments.v1 import bank_account_service_pb2 as pb
from passculture.payments.v1 import resources_pb2
from payments import models
from payments.consumers.catalog_events import on_venue_upserted
from payments.domain import bank_details
from pclib.db import make_session_factory
from pclib.inbox import EventMeta
from tests.support.catalog_helpers import auth, make_pro, make_venue, reason_of
from tests.support.payments_helpers import IBAN_SAMPLE, put_bank_account

COMPACT = IBAN_SAMPLE.replace(" ", "")
# Right check digits, but a letter in the RIB key, which France wants numeric.
BAD_FORMAT = "FR17 3000 6000 0112 3456 7890 1A9"


async def expect_error(call, code: grpc.StatusCode, reason: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    assert (failure.value.code(), reason_of(failure.value)) == (code, reason)
    return failure.value


@pytest.fixture
async def cinema(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    return pro, await make_venue(catalog, pro)


async def test_a_valid_account_is_accepted_and_shown_masked(
    payments, payments_engine, cinema, caplog
):
    pro, venue = cinema
    with caplog.at_level(logging.INFO):
        account = await put_bank_account(
            payments, pro.metadata, venue.id, iban=IBAN_SAMPLE.lower(), bic="bnpafrpp"
        )
    assert (account.venue_id, account.offerer_id) == (venue.id, pro.offerer_id)
    assert account.iban_masked == "FR76 **** **** **** **** ***0 189"
    assert (account.bic, account.holder_name) == ("BNPAFRPPXXX", "Cinéma du Centre")
    assert account.status == resources_pb2.BANK_ACCOUNT_STATUS_ACCEPTED
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert COMPACT not in logged and "FR76 **** **** **** **** ***0 189" in logged

    read = await payments.bank_accounts.GetBankAccount(
        pb.GetBankAccountRequest(venue_id=venue.id), metadata=pro.metadata
    )
    assert read.bank_account == account
    async with payments_engine.connect() as conn:
        stored = (await conn.execute(select(models.BankAccount))).one()
    # Kept in clear for the SEPA file, with the offerer (the creditor) as the catalog says.
    assert (stored.iban, stored.creditor_name, stored.offerer_siren, stored.venue_siret) == (
        COMPACT,
        "Cinéma du Centre",
        pro.siren,
        venue.siret,
    )


async def test_putting_again_replaces_the_account(payments, cinema):
    pro, venue = cinema
    await put_bank_account(payments, pro.metadata, venue.id)
    replaced = await put_bank_account(
        payments,
        pro.metadata,
        venue.id,
        iban="DE89 3704 0044 0532 0130 00",
        bic="COBADEFFXXX",
        holder_name="  Ciné   Rex ",
    )
    assert (replaced.iban_masked, replaced.bic, replaced.holder_name) == (
        "DE89 **** **** **** **30 00",
        "COBADEFFXXX",
        "Ciné Rex",
    )


@pytest.mark.parametrize(
    ("iban", "bic", "reason"),
    [
        ("FR76 3000 6000 0112 3456 7890 188", "BNPAFRPPXXX", "INVALID_IBAN"),  # checksum
        ("FR76 3000 6000 0112 3456 7890 18", "BNPAFRPPXXX", "INVALID_IBAN"),  # length
        (BAD_FORMAT, "BNPAFRPPXXX", "INVALID_IBAN"),
        ("XX76 3000 6000 0112 3456 7890 189", "BNPAFRPPXXX", "INVALID_IBAN"),  # country
        ("", "BNPAFRPPXXX", "INVALID_IBAN"),
        (IBAN_SAMPLE, "BNPAXXPP", "INVALID_BIC"),  # country
        (IBAN_SAMPLE, "BNPAFRP", "INVALID_BIC"),  # length
        (IBAN_SAMPLE, "BN1AFRPPXXX", "INVALID_BIC"),  # not a SEPA BIC
        (IBAN_SAMPLE, "COBADEFFXXX", "INVALID_BIC"),  # a German bank for a French account
    ],
)
async def test_invalid_bank_details_are_refused(
    payments, payments_engine, cinema, iban, bic, reason
):
    pro, venue = cinema
    error = await expect_error(
        put_bank_account(payments, pro.metadata, venue.id, iban=iban, bic=bic),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason,
    )
    assert "3000 6000" not in error.details() and "30006000" not in error.details()
    async with payments_engine.connect() as conn:
        assert (await conn.execute(select(models.BankAccount))).first() is None


def test_the_iban_format_of_its_country_is_checked_beyond_the_checksum():
    with pytest.raises(bank_details.InvalidIban) as refused:
        bank_details.check(BAD_FORMAT, "BNPAFRPPXXX", "")
    assert refused.value.message == "the IBAN is not valid: it does not follow its country's format"


async def test_another_offerers_venue_is_not_found(payments, catalog, issuer, cinema):
    _, venue = cinema
    stranger = await make_pro(catalog, issuer)
    for call in (
        put_bank_account(payments, stranger.metadata, venue.id),
        payments.bank_accounts.GetBankAccount(
            pb.GetBankAccountRequest(venue_id=venue.id), metadata=stranger.metadata
        ),
    ):
        await expect_error(call, grpc.StatusCode.NOT_FOUND, "VENUE_NOT_FOUND")
    await expect_error(
        put_bank_account(payments, stranger.metadata, str(uuid.uuid4())),
        grpc.StatusCode.NOT_FOUND,
        "VENUE_NOT_FOUND",
    )


async def test_a_venue_without_account_answers_not_found(payments, cinema):
    pro, venue = cinema
    await expect_error(
        payments.bank_accounts.GetBankAccount(
            pb.GetBankAccountRequest(venue_id=venue.id), metadata=pro.metadata
        ),
        grpc.StatusCode.NOT_FOUND,
        "BANK_ACCOUNT_NOT_FOUND",
    )


async def test_anonymous_and_young_callers_are_refused(payments, issuer, cinema):
    _, venue = cinema
    await expect_error(
        put_bank_account(payments, (), venue.id), grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"
    )
    young = auth(issuer, str(uuid.uuid4()), "beneficiary")
    await expect_error(
        put_bank_account(payments, young, venue.id), grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN"
    )


async def test_an_admin_puts_an_account_once_the_offerer_is_known(
    payments, payments_engine, admin, cinema
):
    pro, venue = cinema
    await expect_error(
        put_bank_account(payments, admin, venue.id),
        grpc.StatusCode.FAILED_PRECONDITION,
        "OFFERER_NOT_KNOWN_YET",
    )
    upserted = catalog_events.VenueUpserted()
    upserted.venue.id, upserted.venue.offerer_id = venue.id, pro.offerer_id
    upserted.offerer.id, upserted.offerer.name, upserted.offerer.siren = (
        pro.offerer_id,
        "Cinéma du Centre",
        pro.siren,
    )
    async with make_session_factory(payments_engine).begin() as session:
        await on_venue_upserted(session, upserted, EventMeta("m", "venue.upserted", None))

    account = await put_bank_account(payments, admin, venue.id, holder_name="")
    assert (account.offerer_id, account.holder_name) == (pro.offerer_id, "Cinéma du Centre")
