"""What real feeds contain (FORMAT.md's list), each item in the project's own fixtures."""

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from importer.domain.feed import FeedError
from importer.domain.programme import ImportSettings, build_programme

FIXTURES = Path(__file__).parent / "fixtures"
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 1, 1, tzinfo=UTC)
SETTINGS = ImportSettings(price_cents=500, quantity=None, is_duo=False)


@pytest.fixture(scope="module")
def programme():
    document = json.loads((FIXTURES / "quirks-theater.json").read_text())
    return build_programme(document, SETTINGS, PARIS, NOW)


def offer(programme, reference):
    return next(offer for offer in programme.offers if offer.reference == reference)


def test_a_null_runtime_a_null_poster_null_releases_and_a_null_actor_are_survived(programme):
    film = offer(programme, "500001")
    assert (film.title, film.duration_minutes, film.poster_url) == ("Le Film sans durée", None, "")
    assert len(film.stocks) == 1


def test_a_runtime_not_of_the_iso_form_means_no_duration(programme):
    assert offer(programme, "500002").duration_minutes is None
    assert offer(programme, "500007").duration_minutes == 120  # "PT2H"


def test_html_entities_are_decoded(programme):
    film = offer(programme, "500002")
    assert film.title == "L'Été & la mer"
    assert film.description.startswith('L\'été au bord de la mer & ses "secrets".\n')


def test_malformed_movies_are_rejected_alone_with_their_reason(programme):
    rejected = {rejection.movie: rejection.reason for rejection in programme.rejections}
    assert rejected == {
        "500003": "movie: missing 'title'",
        "500004": "movie: 'internalId' has the wrong type (str)",
        "500005": "node: 'showtimes' has the wrong type (NoneType)",
        "500006": "showtime: 'startsAt' 'demain à 20h' is not a date-time",
        "#8": "an edge has no 'node' object",
    }
    assert programme.showtimes_rejected == 1 + 1 + 0 + 2 + 0
    assert {offer.reference for offer in programme.offers} == {"500001", "500002", "500007"}


def test_only_classic_showtimes_are_kept_once_each(programme):
    kept = [
        f"{stock.starts_at.astimezone(PARIS):%d %H:%M} {'+'.join(stock.features)}"
        for stock in offer(programme, "500007").stocks
    ]
    # Skipped: the empty projection, the duplicate, the DUBBED listing of the same minute,
    # 4DX, IMAX, and an unknown version. 12 14:00 is DIGITAL then F_3D: 2D, as the first says.
    assert kept == ["11 16:00 VF", "11 18:00 VF", "11 20:00 VF", "12 14:00 VF", "12 16:00 VO"]
    assert programme.showtimes_skipped == 6
    assert programme.showtimes_imported == 1 + 1 + 5


def test_past_showtimes_are_skipped():
    document = json.loads((FIXTURES / "sample-theater.json").read_text())
    between = datetime(2027, 1, 15, 18, 0, tzinfo=UTC)  # after 14:00, before 20:30 Paris
    programme = build_programme(document, SETTINGS, PARIS, between)
    rex = programme.offers[0]
    assert [stock.features for stock in rex.stocks] == [("VO",), ("VF", "3D")]
    assert programme.showtimes_skipped == 5


def test_a_movie_with_only_skipped_showtimes_gives_no_offer():
    document = json.loads((FIXTURES / "sample-theater.json").read_text())
    programme = build_programme(document, SETTINGS, PARIS, datetime(2027, 2, 1, tzinfo=UTC))
    assert (programme.offers, programme.showtimes_skipped) == ([], 8)


@pytest.mark.parametrize(
    "document",
    [None, [], "<html>", {"data": None}, {"movieShowtimeList": {"edges": None}}],
)
def test_a_document_that_is_not_a_showtime_list_fails_the_feed(document):
    with pytest.raises(FeedError):
        build_programme(document, SETTINGS, PARIS, NOW)
