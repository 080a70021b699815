"""FORMAT.md's sample theater gives exactly the result FORMAT.md writes."""

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from importer.domain.programme import ImportSettings, build_programme

FIXTURES = Path(__file__).parent / "fixtures"
PARIS = ZoneInfo("Europe/Paris")
BEFORE_THE_PROGRAMME = datetime(2026, 12, 1, tzinfo=UTC)
SETTINGS = ImportSettings(price_cents=690, quantity=100, is_duo=True)


def sample():
    document = json.loads((FIXTURES / "sample-theater.json").read_text())
    return build_programme(document, SETTINGS, PARIS, BEFORE_THE_PROGRAMME)


def local(stock) -> str:
    return f"{stock.starts_at.astimezone(PARIS):%Y-%m-%d %H:%M} {' '.join(stock.features)}"


def test_the_rex_gives_one_offer_with_its_three_classic_showtimes_one_in_3d():
    rex = sample().offers[0]
    assert rex.reference == "310001"
    assert rex.title == "La Dernière Séance du Rex"
    assert rex.duration_minutes == 102
    assert rex.poster_url == ("https://fr.web.img6.acsta.net/pictures/26/10/01/10/00/310001.jpg")
    assert rex.description == (
        "Dans une petite ville de la Drôme, le projectionniste du Rex refuse de fermer la salle"
        " qu'il a tenue quarante ans.\n"
        "Tous les détails du film sur AlloCiné:"
        " https://www.allocine.fr/film/fichefilm_gen_cfilm=310001.html"
    )
    assert [local(stock) for stock in rex.stocks] == [
        "2027-01-15 14:00 VF",
        "2027-01-15 20:30 VO",
        "2027-01-15 21:00 VF 3D",  # DUBBED, projection F_3D
    ]
    assert [stock.starts_at for stock in rex.stocks] == [
        datetime(2027, 1, 15, 13, 0, tzinfo=UTC),
        datetime(2027, 1, 15, 19, 30, tzinfo=UTC),
        datetime(2027, 1, 15, 20, 0, tzinfo=UTC),
    ]
    assert rex.stocks[2].reference == "310001:2027-01-15T21:00:VF+3D"
    assert {(stock.price_cents, stock.quantity) for stock in rex.stocks} == {(690, 100)}
    assert rex.is_duo is True


def test_les_oiseaux_give_one_offer_without_duration_nor_poster_and_one_showtime():
    oiseaux = sample().offers[1]
    assert (oiseaux.reference, oiseaux.title) == ("310002", "Les Oiseaux de passage")
    assert (oiseaux.duration_minutes, oiseaux.poster_url) == (None, "")
    assert [local(stock) for stock in oiseaux.stocks] == ["2027-01-16 10:30 VF"]


def test_the_special_event_gives_nothing_and_the_counters_add_up():
    programme = sample()
    assert [offer.reference for offer in programme.offers] == ["310001", "310002"]
    # Rex: 4DX; Oiseaux: the duplicate and the empty projection; the special event.
    assert (programme.showtimes_imported, programme.showtimes_skipped) == (4, 4)
    assert programme.rejections == []
