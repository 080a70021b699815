"""SQLAlchemy 2 (asyncio) over psycopg 3: engines, sessions, and creating a service's database."""

import time
from enum import StrEnum
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Enum, event
from sqlalchemy import exc as sqlalchemy_errors
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

# Dead connections after a database restart or failover: both pools check a connection that sat
# idle this long before lending it (one round trip), so that the first call after a quiet
# restart succeeds. Busy connections are not checked (pool_pre_ping's round trip on every
# checkout would double the cost of a one-statement call): a restart under load fails the
# calls that meet a dead connection (UNAVAILABLE, see pclib.interceptors), SQLAlchemy then
# discards every connection opened before it, psycopg's pool each broken one.
IDLE_CHECK_AFTER_SECONDS = 1.0


def make_engine(url: str, pool_size: int = 10, max_overflow: int | None = None) -> AsyncEngine:
    """max_overflow: by default as many again as pool_size (a service with a psycopg pool too,
    pclib.db.make_pool, keeps within 2 x pool_size connections with none). pool_recycle renews
    connections before idle timeouts of the network cut them."""
    overflow = pool_size if max_overflow is None else max_overflow
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=overflow, pool_recycle=1800)
    _check_idle_connections(engine)
    return engine


def _check_idle_connections(engine: AsyncEngine) -> None:
    """SQLAlchemy's recipe for pessimistic disconnect handling, for idle connections only."""
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def idle_from(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def check(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        idle_since = record.info.get(IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < IDLE_CHECK_AFTER_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and lends another (a new one if need be).
            raise sqlalchemy_errors.DisconnectionError() from error


IDLE_SINCE = "pclib_idle_since"


def make_pool(url: str, size: int) -> AsyncConnectionPool:
    """A pool of psycopg connections in autocommit, for the hot paths' statements: each one sent
    as written, one round trip, with none of the ORM's or the SQLAlchemy pool's work per use
    (about a third of the CPU of the same statement through an engine). psycopg prepares a
    statement on the server after its fifth execution on a connection. Use it as an async
    context manager (`async with make_pool(...) as pool:`): it opens in the running event loop
    and closes on exit."""
    idle_since: WeakKeyDictionary[psycopg.AsyncConnection[Any], float] = WeakKeyDictionary()

    async def returned(conn: psycopg.AsyncConnection[Any]) -> None:
        idle_since[conn] = time.monotonic()

    async def check(conn: psycopg.AsyncConnection[Any]) -> None:
        since = idle_since.get(conn)
        if since is not None and time.monotonic() - since >= IDLE_CHECK_AFTER_SECONDS:
            # Raises on a dead connection: the pool drops it and lends another.
            await AsyncConnectionPool.check_connection(conn)

    return AsyncConnectionPool(
        libpq_dsn(url),
        min_size=min(2, size),
        max_size=size,
        kwargs={"autocommit": True},
        open=False,
        configure=returned,  # a new connection waits in the pool too
        check=check,
        reset=returned,
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
