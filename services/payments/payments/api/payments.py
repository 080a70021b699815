"""PaymentService: payments as pros see them (their own offerers' only; admins see all)."""

import uuid

import grpc
from sqlalchemy.ext.asyncio import async_sessionmaker

from passculture.payments.v1 import payment_service_pb2 as pb
from passculture.payments.v1 import payment_service_pb2_grpc as pb_grpc
from passculture.payments.v1.reasons import Reason
from payments import store
from payments.api.convert import line_pb, parse_id, payment_pb
from payments.catalog_client import CatalogClient, caller_metadata
from pclib import pagination
from pclib.auth import require_role
from pclib.errors import NotFound

CALLER_ROLES = ("pro", "admin")


class PaymentServicer(pb_grpc.PaymentServiceServicer):
    def __init__(self, sessions: async_sessionmaker, catalog: CatalogClient) -> None:
        self._sessions = sessions
        self._catalog = catalog

    async def _offerers_of_caller(self, context: grpc.aio.ServicerContext) -> set[uuid.UUID] | None:
        """The caller's offerers; None for an admin (every offerer)."""
        principal = require_role(*CALLER_ROLES)
        if principal.role == "admin":
            return None
        offerers = await self._catalog.offerers_of_caller(caller_metadata(context))
        return {offerer.id for offerer in offerers}

    async def ListPayments(
        self, request: pb.ListPaymentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPaymentsResponse:
        mine = await self._offerers_of_caller(context)
        offerer_id = parse_id(request.offerer_id, Reason.OFFERER_NOT_FOUND)
        if mine is not None and offerer_id not in mine:
            raise NotFound(Reason.OFFERER_NOT_FOUND, "offerer not found")
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        async with self._sessions() as session:
            payments = await store.list_payments(session, offerer_id, offset, size + 1)
        return pb.ListPaymentsResponse(
            payments=[payment_pb(payment) for payment in payments[:size]],
            next_page_token=pagination.next_token(offset, size, len(payments)),
        )

    async def GetPayment(
        self, request: pb.GetPaymentRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPaymentResponse:
        mine = await self._offerers_of_caller(context)
        payment_id = parse_id(request.payment_id, Reason.PAYMENT_NOT_FOUND)
        async with self._sessions() as session:
            payment = await store.get_payment(session, payment_id, mine)
            if payment is None:
                raise NotFound(Reason.PAYMENT_NOT_FOUND, "payment not found")
            lines = await store.lines_of(session, payment.id)
        return pb.GetPaymentResponse(
            payment=payment_pb(payment), lines=[line_pb(line) for line in lines]
        )
