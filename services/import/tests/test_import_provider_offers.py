"""Offers as sent to the catalog: fingerprints and calls of bounded size."""

import hashlib
from datetime import UTC, datetime, timedelta

from importer.domain.programme import OfferProposal, StockProposal
from importer.provider_offers import chunks, offer_fingerprint, provider_message, to_send
from passculture.catalog.v1 import resources_pb2

START = datetime(2027, 1, 15, 13, 0, tzinfo=UTC)


def offer(
    reference: str, stocks: int, price_cents: int = 690, features: tuple[str, ...] = ("VF",)
) -> OfferProposal:
    return OfferProposal(
        reference=reference,
        title=f"Film {reference}",
        description="",
        poster_url="",
        duration_minutes=None,
        is_duo=True,
        stocks=tuple(
            StockProposal(
                f"{reference}:{n}", START + timedelta(hours=n), price_cents, None, features
            )
            for n in range(stocks)
        ),
    )


def test_a_fingerprint_changes_with_anything_the_offer_says():
    assert offer_fingerprint(offer("1", 3)) == offer_fingerprint(offer("1", 3))
    assert offer_fingerprint(offer("1", 3)) != offer_fingerprint(offer("1", 4))
    assert offer_fingerprint(offer("1", 3)) != offer_fingerprint(offer("1", 3, price_cents=700))


def test_a_3d_stock_is_sent_with_its_version_and_3d_and_fingerprinted_apart():
    three_d = offer("1", 1, features=("VO", "3D"))
    (stock,) = provider_message(three_d).stocks
    assert list(stock.features) == [resources_pb2.FEATURE_VO, resources_pb2.FEATURE_3D]
    assert offer_fingerprint(three_d) != offer_fingerprint(offer("1", 1, features=("VO",)))


def test_a_2d_offers_fingerprint_is_the_one_it_had_before_3d():
    """Else every imported offer would be sent again once, at the first sync after 3D came."""
    before_3d = (
        "1",
        "Film 1",
        "",
        "",
        None,
        True,
        (("1:0", int(START.timestamp()), 690, None, "VF"),),
    )
    assert offer_fingerprint(offer("1", 1)) == hashlib.sha256(repr(before_3d).encode()).digest()


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
