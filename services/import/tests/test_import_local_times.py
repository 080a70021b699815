"""Local showtimes → UTC: overseas theaters and the two days Europe/Paris changes clocks."""

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from importer.domain.programme import ImportSettings, build_programme

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2027, 1, 1, tzinfo=UTC)
SETTINGS = ImportSettings(price_cents=500, quantity=None, is_duo=True)


def instants(fixture: str, timezone: str) -> dict[str, datetime]:
    document = json.loads((FIXTURES / fixture).read_text())
    (film,) = build_programme(document, SETTINGS, ZoneInfo(timezone), NOW).offers
    return {stock.reference.split(":", 1)[1]: stock.starts_at for stock in film.stocks}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_theater_in_reunion_lands_four_hours_before_utc():
    assert instants("reunion-theater.json", "Indian/Reunion") == {
        "2027-01-15T20:30:VF": utc(2027, 1, 15, 16, 30),
        "2027-01-16T00:15:VO": utc(2027, 1, 15, 20, 15),
    }


def test_the_same_feed_elsewhere_follows_that_theater_s_clock():
    assert instants("reunion-theater.json", "Europe/Paris")["2027-01-15T20:30:VF"] == utc(
        2027, 1, 15, 19, 30
    )
    guadeloupe = instants("reunion-theater.json", "America/Guadeloupe")
    assert guadeloupe["2027-01-16T00:15:VO"] == utc(2027, 1, 16, 4, 15)


def test_the_spring_forward_day_in_paris():
    spring = {
        local: instant
        for local, instant in instants("dst-theater.json", "Europe/Paris").items()
        if local.startswith("2027-03-28")
    }
    assert spring == {
        "2027-03-28T01:30:VF": utc(2027, 3, 28, 0, 30),  # still winter time (+01:00)
        # 02:30 does not exist that night: read at +01:00, i.e. 03:30 summer time.
        "2027-03-28T02:30:VF": utc(2027, 3, 28, 1, 30),
        "2027-03-28T03:30:VF": utc(2027, 3, 28, 1, 30),  # summer time (+02:00)
        "2027-03-28T14:00:VF": utc(2027, 3, 28, 12, 0),
    }


def test_the_fall_back_day_in_paris():
    autumn = {
        local: instant
        for local, instant in instants("dst-theater.json", "Europe/Paris").items()
        if local.startswith("2027-10-31")
    }
    assert autumn == {
        "2027-10-31T01:30:VF": utc(2027, 10, 30, 23, 30),  # summer time (+02:00)
        # 02:30 happens twice that night: the first time (summer time) is taken.
        "2027-10-31T02:30:VF": utc(2027, 10, 31, 0, 30),
        "2027-10-31T03:30:VF": utc(2027, 10, 31, 2, 30),  # winter time (+01:00)
        "2027-10-31T20:00:VF": utc(2027, 10, 31, 19, 0),
    }
