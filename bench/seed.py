"""Seeds the bench database with plain SQL (COPY and generate_series), never through gRPC.

Venues are spread over mainland France, half of them uniformly, half around a few cities;
each has `offers_per_venue` offers with 1-3 future showtimes. Every offerer is validated.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import sql

# Mainland France, roughly (the box also holds some sea and neighbours: that is fine).
LATITUDES = (42.3, 51.0)
LONGITUDES = (-4.5, 8.0)

# (name, latitude, longitude, share of the venues placed around cities)
CITIES = (
    ("Paris", 48.8566, 2.3522, 0.30),
    ("Lille", 50.6292, 3.0573, 0.11),
    ("Lyon", 45.7640, 4.8357, 0.10),
    ("Marseille", 43.2965, 5.3698, 0.10),
    ("Toulouse", 43.6047, 1.4442, 0.07),
    ("Nantes", 47.2184, -1.5536, 0.07),
    ("Bordeaux", 44.8378, -0.5792, 0.07),
    ("Nice", 43.7102, 7.2620, 0.06),
    ("Strasbourg", 48.5734, 7.7521, 0.06),
    ("Montpellier", 43.6108, 3.8767, 0.06),
)
CITY_SHARE = 0.5
# Spread of venues around a city centre, in degrees (0.12 ° of latitude is about 13 km).
CITY_SPREAD_DEG = 0.12

TITLES = [
    "La Dernière Séance",
    "Le Grand Bleu",
    "Amélie",
    "Les Intouchables",
    "La Haine",
    "Le Dîner de cons",
    "Les Choristes",
    "Astérix et Obélix",
    "Le Fabuleux Destin",
    "Bienvenue chez les Ch'tis",
    "La Grande Vadrouille",
    "Les Visiteurs",
    "Le Père Noël est une ordure",
    "Cyrano de Bergerac",
    "Jeux interdits",
    "Les Quatre Cents Coups",
    "À bout de souffle",
    "Le Mépris",
    "Playtime",
    "Les Parapluies de Cherbourg",
]


@dataclass(frozen=True)
class SearchDataset:
    offerers: int
    venues: int
    offers: int
    stocks: int


@dataclass(frozen=True)
class ReservationStocks:
    hot: str
    spread: list[str]


def random_point(rng: random.Random) -> tuple[float, float]:
    """A point in the box: around a city (weighted by share) or uniformly anywhere."""
    if rng.random() < CITY_SHARE:
        _, lat, lon, _ = rng.choices(CITIES, weights=[c[3] for c in CITIES])[0]
        lat, lon = rng.gauss(lat, CITY_SPREAD_DEG), rng.gauss(lon, CITY_SPREAD_DEG * 1.4)
    else:
        lat, lon = rng.uniform(*LATITUDES), rng.uniform(*LONGITUDES)
    return min(max(lat, LATITUDES[0]), LATITUDES[1]), min(max(lon, LONGITUDES[0]), LONGITUDES[1])


def _copy_offerers(conn: psycopg.Connection, count: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    now = datetime.now(UTC)
    with conn.cursor().copy(
        "COPY offerers (id, siren, name, status, validated_at) FROM STDIN"
    ) as copy:
        for number, offerer_id in enumerate(ids, start=1):
            copy.write_row((offerer_id, f"{number:09d}", f"Offerer {number}", "VALIDATED", now))
    return ids


def _copy_venues(
    conn: psycopg.Connection, rng: random.Random, offerer_ids: list[uuid.UUID], count: int
) -> None:
    columns = (
        "id, offerer_id, name, address, postal_code, city, latitude, longitude, "
        "booking_email, timezone"
    )
    with conn.cursor().copy(f"COPY venues ({columns}) FROM STDIN") as copy:
        for number in range(count):
            lat, lon = random_point(rng)
            copy.write_row(
                (
                    uuid.uuid4(),
                    offerer_ids[number % len(offerer_ids)],
                    f"Cinéma {number}",
                    f"{number} rue du Cinéma",
                    f"{rng.randrange(1000, 96000):05d}",
                    "Ville",
                    lat,
                    lon,
                    "resa@cinema.test",
                    "Europe/Paris",
                )
            )


INSERT_OFFERS = """
INSERT INTO offers (id, venue_id, title, description, poster_url, duration_minutes, is_duo,
                    is_active, source)
SELECT gen_random_uuid(), v.id, (%(titles)s::text[])[1 + floor(random() * %(title_count)s)::int],
       '', 'https://posters.test/' || n || '.jpg', 80 + floor(random() * 60)::int,
       random() < 0.5, true, 'MANUAL'
FROM venues v CROSS JOIN generate_series(1, %(per_venue)s) n
"""

# One tariff per offer ("Tarif unique", 4 to 13.50 €).
INSERT_PRICE_CATEGORIES = """
INSERT INTO price_categories (id, offer_id, label, price_cents)
SELECT gen_random_uuid(), id, 'Tarif unique', 400 + 50 * floor(random() * 20)::int FROM offers
"""

# 1-3 showtimes per offer, 1-30 days ahead; a fifth of them with unlimited seats.
INSERT_STOCKS = """
INSERT INTO stocks (id, offer_id, starts_at, price_category_id, price_cents, quantity,
                    booked_quantity, booking_limit_at, features, is_active, edited_fields)
SELECT gen_random_uuid(), s.offer_id, s.starts_at, c.id, c.price_cents,
       CASE WHEN random() < 0.2 THEN NULL ELSE 50 + floor(random() * 350)::int END, 0,
       s.starts_at - interval '30 minutes', '{VF}', true, '{}'
FROM (
    SELECT o.id AS offer_id,
           date_trunc('hour', now() + interval '1 day' + random() * interval '29 days')
               AS starts_at
    FROM (SELECT id, 1 + floor(random() * 3)::int AS showtimes FROM offers) o
    CROSS JOIN LATERAL generate_series(1, o.showtimes)
) s
JOIN price_categories c ON c.offer_id = s.offer_id
"""


def seed_search_dataset(
    conn: psycopg.Connection, *, venues: int, offers_per_venue: int, seed: int
) -> SearchDataset:
    rng = random.Random(seed)
    offerer_ids = _copy_offerers(conn, max(1, venues // 5))
    _copy_venues(conn, rng, offerer_ids, venues)
    conn.execute("SELECT setseed(%s)", (seed / 2**31,))
    conn.execute(
        INSERT_OFFERS,
        {"titles": TITLES, "title_count": len(TITLES), "per_venue": offers_per_venue},
    )
    conn.execute(INSERT_PRICE_CATEGORIES)
    conn.execute(INSERT_STOCKS)
    counts = [
        conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (constant)
        for table in ("offerers", "venues", "offers", "stocks")
    ]
    return SearchDataset(*counts)


def seed_reservation_stocks(conn: psycopg.Connection, spread: int) -> ReservationStocks:
    """One hot showtime and `spread` others, each with a million seats (nothing sells out).

    They sit in the Atlantic, out of every search's reach.
    """
    offerer_id, venue_id, offer_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn.execute(
        "INSERT INTO offerers (id, siren, name, status, validated_at)"
        " VALUES (%s, '999999999', 'Bench reservations', 'VALIDATED', now())",
        (offerer_id,),
    )
    conn.execute(
        "INSERT INTO venues (id, offerer_id, name, address, postal_code, city, latitude,"
        " longitude, booking_email, timezone) VALUES (%s, %s, 'Bench', '1 quai', '29200',"
        " 'Brest', 46.0, -8.0, 'resa@cinema.test', 'Europe/Paris')",
        (venue_id, offerer_id),
    )
    conn.execute(
        "INSERT INTO offers (id, venue_id, title, description, poster_url, is_duo, is_active,"
        " source) VALUES (%s, %s, 'Bench', '', '', true, true, 'MANUAL')",
        (offer_id, venue_id),
    )
    category_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO price_categories (id, offer_id, label, price_cents)"
        " VALUES (%s, %s, 'Tarif unique', 800)",
        (category_id, offer_id),
    )
    rows = conn.execute(
        "INSERT INTO stocks (id, offer_id, starts_at, price_category_id, price_cents, quantity,"
        " booked_quantity, booking_limit_at, features, is_active, edited_fields)"
        " SELECT gen_random_uuid(), %s, now() + interval '10 days', %s, 800, 1000000, 0,"
        " now() + interval '9 days', '{}', true, '{}' FROM generate_series(0, %s) n"
        " ORDER BY n RETURNING id",
        (offer_id, category_id, spread),
    ).fetchall()
    ids = [str(row[0]) for row in rows]
    return ReservationStocks(hot=ids[0], spread=ids[1:])


def vacuum_analyze(conn: psycopg.Connection, table: str | None = None) -> None:
    """VACUUM ANALYZE (needs an autocommit connection): fresh statistics, no dead rows."""
    target = sql.SQL(" {}").format(sql.Identifier(table)) if table else sql.SQL("")
    conn.execute(sql.SQL("VACUUM ANALYZE") + target)
