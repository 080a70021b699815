"""The fake Allociné: what tests and the demo rely on."""

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx

from importer.domain.programme import ImportSettings, build_programme
from importer.fake_allocine import DEMO_FEEDS, FakeAllocine, rebased
from tests.support.allocine_feeds import edge, feed, movie, showtime

DEMO_FEED = "VGhlYXRlcjpQMDU5MQ=="  # P0591, the demo theater


def test_rebase_moves_the_programme_to_start_tomorrow_keeping_its_shape():
    document = feed(
        [
            edge(
                movie(1, "A"),
                [showtime("2027-01-04T20:30:00"), showtime("2027-01-06T14:00:00")],
            ),
            edge(movie(2, "B"), [showtime("demain"), showtime("2027-01-05T10:00:00")]),
        ]
    )
    moved = rebased(document, date(2026, 11, 28))
    starts = [
        s["startsAt"] for e in moved["movieShowtimeList"]["edges"] for s in e["node"]["showtimes"]
    ]
    assert starts == ["2026-11-29T20:30:00", "2026-12-01T14:00:00", "demain", "2026-11-30T10:00:00"]


def test_the_server_checks_the_key_and_serves_the_demo_feed_rebased():
    with FakeAllocine(None, "k", rebase=True) as fake:
        fake.set_feed("P0591", feed([edge(movie(1, "A"), [showtime("2030-01-01T20:00:00")])]))
        url = f"{fake.url}/movieShowtimeList"
        assert httpx.get(url, params={"theater": DEMO_FEED}).status_code == 401
        wrong = httpx.get(url, params={"theater": DEMO_FEED}, headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 401
        ok = httpx.get(url, params={"theater": DEMO_FEED}, headers={"Authorization": "Bearer k"})
        assert ok.status_code == 200
        (only,) = json.loads(ok.content)["movieShowtimeList"]["edges"]
        assert only["node"]["showtimes"][0]["startsAt"].endswith("T20:00:00")
        assert not only["node"]["showtimes"][0]["startsAt"].startswith("2030")
        unknown = httpx.get(url, params={"theater": "P9999"}, headers={"Authorization": "Bearer k"})
        assert unknown.status_code == 404
        invalid = httpx.get(url, params={"theater": "?"}, headers={"Authorization": "Bearer k"})
        assert invalid.status_code == 400


def test_the_demo_feed_gives_a_programme():
    document = rebased(json.loads((DEMO_FEEDS / "P0591.json").read_text()), date.today())
    programme = build_programme(
        document, ImportSettings(690, None, True), ZoneInfo("Europe/Paris"), datetime.now(UTC)
    )
    assert (len(programme.offers), programme.showtimes_imported) == (6, 85)  # one in 3D
    assert programme.showtimes_skipped == 2  # a 4DX and a special event
