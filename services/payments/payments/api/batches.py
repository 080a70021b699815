"""BatchService: payment batches and their SEPA files, for admins."""

from collections.abc import AsyncIterator

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from passculture.payments.v1 import batch_service_pb2 as pb
from passculture.payments.v1 import batch_service_pb2_grpc as pb_grpc
from passculture.payments.v1.reasons import Reason
from payments import store
from payments.api.convert import batch_pb, parse_id, payment_pb
from payments.batch.run import create_batch
from payments.domain.batch_dates import sepa_filename
from payments.sepa.pain001 import Debtor
from pclib.auth import require_role
from pclib.errors import NotFound
from pclib.timestamps import to_datetime

CHUNK_BYTES = 64 * 1024


class BatchServicer(pb_grpc.BatchServiceServicer):
    def __init__(self, engine: AsyncEngine, sessions: async_sessionmaker, debtor: Debtor) -> None:
        self._engine = engine
        self._sessions = sessions
        self._debtor = debtor

    async def CreatePaymentBatch(
        self, request: pb.CreatePaymentBatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreatePaymentBatchResponse:
        require_role("admin")
        cutoff = to_datetime(request.cutoff) if request.HasField("cutoff") else None
        outcome = await create_batch(self._engine, self._debtor, cutoff)
        return pb.CreatePaymentBatchResponse(batch=batch_pb(outcome.batch), created=outcome.created)

    async def GetPaymentBatch(
        self, request: pb.GetPaymentBatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPaymentBatchResponse:
        require_role("admin")
        batch_id = parse_id(request.batch_id, Reason.BATCH_NOT_FOUND)
        async with self._sessions() as session:
            batch = await store.get_batch(session, batch_id)
            if batch is None:
                raise NotFound(Reason.BATCH_NOT_FOUND, "payment batch not found")
            payments = await store.payments_of_batch(session, batch_id)
        return pb.GetPaymentBatchResponse(
            batch=batch_pb(batch), payments=[payment_pb(payment) for payment in payments]
        )

    async def GetSepaFile(
        self, request: pb.GetSepaFileRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GetSepaFileResponse]:
        require_role("admin")
        filename, document = await self._sepa_file(request.batch_id)
        for start in range(0, len(document), CHUNK_BYTES):
            yield pb.GetSepaFileResponse(
                chunk=document[start : start + CHUNK_BYTES],
                filename=filename if start == 0 else "",
            )

    async def _sepa_file(self, batch_id: str) -> tuple[str, bytes]:
        async with self._sessions() as session:
            batch = await store.get_batch(session, parse_id(batch_id, Reason.BATCH_NOT_FOUND))
        if batch is None:
            raise NotFound(Reason.BATCH_NOT_FOUND, "payment batch not found")
        if batch.sepa_xml is None:
            raise NotFound(
                Reason.SEPA_FILE_NOT_FOUND, "this batch paid nothing: it has no SEPA file"
            )
        return sepa_filename(batch.created_at, str(batch.id)), batch.sepa_xml
