"""BatchService: payment batches and their SEPA files, for admins."""

from collections.abc import AsyncIterator

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from passculture.payments.v1 import batch_service_pb2 as pb
from passculture.payments.v1 import batch_service_pb2_grpc as pb_grpc
from payments import store
from payments.api.convert import batch_pb, parse_id, payment_pb, to_datetime
from payments.batch.run import create_batch
from payments.domain.batch_dates import sepa_filename
from payments.sepa.pain001 import Debtor
from pclib.auth import TokenVerifier, require_role, reset_principal, set_principal
from pclib.errors import DomainError, NotFound, Unauthenticated
from pclib.interceptors import status_of

CHUNK_BYTES = 64 * 1024


class BatchServicer(pb_grpc.BatchServiceServicer):
    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker,
        debtor: Debtor,
        verifier: TokenVerifier,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._debtor = debtor
        self._verifier = verifier

    async def CreatePaymentBatch(self, request, context):
        require_role("admin")
        cutoff = to_datetime(request.cutoff) if request.HasField("cutoff") else None
        outcome = await create_batch(self._engine, self._debtor, cutoff)
        return pb.CreatePaymentBatchResponse(batch=batch_pb(outcome.batch), created=outcome.created)

    async def GetPaymentBatch(self, request, context):
        require_role("admin")
        batch_id = parse_id(request.batch_id, "BATCH_NOT_FOUND")
        async with self._sessions() as session:
            batch = await store.get_batch(session, batch_id)
            if batch is None:
                raise NotFound("BATCH_NOT_FOUND", "payment batch not found")
            payments = await store.payments_of_batch(session, batch_id)
        return pb.GetPaymentBatchResponse(
            batch=batch_pb(batch), payments=[payment_pb(payment) for payment in payments]
        )

    async def GetSepaFile(self, request, context) -> AsyncIterator[pb.GetSepaFileResponse]:
        # pclib's interceptors wrap unary calls only: this stream authenticates and maps its
        # domain errors itself.
        try:
            token = set_principal(self._verified_caller(context))
            try:
                require_role("admin")
                filename, document = await self._sepa_file(request.batch_id)
            finally:
                reset_principal(token)
        except DomainError as error:
            status = status_of(error)
            await context.abort(status.code, status.details, status.trailing_metadata)
        for start in range(0, len(document), CHUNK_BYTES):
            yield pb.GetSepaFileResponse(
                chunk=document[start : start + CHUNK_BYTES],
                filename=filename if start == 0 else "",
            )

    def _verified_caller(self, context: grpc.aio.ServicerContext):
        metadata = dict(context.invocation_metadata() or ())
        authorization = metadata.get("authorization", "")
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("INVALID_TOKEN", "expected a Bearer token")
        return self._verifier.verify(token)

    async def _sepa_file(self, batch_id: str) -> tuple[str, bytes]:
        async with self._sessions() as session:
            batch = await store.get_batch(session, parse_id(batch_id, "BATCH_NOT_FOUND"))
        if batch is None:
            raise NotFound("BATCH_NOT_FOUND", "payment batch not found")
        if batch.sepa_xml is None:
            raise NotFound("SEPA_FILE_NOT_FOUND", "this batch paid nothing: it has no SEPA file")
        return sepa_filename(batch.created_at, str(batch.id)), batch.sepa_xml
