"""A pro's money: their venues' bank accounts and the payments their offerers received (payments
service); other offerers' venues and payments answer 404."""

from typing import Annotated

from fastapi import APIRouter, Query

from gateway import money_views
from gateway.dependencies import ProPayments
from gateway.routes.pagination import Paging, page
from gateway.schemas.common import Page, QueryText
from gateway.schemas.money import BankAccountIn, BankAccountOut, PaymentDetailOut, PaymentOut
from passculture.payments.v1 import bank_account_service_pb2, payment_service_pb2

router = APIRouter(prefix="/v1/pro", tags=["pro money"])


@router.put("/venues/{venue_id}/bank-account")
async def put_bank_account(
    venue_id: str, body: BankAccountIn, payments: ProPayments
) -> BankAccountOut:
    """Creates or replaces the venue's bank account. 422 INVALID_IBAN (country format, checksum),
    INVALID_BIC; 404 VENUE_NOT_FOUND for another offerer's venue."""
    reply = await payments.bank_accounts.PutBankAccount(
        bank_account_service_pb2.PutBankAccountRequest(
            venue_id=venue_id, iban=body.iban, bic=body.bic, holder_name=body.holder_name
        )
    )
    return money_views.bank_account_out(reply.bank_account)


@router.get("/venues/{venue_id}/bank-account")
async def get_bank_account(venue_id: str, payments: ProPayments) -> BankAccountOut:
    """404 BANK_ACCOUNT_NOT_FOUND when the venue has none."""
    reply = await payments.bank_accounts.GetBankAccount(
        bank_account_service_pb2.GetBankAccountRequest(venue_id=venue_id)
    )
    return money_views.bank_account_out(reply.bank_account)


@router.get("/payments")
async def list_payments(
    payments: ProPayments,
    paging: Paging,
    offerer_id: Annotated[QueryText, Query(description="one of the caller's offerers")],
) -> Page[PaymentOut]:
    """The offerer's payments, newest first."""
    reply = await payments.payments.ListPayments(
        payment_service_pb2.ListPaymentsRequest(
            offerer_id=offerer_id, page_size=paging.page_size, page_token=paging.page_token
        )
    )
    return page(map(money_views.payment_out, reply.payments), reply.next_page_token)


@router.get("/payments/{payment_id}")
async def get_payment(payment_id: str, payments: ProPayments) -> PaymentDetailOut:
    """A payment with its lines: each booking's total, the rate applied and what was paid."""
    reply = await payments.payments.GetPayment(
        payment_service_pb2.GetPaymentRequest(payment_id=payment_id)
    )
    return money_views.payment_detail_out(reply.payment, reply.lines)
