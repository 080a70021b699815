"""The problems each operation can answer, documented in its OpenAPI responses: per HTTP status,
the `code` values (an enum in the problem's schema, listed in the description).

Built, not written per route: the statuses come from `errors.http_status` (the one table); the
upstream reasons from `UPSTREAM_REFUSALS`, keyed by the RPCs the route calls (read from its
source); the gateway's own codes from its dependencies (a token, a role, parameters, pages).
"""

import inspect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from enum import StrEnum

import grpc
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway.auth import admin_caller, authenticated_caller, beneficiary_caller, pro_caller
from gateway.dependencies import provider_caller
from gateway.errors import ProblemCode, http_status
from gateway.upstreams import UPSTREAMS
from passculture.booking.v1.reasons import Reason as Booking
from passculture.catalog.v1.reasons import Reason as Catalog
from passculture.common.v1.reasons import Reason as Common
from passculture.importer.v1.reasons import Reason as Importer
from passculture.payments.v1.reasons import Reason as Payments

Code = StrEnum | str


@dataclass(frozen=True)
class Refusal:
    """Reasons an upstream answers with one gRPC status code."""

    grpc_code: grpc.StatusCode
    reasons: tuple[Code, ...]


def invalid(*reasons: Code) -> Refusal:
    return Refusal(grpc.StatusCode.INVALID_ARGUMENT, reasons)


def not_found(*reasons: Code) -> Refusal:
    return Refusal(grpc.StatusCode.NOT_FOUND, reasons)


def exists(*reasons: Code) -> Refusal:
    return Refusal(grpc.StatusCode.ALREADY_EXISTS, reasons)


def precondition(*reasons: Code) -> Refusal:
    return Refusal(grpc.StatusCode.FAILED_PRECONDITION, reasons)


def denied(*reasons: Code) -> Refusal:
    return Refusal(grpc.StatusCode.PERMISSION_DENIED, reasons)


def unauthenticated(*reasons: Code) -> Refusal:
    return Refusal(grpc.StatusCode.UNAUTHENTICATED, reasons)


def exhausted(*reasons: Code) -> Refusal:
    return Refusal(grpc.StatusCode.RESOURCE_EXHAUSTED, reasons)


def unavailable(*reasons: Code) -> Refusal:
    return Refusal(grpc.StatusCode.UNAVAILABLE, reasons)


IDEMPOTENT = precondition(Common.IDEMPOTENCY_KEY_REUSED)
PAGED = invalid(Common.INVALID_PAGE_TOKEN)
THROTTLED = exhausted(Common.TOO_MANY_ATTEMPTS)
REFRESH = (unauthenticated(Common.INVALID_REFRESH_TOKEN),)
VENUE_CHECKS = invalid(
    Catalog.INVALID_NAME,
    Catalog.INVALID_SIRET,
    Catalog.SIRET_NOT_IN_OFFERER,
    Catalog.INVALID_POSTAL_CODE,
    Catalog.INVALID_COORDINATES,
    Catalog.INVALID_BOOKING_EMAIL,
    Catalog.INVALID_TIMEZONE,
)
STOCK_CHECKS = invalid(
    Catalog.INVALID_PRICE,
    Catalog.INVALID_QUANTITY,
    Catalog.INVALID_STARTS_AT,
    Catalog.STARTS_AT_IN_PAST,
    Catalog.INVALID_BOOKING_LIMIT,
    Catalog.INVALID_FEATURE,
)
# A stock's tariff: a category of the offer, or a bare price (whose category may be created).
STOCK_TARIFF = (
    invalid(Catalog.PRICE_REQUIRED),
    not_found(Catalog.PRICE_CATEGORY_NOT_FOUND),
    precondition(Catalog.TOO_MANY_PRICE_CATEGORIES),
)
PRICE_CATEGORY_CHECKS = (
    invalid(Catalog.INVALID_PRICE_CATEGORY_LABEL, Catalog.INVALID_PRICE),
    exists(Catalog.PRICE_CATEGORY_LABEL_TAKEN),
)
COUNTER = (
    not_found(Booking.COUNTERMARK_NOT_FOUND),
    exhausted(Booking.TOO_MANY_ATTEMPTS),
)
USABLE = (
    precondition(
        Booking.BOOKING_CANCELLED, Booking.BOOKING_ALREADY_USED, Booking.BOOKING_NOT_CONFIRMED
    ),
    denied(Booking.BOOKING_REIMBURSED, Booking.BOOKING_NOT_YET_VALIDATABLE),
)
MONEY_VENUE = (
    not_found(Payments.VENUE_NOT_FOUND),
    precondition(Payments.OFFERER_NOT_KNOWN_YET),
    unavailable(Payments.CATALOG_UNAVAILABLE),
)
ALLOCINE_VENUE = (not_found(Importer.VENUE_NOT_FOUND), unavailable(Importer.CATALOG_UNAVAILABLE))

# What each upstream RPC refuses on purpose, by the stub's name as routes call it
# (`<stubs>.<Rpc>`); a route calling an RPC missing here fails the OpenAPI's build (tested).
UPSTREAM_REFUSALS: dict[str, tuple[Refusal, ...]] = {
    # catalog
    "accounts.CreateProAccount": (
        invalid(
            Catalog.INVALID_EMAIL,
            Catalog.PASSWORD_TOO_SHORT,
            Catalog.INVALID_FIRST_NAME,
            Catalog.INVALID_LAST_NAME,
            Catalog.INVALID_OFFERER_NAME,
            Catalog.INVALID_SIREN,
        ),
        exists(Catalog.EMAIL_TAKEN, Catalog.OFFERER_EXISTS),
        IDEMPOTENT,
    ),
    "accounts.AuthenticateProUser": (unauthenticated(Catalog.INVALID_CREDENTIALS), THROTTLED),
    "accounts.RefreshSession": REFRESH,
    "accounts.RevokeSession": (),
    "accounts.ListMyOfferers": (),
    "accounts.ValidateOfferer": (not_found(Catalog.OFFERER_NOT_FOUND),),
    "api_keys.CreateApiKey": (
        not_found(Catalog.OFFERER_NOT_FOUND),
        invalid(Catalog.INVALID_API_KEY_NAME),
    ),
    "api_keys.ListApiKeys": (PAGED, not_found(Catalog.OFFERER_NOT_FOUND)),
    "api_keys.RevokeApiKey": (not_found(Catalog.OFFERER_NOT_FOUND, Catalog.API_KEY_NOT_FOUND),),
    "venues.CreateVenue": (
        VENUE_CHECKS,
        not_found(Catalog.OFFERER_NOT_FOUND),
        exists(Catalog.SIRET_TAKEN),
        IDEMPOTENT,
    ),
    "venues.ListVenues": (PAGED,),
    "venues.GetVenue": (not_found(Catalog.VENUE_NOT_FOUND),),
    "venues.UpdateVenue": (
        VENUE_CHECKS,
        not_found(Catalog.VENUE_NOT_FOUND),
        exists(Catalog.SIRET_TAKEN),
    ),
    "offers.CreateOffer": (
        invalid(Catalog.INVALID_TITLE, Catalog.INVALID_DURATION),
        not_found(Catalog.VENUE_NOT_FOUND),
        IDEMPOTENT,
    ),
    "offers.ListOffers": (PAGED,),
    "offers.GetOffer": (not_found(Catalog.OFFER_NOT_FOUND),),
    "offers.UpdateOffer": (
        invalid(Catalog.INVALID_TITLE, Catalog.INVALID_DURATION),
        not_found(Catalog.OFFER_NOT_FOUND),
    ),
    "offers.CreateStock": (
        STOCK_CHECKS,
        *STOCK_TARIFF,
        not_found(Catalog.OFFER_NOT_FOUND),
        IDEMPOTENT,
    ),
    "offers.ListStocks": (PAGED, not_found(Catalog.OFFER_NOT_FOUND)),
    "offers.UpdateStock": (
        STOCK_CHECKS,
        *STOCK_TARIFF,
        not_found(Catalog.STOCK_NOT_FOUND),
        precondition(Catalog.QUANTITY_BELOW_BOOKED, Catalog.STOCK_IN_PAST),
    ),
    "offers.DeleteStock": (
        not_found(Catalog.STOCK_NOT_FOUND),
        precondition(Catalog.STOCK_NOT_DELETABLE),
    ),
    "offers.CreatePriceCategory": (
        *PRICE_CATEGORY_CHECKS,
        precondition(Catalog.TOO_MANY_PRICE_CATEGORIES),
        not_found(Catalog.OFFER_NOT_FOUND),
        IDEMPOTENT,
    ),
    "offers.ListPriceCategories": (PAGED, not_found(Catalog.OFFER_NOT_FOUND)),
    "offers.UpdatePriceCategory": (
        *PRICE_CATEGORY_CHECKS,
        not_found(Catalog.PRICE_CATEGORY_NOT_FOUND),
    ),
    "offers.DeletePriceCategory": (
        not_found(Catalog.PRICE_CATEGORY_NOT_FOUND),
        precondition(Catalog.PRICE_CATEGORY_IN_USE),
    ),
    "members.InviteMember": (
        invalid(Catalog.INVALID_EMAIL),
        not_found(Catalog.OFFERER_NOT_FOUND),
        exists(Catalog.ALREADY_MEMBER),
        unauthenticated(Common.INVALID_TOKEN),
    ),
    "members.AcceptInvitation": (
        invalid(Catalog.PASSWORD_TOO_SHORT, Catalog.INVALID_FIRST_NAME, Catalog.INVALID_LAST_NAME),
        not_found(Catalog.INVITATION_NOT_FOUND),
        precondition(Catalog.INVITATION_USED, Catalog.INVITATION_EXPIRED),
        exists(Catalog.EMAIL_TAKEN, Catalog.ALREADY_MEMBER),
        unauthenticated(Catalog.INVALID_CREDENTIALS),
        THROTTLED,
    ),
    "members.ListMembers": (PAGED, not_found(Catalog.OFFERER_NOT_FOUND)),
    "members.RemoveMember": (
        not_found(Catalog.OFFERER_NOT_FOUND, Catalog.MEMBER_NOT_FOUND),
        precondition(Catalog.LAST_MEMBER),
    ),
    "search.SearchOffers": (PAGED, invalid(Catalog.INVALID_COORDINATES, Catalog.INVALID_RADIUS)),
    "search.GetPublicOffer": (not_found(Catalog.OFFER_NOT_FOUND),),
    # booking
    "beneficiaries.SignUpBeneficiary": (
        invalid(
            Booking.INVALID_EMAIL,
            Booking.PASSWORD_TOO_SHORT,
            Booking.INVALID_FIRST_NAME,
            Booking.INVALID_LAST_NAME,
            Booking.INVALID_BIRTH_DATE,
        ),
        exists(Booking.EMAIL_TAKEN),
        IDEMPOTENT,
    ),
    "beneficiaries.AuthenticateBeneficiary": (
        unauthenticated(Booking.INVALID_CREDENTIALS),
        THROTTLED,
    ),
    "beneficiaries.RefreshSession": REFRESH,
    "beneficiaries.RevokeSession": (),
    "beneficiaries.GetMe": (not_found(Booking.BENEFICIARY_NOT_FOUND),),
    "beneficiaries.GrantCredit": (
        not_found(Booking.BENEFICIARY_NOT_FOUND),
        invalid(Booking.NOT_ELIGIBLE),
        exists(Booking.ALREADY_GRANTED),
    ),
    "bookings.CreateBooking": (
        not_found(Booking.STOCK_NOT_FOUND),
        invalid(Booking.INVALID_QUANTITY),
        precondition(
            Booking.SOLD_OUT,
            Booking.NOT_BOOKABLE,
            Booking.ALREADY_BOOKED,
            Booking.BOOKING_TIMED_OUT,
            Booking.INSUFFICIENT_CREDIT,
            Common.IDEMPOTENCY_KEY_REUSED,
        ),
        denied(Booking.NO_CREDIT, Booking.CREDIT_EXPIRED),
        unavailable(Booking.CATALOG_UNAVAILABLE, Booking.TICKETING_UNAVAILABLE),
    ),
    "bookings.ListMyBookings": (PAGED,),
    "bookings.GetMyBooking": (not_found(Booking.BOOKING_NOT_FOUND),),
    "bookings.CancelMyBooking": (
        not_found(Booking.BOOKING_NOT_FOUND),
        precondition(
            Booking.ALREADY_CANCELLED, Booking.ALREADY_USED, Booking.CANCELLATION_LIMIT_PASSED
        ),
        unavailable(Booking.TICKETING_UNAVAILABLE),
    ),
    "counter.GetCountermark": (*COUNTER, *USABLE),
    "counter.UseCountermark": (*COUNTER, *USABLE, invalid(Booking.INVALID_VALIDATED_AT)),
    "counter.UnuseCountermark": (
        *COUNTER,
        precondition(Booking.BOOKING_NOT_USED),
        denied(Booking.BOOKING_REIMBURSED),
    ),
    "counter.ListProBookings": (PAGED, invalid(Booking.INVALID_STATUS)),
    "counter.ListTicketKeys": (),
    "counter.ListRevokedTickets": (not_found(Booking.VENUE_NOT_FOUND),),
    "jobs.RunAutoUse": (),
    "notifications.PutVenueNotifications": (
        not_found(Booking.VENUE_NOT_FOUND),
        invalid(Booking.INVALID_NOTIFICATION_URL, Booking.NOTIFICATION_URL_FORBIDDEN),
    ),
    "notifications.GetVenueNotifications": (
        not_found(Booking.VENUE_NOT_FOUND, Booking.NOTIFICATIONS_NOT_CONFIGURED),
    ),
    "notifications.DeleteVenueNotifications": (
        not_found(Booking.VENUE_NOT_FOUND, Booking.NOTIFICATIONS_NOT_CONFIGURED),
    ),
    "notifications.ListNotificationDeliveries": (PAGED, not_found(Booking.VENUE_NOT_FOUND)),
    # import
    "importer.PutAllocineSettings": (
        *ALLOCINE_VENUE,
        invalid(Importer.INVALID_THEATER_ID, Importer.INVALID_PRICE, Importer.INVALID_QUANTITY),
        precondition(Importer.VENUE_WITHOUT_SIRET, Importer.VENUE_LINKED_TO_TICKETING),
        exists(Importer.THEATER_TAKEN),
    ),
    "importer.GetAllocineSettings": (
        *ALLOCINE_VENUE,
        not_found(Importer.ALLOCINE_SETTINGS_NOT_FOUND),
    ),
    "importer.StartSync": (
        *ALLOCINE_VENUE,
        not_found(Importer.ALLOCINE_SETTINGS_NOT_FOUND),
        precondition(Importer.VENUE_WITHOUT_SIRET),
        IDEMPOTENT,
    ),
    "importer.ListSyncs": (*ALLOCINE_VENUE, PAGED),
    "importer.PutTicketingLink": (
        *ALLOCINE_VENUE,
        invalid(
            Importer.INVALID_TICKETING_SYSTEM,
            Importer.INVALID_TICKETING_ACCOUNT,
            Importer.INVALID_TICKETING_SECRET,
        ),
        precondition(
            Importer.VENUE_IMPORTS_FROM_ALLOCINE,
            Importer.VENUE_WITHOUT_SIRET,
            Importer.TICKETING_NOT_CONFIGURED,
        ),
        exists(Importer.TICKETING_CINEMA_TAKEN),
    ),
    "importer.GetTicketingLink": (*ALLOCINE_VENUE, not_found(Importer.TICKETING_LINK_NOT_FOUND)),
    "importer.DeleteTicketingLink": (
        *ALLOCINE_VENUE,
        not_found(Importer.TICKETING_LINK_NOT_FOUND),
    ),
    # payments
    "bank_accounts.PutBankAccount": (
        *MONEY_VENUE,
        invalid(Payments.INVALID_IBAN, Payments.INVALID_BIC, Payments.INVALID_HOLDER_NAME),
    ),
    "bank_accounts.GetBankAccount": (*MONEY_VENUE, not_found(Payments.BANK_ACCOUNT_NOT_FOUND)),
    "payments.ListPayments": (PAGED, not_found(Payments.OFFERER_NOT_FOUND)),
    "payments.GetPayment": (not_found(Payments.PAYMENT_NOT_FOUND),),
    "revenue.GetRevenue": (
        invalid(Payments.INVALID_YEAR),
        not_found(Payments.OFFERER_NOT_FOUND),
        unavailable(Payments.CATALOG_UNAVAILABLE),
    ),
    "batches.CreatePaymentBatch": (invalid(Payments.INVALID_CUTOFF),),
    "batches.GetPaymentBatch": (not_found(Payments.BATCH_NOT_FOUND),),
    "batches.GetSepaFile": (not_found(Payments.BATCH_NOT_FOUND, Payments.SEPA_FILE_NOT_FOUND),),
}
# What any upstream call may answer: an outage (the service's database, the connection, the
# route's upstream not configured), a timeout, a failure; with parameters, a value PostgreSQL
# refused.
ANY_UPSTREAM_CALL = (unavailable(Common.SERVICE_UNAVAILABLE, grpc.StatusCode.UNAVAILABLE.name),)
WITH_PARAMETERS = invalid(Common.INVALID_VALUE)
GATEWAY_UPSTREAM_PROBLEMS: dict[int, tuple[Code, ...]] = {
    502: (ProblemCode.BAD_GATEWAY,),
    503: (ProblemCode.UPSTREAM_NOT_CONFIGURED,),
    504: (grpc.StatusCode.DEADLINE_EXCEEDED.name,),
}
CALLERS = (authenticated_caller, pro_caller, admin_caller, beneficiary_caller)
# `<stubs>.<Rpc>(` in a route's source, e.g. `catalog.accounts.CreateProAccount(`.
RPC_CALL = re.compile(r"\.(\w+)\.([A-Z]\w*)\(")


STUBS = frozenset(field.name for upstream in UPSTREAMS for field in fields(upstream))


def upstream_calls(route: APIRoute) -> list[str]:
    """The RPCs the route's function calls, as `<stubs>.<Rpc>`."""
    source = inspect.getsource(route.endpoint)
    return [f"{stubs}.{rpc}" for stubs, rpc in RPC_CALL.findall(source) if stubs in STUBS]


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _is_paged(dependant: Dependant) -> bool:
    """A list with pages: it takes a `page_token` (routes.pagination)."""
    own = any(param.name == "page_token" for param in dependant.query_params)
    return own or any(_is_paged(sub) for sub in dependant.dependencies)


def _has_parameters(dependant: Dependant) -> bool:
    own = dependant.path_params or dependant.query_params or dependant.body_params
    return bool(own) or any(_has_parameters(sub) for sub in dependant.dependencies)


def problem_codes(route: APIRoute) -> dict[int, list[str]]:
    """Every problem code the route may answer, by HTTP status."""
    codes: dict[int, list[str]] = {500: [ProblemCode.INTERNAL]}

    def add(status: int, values: Iterable[Code]) -> None:
        listed = codes.setdefault(status, [])
        listed.extend(str(value) for value in values if str(value) not in listed)

    calls = set(_calls(route.dependant))
    if calls & set(CALLERS):
        add(401, (ProblemCode.UNAUTHENTICATED, Common.INVALID_TOKEN))
        add(403, (ProblemCode.FORBIDDEN,))
    if provider_caller in calls:
        add(401, (ProblemCode.UNAUTHENTICATED, Catalog.INVALID_API_KEY))
    parameters = _has_parameters(route.dependant)
    if parameters:
        add(422, (ProblemCode.VALIDATION_ERROR,))
    if route.dependant.path_params:
        add(404, ("NOT_FOUND",))  # a path the router does not match (e.g. with "/" in an id)
    rpcs = upstream_calls(route)
    if rpcs:
        for status, values in GATEWAY_UPSTREAM_PROBLEMS.items():
            add(status, values)
    refusals = [*ANY_UPSTREAM_CALL, *([WITH_PARAMETERS] if parameters else [])] if rpcs else []
    if _is_paged(route.dependant):
        refusals.append(PAGED)
    for rpc in rpcs:
        refusals.extend(UPSTREAM_REFUSALS[rpc])
    for refusal in refusals:
        for reason in refusal.reasons:
            answered = http_status(refusal.grpc_code, str(reason))
            if answered is None:
                raise ValueError(f"{refusal.grpc_code} has no HTTP status")
            add(answered, (reason,))
    return dict(sorted(codes.items()))
