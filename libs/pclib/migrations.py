"""Alembic, one migration history per service, run as a command (never at service start-up).

Each service keeps `migrations/` beside its models, with an env.py that calls `run_env`.
"""

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool

from pclib.db import ensure_database


def alembic_config(migrations_dir: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    # configparser interpolates '%': escape it so passwords survive.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(migrations_dir: Path, url: str) -> None:
    """Creates the database if missing and applies every migration."""
    ensure_database(url)
    command.upgrade(alembic_config(migrations_dir, url), "head")


def run_env(target_metadata: MetaData) -> None:
    """The body of a service's migrations/env.py (online mode only)."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise ValueError("no sqlalchemy.url in the Alembic configuration")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
