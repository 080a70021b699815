"""The pure rules turning a ticketing system's showtimes into offers and stocks."""

from datetime import UTC, datetime, timedelta, timezone

from importer.domain.ticketing_programme import (
    Showtime,
    Tariff,
    build_programme,
    split_reference,
    stock_reference,
)

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
PARIS = timezone(timedelta(hours=1))


def showtime(ref: str, film: str = "52", title: str = "Le Voyage", **fields) -> Showtime:
    values = {
        "duration_minutes": 120,
        "visa": "1",
        "starts_at": datetime(2026, 12, 7, 20, tzinfo=PARIS),
        "seats_remaining": 40,
        "features": ("VO",),
        "tariffs": (Tariff("4", "Pass Culture", 500),),
    }
    return Showtime(ref, film, title, **(values | fields))


def test_one_offer_per_film_one_stock_per_tariff_in_utc():
    two = (Tariff("4", "PCU", 500), Tariff("5", "PC2", 400))
    programme = build_programme([showtime("1", tariffs=two), showtime("2")], NOW)
    [offer] = programme.offers
    assert [(s.reference, s.price_cents, s.quantity, s.features) for s in offer.stocks] == [
        ("1:4", 500, 40, ("VO",)),
        ("1:5", 400, 40, ("VO",)),
        ("2:4", 500, 40, ("VO",)),
    ]
    assert offer.stocks[0].starts_at == datetime(2026, 12, 7, 19, tzinfo=UTC)
    assert (programme.showtimes_imported, programme.showtimes_skipped) == (2, 0)


def test_a_3d_showtime_keeps_its_version_and_3d():
    showtimes = [
        showtime("1", features=("VO", "3D")),
        showtime("2", features=("3D",)),  # no version said: VF, as for a 2D showtime
        showtime("3", features=()),
    ]
    [offer] = build_programme(showtimes, NOW).offers
    assert [s.features for s in offer.stocks] == [("VO", "3D"), ("VF", "3D"), ("VF",)]


def test_past_showtimes_are_skipped_and_bad_films_rejected_alone():
    programme = build_programme(
        [
            showtime("1", starts_at=NOW - timedelta(minutes=1)),
            showtime("2"),
            showtime("3", film="60", title=" "),
            showtime("4", film="61", tariffs=(Tariff("9", "free", 0),)),
            showtime("5", film="62", starts_at=datetime(2026, 12, 7, 20)),
        ],
        NOW,
    )
    assert [o.reference for o in programme.offers] == ["52"]
    assert [(r.movie, r.showtimes) for r in programme.rejections] == [
        ("60", 1),
        ("61", 1),
        ("62", 1),
    ]
    assert (programme.showtimes_imported, programme.showtimes_skipped) == (1, 1)


def test_a_stock_reference_gives_back_the_showtime_and_the_tariff():
    assert split_reference(stock_reference("36683", "108")) == ("36683", "108")
    assert split_reference(stock_reference("1", "1:4")) == ("1", "1:4")
