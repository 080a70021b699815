"""Idempotency keys (the `Idempotency-Key` of HTTP creates, AIP-155's request id).

The gateway forwards the header as gRPC metadata; a service's create method runs inside
`idempotent(...)`, which stores the response in the same transaction as the creation. The same
key from the same caller on the same method returns the first response instead of creating
twice; reusing a key for a different request is refused.
"""

import hashlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, Table, Text, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from passculture.common.v1.reasons import Reason
from pclib.errors import FailedPrecondition

METADATA_KEY = "idempotency-key"
MAX_KEY_LENGTH = 255

Response = TypeVar("Response", bound=Message)


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("caller", Text, primary_key=True),
        Column("method", Text, primary_key=True),
        Column("key", Text, primary_key=True),
        Column("request_hash", LargeBinary, nullable=False),
        Column("response", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


_keys = idempotency_table(MetaData())


def key_of(context: grpc.aio.ServicerContext) -> str | None:
    """The idempotency key the caller sent, if any."""
    for name, value in context.invocation_metadata() or ():
        if name == METADATA_KEY and value:
            return str(value)[:MAX_KEY_LENGTH]
    return None


async def idempotent(
    sessions: async_sessionmaker,
    context: grpc.aio.ServicerContext,
    *,
    caller: str,
    method: str,
    request: Message,
    response_type: type[Response],
    create: Callable[[AsyncSession], Awaitable[Response]],
) -> Response:
    """Runs `create` in a new transaction, at most once per idempotency key of the caller.

    The key is claimed first, in the same transaction: a concurrent call with the same key waits
    on that row until the first commits (then answers the stored response) or rolls back (then
    creates in its turn).
    """
    key = key_of(context)
    async with sessions.begin() as session:
        if key is None:
            return await create(session)
        request_hash = hashlib.sha256(request.SerializeToString(deterministic=True)).digest()
        where = (_keys.c.caller == caller, _keys.c.method == method, _keys.c.key == key)
        claim = (
            insert(_keys)
            .values(caller=caller, method=method, key=key, request_hash=request_hash, response=b"")
            .on_conflict_do_nothing()
            .returning(_keys.c.key)
        )
        if (await session.execute(claim)).first() is None:
            stored = (await session.execute(select(_keys).where(*where))).one()
            if stored.request_hash != request_hash:
                raise FailedPrecondition(
                    Reason.IDEMPOTENCY_KEY_REUSED,
                    "this Idempotency-Key was used for another request",
                )
            return response_type.FromString(stored.response)
        response = await create(session)
        await session.execute(
            update(_keys).where(*where).values(response=response.SerializeToString())
        )
        return response
