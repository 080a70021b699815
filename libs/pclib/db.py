"""SQLAlchemy 2 (asyncio) over psycopg 3: engines, sessions, and creating a service's database."""

from enum import StrEnum

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Enum
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str, pool_size: int = 10, max_overflow: int | None = None) -> AsyncEngine:
    # No pool_pre_ping: it costs a round trip on every checkout, i.e. on every call. Without
    # it, a database restart or failover fails the statements that meet a dead connection;
    # SQLAlchemy then sees the disconnect and discards every pooled connection opened before
    # it, so later checkouts reconnect. Callers must survive a failed call anyway (e.g. the
    # booking saga retries idempotent reservations). pool_recycle renews connections before
    # idle timeouts of the network cut them.
    # max_overflow: by default as many again as pool_size (a service with a psycopg pool too,
    # pclib.db.make_pool, keeps within 2 x pool_size connections with none).
    overflow = pool_size if max_overflow is None else max_overflow
    return create_async_engine(url, pool_size=pool_size, max_overflow=overflow, pool_recycle=1800)


def make_pool(url: str, size: int) -> AsyncConnectionPool:
    """A pool of psycopg connections in autocommit, for the hot paths' statements: each one sent
    as written, one round trip, with none of the ORM's or the SQLAlchemy pool's work per use
    (about a third of the CPU of the same statement through an engine). psycopg prepares a
    statement on the server after its fifth execution on a connection. Use it as an async
    context manager (`async with make_pool(...) as pool:`): it opens in the running event loop
    and closes on exit."""
    return AsyncConnectionPool(
        libpq_dsn(url),
        min_size=min(2, size),
        max_size=size,
        kwargs={"autocommit": True},
        open=False,
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def autocommit_engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """The sessions' engine in autocommit mode, sharing their connection pool: a single
    statement then costs one round trip, with no BEGIN and no COMMIT around it."""
    engine: AsyncEngine = sessions.kw["bind"]
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def status_column_type(enum: type[StrEnum], length: int = 16) -> Enum:
    """A StrEnum stored as VARCHAR(length), as status columns always were (no PostgreSQL enum
    type, no CHECK constraint: adding a value needs no migration). Rows read back as members,
    and a value outside the enum is refused before it reaches the database."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def libpq_dsn(url: str, database: str | None = None) -> str:
    """The psycopg connection string of a SQLAlchemy URL, optionally for another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def database_name(url: str) -> str:
    name = make_url(url).database
    if not name:
        raise ValueError("the database URL names no database")
    return name


def ensure_database(url: str) -> bool:
    """Creates the URL's database when missing; returns True when it created it."""
    name = database_name(url)
    with psycopg.connect(libpq_dsn(url, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def drop_database(url: str) -> None:
    name = database_name(url)
    with psycopg.connect(libpq_dsn(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def violated_constraint(error: Exception) -> str | None:
    """The name of the constraint a SQLAlchemy IntegrityError broke, if PostgreSQL said."""
    diag = getattr(getattr(error, "orig", None), "diag", None)
    return getattr(diag, "constraint_name", None)
