"""booking.reimbursed through the outbox relay to RabbitMQ; the batch command; migrations
match the models."""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command

from passculture.payments.v1 import events_pb2
from payments.__main__ import BATCH_JOB, MIGRATIONS
from pclib.migrations import alembic_config
from pclib.outbox import OutboxRelay
from tests.support.payments_helpers import (
    create_batch,
    new_venue,
    store_bank_account,
    store_used_lines,
)
from tests.support.pclib_fixtures import fake_pushgateway, observe, receive

REPO = Path(__file__).resolve().parents[3]


async def test_booking_reimbursed_reaches_the_broker(
    payments, payments_engine, admin, broker, unique_name, amqp_url
):
    exchange = f"payments-{unique_name}"
    queue = await observe(broker, exchange)
    venue = new_venue()
    await store_bank_account(payments_engine, venue)
    used_at = datetime.now(UTC) - timedelta(hours=1)
    booking_ids = await store_used_lines(payments_engine, venue, [used_at] * 3)
    batch = (await create_batch(payments, admin, datetime.now(UTC))).batch

    relay = OutboxRelay(payments_engine, amqp_url, exchange)
    try:
        assert await relay.publish_pending() == 1
    finally:
        await relay.close()
    (message,) = await receive(queue, 1)
    assert (message.type, message.headers["message_type"]) == (
        "booking.reimbursed",
        "passculture.payments.v1.BookingsReimbursed",
    )
    event = events_pb2.BookingsReimbursed.FromString(message.body)
    assert (event.batch_id, set(event.booking_ids)) == (batch.id, set(map(str, booking_ids)))


@pytest.fixture
def pushgateway():
    with fake_pushgateway() as gateway:
        yield gateway


def pushed_sample(body: str, name: str) -> float:
    [value] = [line.split()[1] for line in body.splitlines() if line.startswith(f"{name} ")]
    return float(value)


async def test_the_batch_command_pays_is_idempotent_and_pushes_its_metrics(
    payments_engine, payments_db_url, pushgateway
):
    venue = new_venue()
    await store_bank_account(payments_engine, venue)
    await store_used_lines(payments_engine, venue, [datetime.now(UTC) - timedelta(days=2)])
    cutoff = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    url, pushes = pushgateway
    env = {
        **os.environ,
        "DATABASE_URL": payments_db_url,
        "PUSHGATEWAY_URL": url,
        "PYTHONPATH": os.pathsep.join(sys.path),
    }

    def batch(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "payments", "batch", *args],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    started = datetime.now(UTC).timestamp()
    first, again = batch("--cutoff", cutoff), batch("--cutoff", cutoff)
    assert first.returncode == 0, first.stderr
    [(method, path, body), *_] = pushes
    assert (method, path) == ("PUT", f"/metrics/job/{BATCH_JOB}")
    assert pushed_sample(body, "payments_batch_bookings_total") == 1
    assert pushed_sample(body, "payments_batch_last_success_timestamp_seconds") >= started
    said, said_again = first.stdout.splitlines()[-1], again.stdout.splitlines()[-1]
    assert " made: " in said and "1 payments, 1 bookings, 800 cents" in said
    assert again.returncode == 0 and " already made: " in said_again
    batch_id = said.split()[1]
    assert uuid.UUID(batch_id) and said_again.split()[1] == batch_id
    future = batch("--cutoff", (datetime.now(UTC) + timedelta(days=1)).isoformat())
    assert future.returncode == 2 and "INVALID_CUTOFF" in future.stderr
    assert len(pushes) == 3
    assert pushed_sample(pushes[2][2], "payments_batch_last_success_timestamp_seconds") == 0


def test_migrations_match_the_models(payments_db_url):
    command.check(alembic_config(MIGRATIONS, payments_db_url))


def test_migrations_downgrade_and_upgrade_again(payments_db_url):
    config = alembic_config(MIGRATIONS, payments_db_url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
