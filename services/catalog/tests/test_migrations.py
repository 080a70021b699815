from alembic import command
from sqlalchemy import create_engine, text

from catalog.__main__ import MIGRATIONS
from pclib.migrations import alembic_config


def test_migrations_match_the_models(catalog_db_url):
    # Raises when autogenerate would find a difference between the models and the database.
    command.check(alembic_config(MIGRATIONS, catalog_db_url))


def test_migrations_downgrade_and_upgrade_again(catalog_db_url):
    config = alembic_config(MIGRATIONS, catalog_db_url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")


def test_existing_stocks_get_a_category_per_price_of_their_offer(catalog_db_url):
    """Migration 0006 on stocks made before it: "Tarif unique" for an offer's cheapest price,
    then "Tarif 2"…, and each stock the category of its price."""
    config = alembic_config(MIGRATIONS, catalog_db_url)
    command.downgrade(config, "0005")
    engine = create_engine(catalog_db_url)
    with engine.begin() as conn:
        conn.execute(
            text("""
                WITH offerer AS (
                    INSERT INTO offerers (id, siren, name, status)
                    VALUES (gen_random_uuid(), '732829320', 'Cinémas', 'VALIDATED') RETURNING id
                ), venue AS (
                    INSERT INTO venues (id, offerer_id, name, address, postal_code, city,
                                        latitude, longitude, booking_email, timezone)
                    SELECT gen_random_uuid(), id, 'Rex', 'rue', '75001', 'Paris', 48.8, 2.3,
                           'resa@cinema.test', 'Europe/Paris' FROM offerer RETURNING id
                ), offer AS (
                    INSERT INTO offers (id, venue_id, title, description, poster_url, is_duo,
                                        is_active, source)
                    SELECT gen_random_uuid(), id, 'Film', '', '', false, true, 'MANUAL'
                    FROM venue RETURNING id
                )
                INSERT INTO stocks (id, offer_id, starts_at, price_cents, quantity,
                                    booked_quantity, booking_limit_at, features, is_active,
                                    edited_fields)
                SELECT gen_random_uuid(), offer.id, now() + n * interval '1 day', price, 10, 0,
                       now(), '{}', true, '{}'
                FROM offer, (VALUES (1, 800), (2, 500), (3, 800)) AS v(n, price)
            """)
        )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        rows = conn.execute(
            text("""
                SELECT s.price_cents, c.label, c.price_cents AS category_price
                FROM stocks s JOIN price_categories c ON c.id = s.price_category_id
                ORDER BY s.starts_at
            """)
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [
        (800, "Tarif 2", 800),
        (500, "Tarif unique", 500),
        (800, "Tarif 2", 800),
    ]
