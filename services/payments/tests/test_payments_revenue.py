"""An offerer's revenue of a year through RevenueService, against the real catalog (its venues,
who is a member) and the payments database: the figures equal what a batch crossing the 20 000 €
threshold pays, before and after it; members only."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from payments_event_helpers import handle

from passculture.payments.v1 import payment_service_pb2
from passculture.payments.v1 import revenue_service_pb2 as pb
from payments.domain.rates import PARIS
from tests.support.catalog_helpers import make_pro, make_venue, reason_of, siret_of
from tests.support.payments_helpers import Venue as LedgerVenue
from tests.support.payments_helpers import (
    booking_facts,
    cancelled,
    create_batch,
    created,
    store_bank_account,
    store_used_lines,
)

# Last year: every date of it is past, whatever day the tests run.
YEAR = datetime.now(PARIS).year - 1


def in_year(month: int, day: int, hour: int = 20) -> datetime:
    return datetime(YEAR, month, day, hour, tzinfo=PARIS).astimezone(UTC)


def figures(venue: pb.VenueRevenue) -> tuple[int, int, int, int]:
    f = venue.figures
    return (f.booked_cents, f.validated_cents, f.reimbursed_cents, f.to_be_paid_cents)


async def get_revenue(
    payments, metadata, offerer_id: str, year: int = YEAR
) -> pb.GetRevenueResponse:
    return await payments.revenue.GetRevenue(
        pb.GetRevenueRequest(offerer_id=offerer_id, year=year), metadata=metadata
    )


@pytest.fixture
async def cinema(catalog, issuer, payments_engine):
    """A pro with two venues of the catalog: the first has a bank account and crosses 20 000 €
    in the year; the second has none (nothing of it is paid)."""
    pro = await make_pro(catalog, issuer)
    first = await make_venue(catalog, pro, name="Le Champo")
    second = await make_venue(catalog, pro, name="La Pagode", siret=siret_of(pro.siren, 2))
    ledger = [LedgerVenue(v.id, pro.offerer_id, pro.siren, v.siret) for v in (first, second)]
    await store_bank_account(payments_engine, ledger[0])
    for day, total in ((1, 1_500_000), (2, 400_000), (3, 300_000), (4, 100_000)):
        await store_used_lines(payments_engine, ledger[0], [in_year(6, day)], total_cents=total)
    await store_used_lines(payments_engine, ledger[1], [in_year(6, 5)], total_cents=5_000)
    # Booked, not used: one counted; one cancelled after (not counted); one of next year's.
    kept, gone = (
        booking_facts(ledger[0], total_cents=700, starts_at=in_year(12, 20)) for _ in "ab"
    )
    await handle(payments_engine, "booking.created", created(kept, in_year(12, 1)))
    await handle(payments_engine, "booking.created", created(gone, in_year(12, 1)))
    await handle(payments_engine, "booking.cancelled", cancelled(gone, in_year(12, 2)))
    later = booking_facts(
        ledger[0], total_cents=900, starts_at=datetime(YEAR + 1, 1, 2, tzinfo=UTC)
    )
    await handle(payments_engine, "booking.created", created(later, in_year(12, 3)))
    return pro, first, second


async def test_the_figures_are_what_the_batch_then_pays(payments, admin, cinema):
    pro, first, second = cinema
    before = await get_revenue(payments, pro.metadata, pro.offerer_id)
    assert (before.offerer_id, before.year) == (pro.offerer_id, YEAR)
    champo, pagode = before.venues
    assert (champo.venue_id, champo.venue_name, champo.siret) == (
        first.id,
        "Le Champo",
        first.siret,
    )
    # 15 000 + 4 000 at 100 %, then 3 000 and 1 000 past 20 000 € at 95 %.
    assert figures(champo) == (700, 2_300_000, 0, 1_900_000 + 285_000 + 95_000)
    assert (champo.scale_revenue_cents, champo.rate_bps) == (2_300_000, 9_500)
    assert (champo.next_threshold_cents, champo.next_rate_bps) == (4_000_000, 9_200)
    assert (pagode.venue_id, figures(pagode)) == (second.id, (0, 5_000, 0, 5_000))
    assert (pagode.rate_bps, pagode.next_threshold_cents, pagode.next_rate_bps) == (
        10_000,
        2_000_000,
        9_500,
    )

    await create_batch(payments, admin, datetime.now(UTC) - timedelta(minutes=1))
    (payment,) = (
        await payments.payments.ListPayments(
            payment_service_pb2.ListPaymentsRequest(offerer_id=pro.offerer_id),
            metadata=pro.metadata,
        )
    ).payments
    assert (payment.venue_id, payment.amount_cents) == (first.id, 2_280_000)

    after = await get_revenue(payments, pro.metadata, pro.offerer_id)
    champo, pagode = after.venues
    assert figures(champo) == (700, 2_300_000, payment.amount_cents, 0)
    assert (champo.scale_revenue_cents, champo.rate_bps) == (2_300_000, 9_500)
    assert figures(pagode) == (0, 5_000, 0, 5_000)
    totals = after.totals
    assert (
        totals.booked_cents,
        totals.validated_cents,
        totals.reimbursed_cents,
        totals.to_be_paid_cents,
    ) == (700, 2_305_000, 2_280_000, 5_000)
    # Another year's figures are that year's only.
    this_year = await get_revenue(payments, pro.metadata, pro.offerer_id, YEAR + 1)
    assert [figures(venue) for venue in this_year.venues] == [(900, 0, 0, 0), (0, 0, 0, 0)]
    assert this_year.venues[0].rate_bps == 10_000


async def test_the_next_payment_continues_the_scale_from_what_was_paid(
    payments, payments_engine, admin, cinema
):
    pro, first, _ = cinema
    await create_batch(payments, admin, datetime.now(UTC) - timedelta(minutes=2))
    ledger = LedgerVenue(first.id, pro.offerer_id, pro.siren, first.siret)
    await store_used_lines(payments_engine, ledger, [in_year(7, 1)], total_cents=1_800_000)
    pending = (await get_revenue(payments, pro.metadata, pro.offerer_id)).venues[0]
    # R = 2 300 000 + 1 800 000 = 4 100 000: past 40 000 €, the whole booking at 92 %.
    assert figures(pending)[3] == 1_656_000
    assert (pending.rate_bps, pending.next_threshold_cents) == (9_200, 15_000_000)
    await create_batch(payments, admin, datetime.now(UTC) - timedelta(minutes=1))
    paid = (await get_revenue(payments, pro.metadata, pro.offerer_id)).venues[0]
    assert figures(paid) == (700, 4_100_000, 2_280_000 + 1_656_000, 0)


async def test_only_members_and_admins_see_an_offerers_revenue(
    payments, catalog, issuer, admin, cinema
):
    pro, _, _ = cinema
    stranger = await make_pro(catalog, issuer)
    for offerer_id in (pro.offerer_id, "not-an-id", str(uuid.uuid4())):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await get_revenue(payments, stranger.metadata, offerer_id)
        assert (refused.value.code(), reason_of(refused.value)) == (
            grpc.StatusCode.NOT_FOUND,
            "OFFERER_NOT_FOUND",
        )
    seen = await get_revenue(payments, admin, pro.offerer_id)
    assert len(seen.venues) == 2
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await get_revenue(payments, pro.metadata, pro.offerer_id, 1999)
    assert reason_of(refused.value) == "INVALID_YEAR"
    current = await payments.revenue.GetRevenue(
        pb.GetRevenueRequest(offerer_id=pro.offerer_id), metadata=pro.metadata
    )
    assert current.year == YEAR + 1
