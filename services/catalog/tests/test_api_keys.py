"""Provider API keys through ApiKeyService, against a real database: created by a member (the
key answered once, only its SHA-256 kept), listed without the key, resolved to their offerer,
revoked at once; a provider's token reaches its offerer only."""

import hashlib

import grpc
from sqlalchemy import text

from passculture.catalog.v1 import account_service_pb2 as accounts_pb
from passculture.catalog.v1 import api_key_service_pb2 as pb
from pclib.timestamps import to_datetime
from tests.support.catalog_helpers import auth, make_pro, make_venue, refusal


async def test_a_member_creates_a_key_shown_once_and_stored_hashed(catalog, catalog_engine, issuer):
    pro = await make_pro(catalog, issuer)
    created = await catalog.api_keys.CreateApiKey(
        pb.CreateApiKeyRequest(offerer_id=pro.offerer_id, name=" Caisse CDS "),
        metadata=pro.metadata,
    )

    assert created.key.startswith("pk_") and len(created.key) > 40
    assert created.api_key.prefix == created.key[:11]
    assert created.api_key.name == "Caisse CDS"
    assert not created.api_key.HasField("last_used_at")
    async with catalog_engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM api_keys"))).one()
    assert bytes(row.key_hash) == hashlib.sha256(created.key.encode()).digest()
    assert created.key not in repr(row._asdict())
    listed = await catalog.api_keys.ListApiKeys(
        pb.ListApiKeysRequest(offerer_id=pro.offerer_id), metadata=pro.metadata
    )
    assert [key.id for key in listed.api_keys] == [created.api_key.id]
    assert created.key not in str(listed)


async def test_a_key_resolves_to_its_offerer_until_revoked(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    created = await catalog.api_keys.CreateApiKey(
        pb.CreateApiKeyRequest(offerer_id=pro.offerer_id, name="caisse"), metadata=pro.metadata
    )

    found = await catalog.api_keys.AuthenticateApiKey(pb.AuthenticateApiKeyRequest(key=created.key))
    assert (found.offerer_id, found.api_key_id) == (pro.offerer_id, created.api_key.id)
    listed = await catalog.api_keys.ListApiKeys(
        pb.ListApiKeysRequest(offerer_id=pro.offerer_id), metadata=pro.metadata
    )
    assert to_datetime(listed.api_keys[0].last_used_at) >= to_datetime(
        listed.api_keys[0].created_at
    )

    await catalog.api_keys.RevokeApiKey(
        pb.RevokeApiKeyRequest(offerer_id=pro.offerer_id, api_key_id=created.api_key.id),
        metadata=pro.metadata,
    )
    code, reason, _ = await refusal(
        catalog.api_keys.AuthenticateApiKey(pb.AuthenticateApiKeyRequest(key=created.key))
    )
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_API_KEY")
    listed = await catalog.api_keys.ListApiKeys(
        pb.ListApiKeysRequest(offerer_id=pro.offerer_id), metadata=pro.metadata
    )
    assert list(listed.api_keys) == []
    code, reason, _ = await refusal(
        catalog.api_keys.RevokeApiKey(
            pb.RevokeApiKeyRequest(offerer_id=pro.offerer_id, api_key_id=created.api_key.id),
            metadata=pro.metadata,
        )
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "API_KEY_NOT_FOUND")


async def test_unknown_and_malformed_keys_are_refused(catalog):
    for key in ("pk_" + "A" * 43, "pk_", "not a key", ""):
        code, reason, _ = await refusal(
            catalog.api_keys.AuthenticateApiKey(pb.AuthenticateApiKeyRequest(key=key))
        )
        assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_API_KEY")


async def test_another_offerers_pro_neither_creates_lists_nor_revokes(catalog, issuer):
    pro, stranger = await make_pro(catalog, issuer), await make_pro(catalog, issuer)
    created = await catalog.api_keys.CreateApiKey(
        pb.CreateApiKeyRequest(offerer_id=pro.offerer_id, name="caisse"), metadata=pro.metadata
    )
    for call in (
        catalog.api_keys.CreateApiKey(
            pb.CreateApiKeyRequest(offerer_id=pro.offerer_id, name="x"), metadata=stranger.metadata
        ),
        catalog.api_keys.ListApiKeys(
            pb.ListApiKeysRequest(offerer_id=pro.offerer_id), metadata=stranger.metadata
        ),
        catalog.api_keys.RevokeApiKey(
            pb.RevokeApiKeyRequest(offerer_id=pro.offerer_id, api_key_id=created.api_key.id),
            metadata=stranger.metadata,
        ),
    ):
        code, reason, _ = await refusal(call)
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "OFFERER_NOT_FOUND")
    # The stranger's own offerer does not reach the key either.
    code, reason, _ = await refusal(
        catalog.api_keys.RevokeApiKey(
            pb.RevokeApiKeyRequest(offerer_id=stranger.offerer_id, api_key_id=created.api_key.id),
            metadata=stranger.metadata,
        )
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "API_KEY_NOT_FOUND")


async def test_a_blank_name_is_refused(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    code, reason, _ = await refusal(
        catalog.api_keys.CreateApiKey(
            pb.CreateApiKeyRequest(offerer_id=pro.offerer_id, name="  "), metadata=pro.metadata
        )
    )
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_API_KEY_NAME")


async def test_a_providers_token_sees_its_one_offerer_and_nothing_of_a_pro(catalog, issuer):
    pro, other = await make_pro(catalog, issuer), await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    provider = auth(issuer, pro.offerer_id, "provider")

    mine = await catalog.accounts.ListMyOfferers(
        accounts_pb.ListMyOfferersRequest(), metadata=provider
    )
    assert [offerer.id for offerer in mine.offerers] == [pro.offerer_id]
    assert other.offerer_id not in str(mine)
    # Only the counter's question: a provider manages no key, venue or offer.
    code, _, _ = await refusal(
        catalog.api_keys.ListApiKeys(
            pb.ListApiKeysRequest(offerer_id=pro.offerer_id), metadata=provider
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert venue.id
