"""3D showtimes in an Allociné feed (projection F_3D): kept with their version and 3D, apart
from the 2D showtime of the same minute; an experience (IMAX, 4DX…) is still not classic."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from importer.domain.programme import ImportSettings, build_programme
from tests.support.allocine_feeds import edge, feed, movie, showtime

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 1, 1, tzinfo=UTC)
EVENING = datetime(2027, 1, 15, 20, 30)


def stocks(*showtimes: dict) -> list[tuple[str, tuple[str, ...]]]:
    document = feed([edge(movie(330001, "Avatar"), list(showtimes))])
    programme = build_programme(document, ImportSettings(690, None, True), PARIS, NOW)
    return [
        (stock.reference, stock.features) for offer in programme.offers for stock in offer.stocks
    ]


def test_a_3d_showtime_is_kept_with_its_version_and_3d_apart_from_the_2d_one():
    assert stocks(
        showtime(EVENING),
        showtime(EVENING, projection=("F_3D",)),
        showtime(EVENING, "ORIGINAL", projection=("F_3D",)),
    ) == [
        ("330001:2027-01-15T20:30:VF", ("VF",)),
        ("330001:2027-01-15T20:30:VF+3D", ("VF", "3D")),
        ("330001:2027-01-15T20:30:VO+3D", ("VO", "3D")),
    ]


def test_only_the_first_projection_says_3d():
    """A DIGITAL showtime that also lists F_3D was imported as 2D before 3D was: it stays so
    (its reference too), else it would come back as a second stock beside the first."""
    assert stocks(showtime(EVENING, projection=("DIGITAL", "F_3D"))) == [
        ("330001:2027-01-15T20:30:VF", ("VF",))
    ]


def test_a_3d_showtime_with_an_experience_or_another_projection_first_is_skipped():
    assert (
        stocks(
            showtime(EVENING, projection=("F_3D",), experience="E_IMAX"),
            showtime(EVENING, projection=("F_35MM", "F_3D")),
        )
        == []
    )


def test_the_same_3d_showtime_listed_dubbed_and_local_is_one_stock():
    assert stocks(
        showtime(EVENING, "LOCAL", projection=("F_3D",)),
        showtime(EVENING, "DUBBED", projection=("F_3D",)),
    ) == [("330001:2027-01-15T20:30:VF+3D", ("VF", "3D"))]
