from alembic import command

from booking.__main__ import MIGRATIONS
from pclib.migrations import alembic_config


def test_migrations_match_the_models(booking_db_url):
    # Raises when autogenerate would find a difference between the models and the database.
    command.check(alembic_config(MIGRATIONS, booking_db_url))


def test_migrations_downgrade_and_upgrade_again(booking_db_url):
    config = alembic_config(MIGRATIONS, booking_db_url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
