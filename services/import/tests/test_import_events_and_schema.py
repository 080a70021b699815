"""sync.finished through the outbox relay to RabbitMQ; migrations match the models."""

from pathlib import Path

from alembic import command

from importer.__main__ import MIGRATIONS
from passculture.importer.v1 import events_pb2
from pclib.migrations import alembic_config
from pclib.outbox import OutboxRelay
from tests.support.catalog_helpers import make_pro, make_venue
from tests.support.import_helpers import load_feed, put_settings, sync_now, upcoming
from tests.support.pclib_fixtures import observe, receive

FIXTURES = Path(__file__).parent / "fixtures"


async def test_sync_finished_reaches_the_broker(
    catalog, issuer, importer, importer_engine, fake_allocine, broker, unique_name, amqp_url
):
    exchange = f"import-{unique_name}"
    queue = await observe(broker, exchange)
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    fake_allocine.set_feed("P0591", upcoming(load_feed(FIXTURES / "sample-theater.json")))
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    sync = await sync_now(importer, pro.metadata, venue.id)

    relay = OutboxRelay(importer_engine, amqp_url, exchange)
    try:
        assert await relay.publish_pending() == 1
    finally:
        await relay.close()
    (message,) = await receive(queue, 1)
    assert (message.type, message.headers["message_type"]) == (
        "sync.finished",
        "passculture.importer.v1.SyncFinished",
    )
    assert events_pb2.SyncFinished.FromString(message.body).sync == sync


def test_migrations_match_the_models(importer_db_url):
    command.check(alembic_config(MIGRATIONS, importer_db_url))


def test_migrations_downgrade_and_upgrade_again(importer_db_url):
    config = alembic_config(MIGRATIONS, importer_db_url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
