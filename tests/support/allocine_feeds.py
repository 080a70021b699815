"""Feeds in Allociné's real movieShowtimeList format, built in code: for the fake server's demo
programme, the benchmark's generated theaters and tests that need dates relative to today."""

import base64
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

BACKLINK_LABEL = "Tous les détails du film sur AlloCiné"
TITLES = (
    "La Dernière Séance du Rex",
    "Les Oiseaux de passage",
    "Un été à Collioure",
    "Le Phare des Glénan",
    "Nuit blanche à Belleville",
    "Les Enfants du canal",
    "L'Horloger de Besançon",
    "Sous les pavés",
    "La Rivière d'argent",
    "Le Dernier Train pour Brest",
)


def movie(
    internal_id: int,
    title: str,
    *,
    runtime: str | None = "PT1H42M0S",
    movie_type: str = "FEATURE_FILM",
    synopsis: str = "Un film projeté en salle.",
    poster: bool = True,
) -> dict:
    """A Movie object with every key of the format."""
    page = f"https://www.allocine.fr/film/fichefilm_gen_cfilm={internal_id}.html"
    return {
        "id": base64.b64encode(f"Movie:{internal_id}".encode()).decode(),
        "internalId": internal_id,
        "backlink": {"url": page, "label": BACKLINK_LABEL},
        "data": {"eidr": None, "productionYear": 2026},
        "title": title,
        "originalTitle": title,
        "type": movie_type,
        "runtime": runtime,
        "poster": {"url": f"https://fr.web.img6.acsta.net/pictures/{internal_id}.jpg"}
        if poster
        else None,
        "synopsis": synopsis,
        "releases": [
            {
                "name": "Released",
                "releaseDate": {"date": "2026-11-18"},
                "data": {"visa_number": str(170000 + internal_id % 1000)},
                "certificate": None,
            }
        ],
        "credits": {
            "edges": [
                {
                    "node": {
                        "person": {"firstName": "Anne", "lastName": "Leroy"},
                        "position": {"name": "DIRECTOR"},
                    }
                }
            ]
        },
        "cast": {
            "backlink": {
                "url": f"https://www.allocine.fr/film/fichefilm-{internal_id}/casting/",
                "label": "Casting complet du film sur AlloCiné",
            },
            "edges": [
                {"node": {"actor": {"firstName": "Jules", "lastName": "Bernard"}, "role": "Victor"}}
            ],
        },
        "countries": [{"name": "France", "alpha3": "FRA"}],
        "genres": ["DRAMA"],
        "companies": [{"activity": "Distribution", "company": {"name": "Les Films du Canal"}}],
    }


def showtime(
    starts_at: datetime | str,
    version: str = "LOCAL",
    projection: Iterable[str] = ("DIGITAL",),
    experience: object = None,
) -> dict:
    local = starts_at if isinstance(starts_at, str) else starts_at.strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "startsAt": local,
        "diffusionVersion": version,
        "projection": list(projection),
        "experience": experience,
        "languages": ["ENGLISH"] if version == "ORIGINAL" else ["FRENCH"],
    }


def edge(movie_object: dict, showtimes: list[dict]) -> dict:
    return {"node": {"movie": movie_object, "showtimes": showtimes}}


def feed(edges: list[dict]) -> dict:
    return {"movieShowtimeList": {"totalCount": len(edges), "edges": edges}}


SLOTS = (time(11, 0), time(14, 0), time(16, 30), time(18, 0), time(20, 30), time(22, 15))


def programme(
    first_day: date,
    *,
    films: int = 5,
    showtimes_per_film: int = 12,
    first_movie_id: int = 400_000,
) -> dict:
    """A plausible theater: `films` films, each with `showtimes_per_film` classic showtimes over
    the days from `first_day` (two slots a day per film, alternating VF and VO)."""
    edges = []
    for number in range(films):
        title = TITLES[number % len(TITLES)]
        if number >= len(TITLES):
            title = f"{title} ({number // len(TITLES) + 1})"
        showtimes = []
        for index in range(showtimes_per_film):
            day = first_day + timedelta(days=index // 2)
            slot = SLOTS[(number + index) % len(SLOTS)]
            version = "ORIGINAL" if index % 3 == 2 else "LOCAL"
            showtimes.append(showtime(datetime.combine(day, slot), version))
        runtime = f"PT{1 + number % 2}H{(17 * number) % 60}M0S"
        edges.append(edge(movie(first_movie_id + number, title, runtime=runtime), showtimes))
    return feed(edges)
