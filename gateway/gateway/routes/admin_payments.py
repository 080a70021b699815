"""Payment batches, for pass Culture staff (payments service BatchService)."""

import logging
import re
from collections.abc import AsyncIterator

import grpc
from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from gateway import money_views
from gateway.dependencies import AdminPayments
from gateway.schemas.money import CreatedPaymentBatchOut, PaymentBatchDetailOut, PaymentBatchIn
from passculture.payments.v1 import batch_service_pb2 as pb

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/admin/payment-batches", tags=["admin payments"])

XML_MEDIA_TYPE = "application/xml"
# What a filename may hold in the Content-Disposition header (it comes from the service).
UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


@router.post("", status_code=201)
async def create_batch(
    payments: AdminPayments, body: PaymentBatchIn | None = None
) -> CreatedPaymentBatchOut:
    """Prices and pays every reimbursable booking used before the cutoff and not yet paid.
    The same cutoff again answers the batch already made (`created: false`) and pays nothing.
    422 INVALID_CUTOFF for a cutoff in the future."""
    request = pb.CreatePaymentBatchRequest()
    if body is not None and body.cutoff is not None:
        request.cutoff.FromDatetime(body.cutoff)
    reply = await payments.batches.CreatePaymentBatch(request)
    return money_views.created_batch_out(reply.batch, reply.created)


@router.get("/{batch_id}")
async def get_batch(batch_id: str, payments: AdminPayments) -> PaymentBatchDetailOut:
    """404 BATCH_NOT_FOUND."""
    reply = await payments.batches.GetPaymentBatch(pb.GetPaymentBatchRequest(batch_id=batch_id))
    return money_views.batch_detail_out(reply.batch, reply.payments)


def _filename(given: str, batch_id: str) -> str:
    return UNSAFE_FILENAME.sub("_", given or f"payment-batch-{batch_id}.xml")


@router.get(
    "/{batch_id}/sepa.xml",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {XML_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "The batch's SEPA credit-transfer file (ISO 20022 pain.001.001.03)",
        }
    },
)
async def get_sepa_file(batch_id: str, payments: AdminPayments) -> StreamingResponse:
    """404 BATCH_NOT_FOUND."""
    call = payments.batches.GetSepaFile(pb.GetSepaFileRequest(batch_id=batch_id))
    chunks = aiter(call)
    # The first chunk is read before answering: a refusal is still a problem+json.
    first = await anext(chunks, None)

    async def body() -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield first.chunk
            async for reply in chunks:
                yield reply.chunk
        except grpc.aio.AioRpcError as error:
            # The answer has begun: breaking the connection tells the client it is truncated.
            log.error("SEPA file interrupted", extra={"grpc_code": error.code().name})
            raise
        finally:
            call.cancel()

    filename = _filename(first.filename if first is not None else "", batch_id)
    return StreamingResponse(
        body(),
        media_type=XML_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
