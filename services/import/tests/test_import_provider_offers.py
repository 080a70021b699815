"""Offers as sent to the catalog: fingerprints and calls of bounded size."""

from datetime import UTC, datetime, timedelta

from importer.domain.programme import OfferProposal, StockProposal
from importer.provider_offers import chunks, offer_fingerprint, to_send

START = datetime(2027, 1, 15, 13, 0, tzinfo=UTC)


def offer(reference: str, stocks: int, price_cents: int = 690) -> OfferProposal:
    return OfferProposal(
        reference=reference,
        title=f"Film {reference}",
        description="",
        poster_url="",
        duration_minutes=None,
        is_duo=True,
        stocks=tuple(
            StockProposal(f"{reference}:{n}", START + timedelta(hours=n), price_cents, None, "VF")
            for n in range(stocks)
        ),
    )


def test_a_fingerprint_changes_with_anything_the_offer_says():
    assert offer_fingerprint(offer("1", 3)) == offer_fingerprint(offer("1", 3))
    assert offer_fingerprint(offer("1", 3)) != offer_fingerprint(offer("1", 4))
    assert offer_fingerprint(offer("1", 3)) != offer_fingerprint(offer("1", 3, price_cents=700))


def test_calls_hold_at_most_the_stocks_allowed_and_split_big_offers():
    sent = [to_send(offer("a", 2)), to_send(offer("b", 7)), to_send(offer("c", 1))]
    calls = list(chunks(sent, max_stocks=3))
    assert [[(o.provider_reference, len(o.stocks)) for o in call.offers] for call in calls] == [
        [("a", 2)],
        [("b", 3)],
        [("b", 3)],
        [("b", 1), ("c", 1)],
    ]
    # An offer is done (its fingerprint kept) only with the call that carries its last part.
    assert [sorted(call.completed) for call in calls] == [["a"], [], [], ["b", "c"]]
    stocks_of_b = [
        s.provider_reference
        for call in calls
        for o in call.offers
        if o.provider_reference == "b"
        for s in o.stocks
    ]
    assert stocks_of_b == [f"b:{n}" for n in range(7)]
