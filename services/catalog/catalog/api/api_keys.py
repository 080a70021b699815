"""ApiKeyService: an offerer's provider API keys, and what a key acts for."""

from datetime import UTC, datetime

import grpc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import access, api_keys
from catalog.ids import parse_id
from catalog.models import ApiKey
from catalog.resources import api_key_pb
from passculture.catalog.v1 import api_key_service_pb2 as pb
from passculture.catalog.v1 import api_key_service_pb2_grpc as pb_grpc
from passculture.catalog.v1.reasons import Reason
from pclib import pagination


class ApiKeyServicer(pb_grpc.ApiKeyServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateApiKeyResponse:
        principal = access.require_pro()
        creator = access.user_id(principal) if principal.role == "pro" else None
        async with self._sessions.begin() as session:
            offerer = await access.get_offerer(session, principal, request.offerer_id)
            created = api_keys.create(session, offerer, request.name, creator, datetime.now(UTC))
        return pb.CreateApiKeyResponse(api_key=api_key_pb(created.api_key), key=created.key)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        principal = access.require_pro()
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        async with self._sessions() as session:
            offerer = await access.get_offerer(session, principal, request.offerer_id)
            keys = list(
                await session.scalars(
                    select(ApiKey)
                    .where(ApiKey.offerer_id == offerer.id, ApiKey.revoked_at.is_(None))
                    .order_by(ApiKey.created_at.desc(), ApiKey.id)
                    .offset(offset)
                    .limit(size + 1)
                )
            )
        return pb.ListApiKeysResponse(
            api_keys=[api_key_pb(key) for key in keys[:size]],
            next_page_token=pagination.next_token(offset, size, len(keys)),
        )

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeApiKeyResponse:
        principal = access.require_pro()
        key_id = parse_id(request.api_key_id, Reason.API_KEY_NOT_FOUND)
        async with self._sessions.begin() as session:
            offerer = await access.get_offerer(session, principal, request.offerer_id)
            await api_keys.revoke(session, offerer, key_id, datetime.now(UTC))
        return pb.RevokeApiKeyResponse()

    async def AuthenticateApiKey(
        self, request: pb.AuthenticateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthenticateApiKeyResponse:
        async with self._sessions.begin() as session:
            found = await api_keys.authenticate(session, request.key, datetime.now(UTC))
        return pb.AuthenticateApiKeyResponse(
            offerer_id=str(found.offerer_id), api_key_id=str(found.id)
        )
