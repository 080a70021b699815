"""Reads and writes of the gRPC services, and the local copy of the catalog's offerers (the
batch and the ledger have their own modules)."""

import uuid
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from payments.domain.status import BankAccountStatus
from payments.models import BankAccount, Offerer, Payment, PaymentBatch, PaymentLine


async def put_bank_account(session: AsyncSession, values: dict[str, object]) -> BankAccount:
    """Creates or replaces the venue's bank account: accepted at once (its details are
    checked)."""
    changes = {key: value for key, value in values.items() if key != "venue_id"}
    accepted = BankAccountStatus.ACCEPTED
    statement = (
        insert(BankAccount)
        .values(status=accepted, **values)
        .on_conflict_do_update(
            index_elements=[BankAccount.venue_id],
            set_={**changes, "status": accepted, "updated_at": func.now()},
        )
        .returning(BankAccount)
    )
    saved = await session.execute(statement, execution_options={"populate_existing": True})
    return saved.scalar_one()


async def get_bank_account(session: AsyncSession, venue_id: uuid.UUID) -> BankAccount | None:
    return await session.get(BankAccount, venue_id)


async def get_offerer(session: AsyncSession, offerer_id: uuid.UUID) -> Offerer | None:
    return await session.get(Offerer, offerer_id)


async def save_offerer(session: AsyncSession, offerer_id: uuid.UUID, name: str, siren: str) -> None:
    """Creates or updates the local copy of an offerer (from the catalog)."""
    values = {"name": name, "siren": siren}
    await session.execute(
        insert(Offerer)
        .values(id=offerer_id, **values)
        .on_conflict_do_update(
            index_elements=[Offerer.id], set_={**values, "updated_at": func.now()}
        )
    )


async def list_payments(
    session: AsyncSession, offerer_id: uuid.UUID, offset: int, limit: int
) -> list[Payment]:
    rows = await session.scalars(
        select(Payment)
        .where(Payment.offerer_id == offerer_id)
        .order_by(Payment.created_at.desc(), Payment.invoice_reference.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def get_payment(
    session: AsyncSession, payment_id: uuid.UUID, offerer_ids: Collection[uuid.UUID] | None
) -> Payment | None:
    """The payment, if one of these offerers' (None: any offerer's)."""
    query = select(Payment).where(Payment.id == payment_id)
    if offerer_ids is not None:
        query = query.where(Payment.offerer_id.in_(list(offerer_ids)))
    return await session.scalar(query)


async def lines_of(session: AsyncSession, payment_id: uuid.UUID) -> list[PaymentLine]:
    rows = await session.scalars(
        select(PaymentLine)
        .where(PaymentLine.payment_id == payment_id)
        .order_by(PaymentLine.used_at, PaymentLine.booking_id)
    )
    return list(rows)


async def get_batch(session: AsyncSession, batch_id: uuid.UUID) -> PaymentBatch | None:
    return await session.get(PaymentBatch, batch_id)


async def payments_of_batch(session: AsyncSession, batch_id: uuid.UUID) -> list[Payment]:
    rows = await session.scalars(
        select(Payment).where(Payment.batch_id == batch_id).order_by(Payment.invoice_reference)
    )
    return list(rows)
