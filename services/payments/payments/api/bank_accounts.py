"""BankAccountService: a venue's bank account, for its pros (and admins).

Whose venue it is comes from the catalog's GetVenue asked with the caller's own token: a pro
gets only its own venues (another offerer's answers VENUE_NOT_FOUND), an admin any venue. The
SEPA creditor is the venue's offerer: its name and SIREN come from ListMyOfferers (the pro's
token), or for an admin from the local copy kept from the catalog's `venue.upserted` events.
"""

import logging

import grpc
from sqlalchemy.ext.asyncio import async_sessionmaker

from passculture.payments.v1 import bank_account_service_pb2 as pb
from passculture.payments.v1 import bank_account_service_pb2_grpc as pb_grpc
from passculture.payments.v1.reasons import Reason
from payments import store
from payments.api.convert import bank_account_pb
from payments.catalog_client import (
    CallerMetadata,
    CatalogClient,
    CatalogOfferer,
    CatalogVenue,
    caller_metadata,
)
from payments.domain import bank_details
from pclib.auth import Principal, require_role
from pclib.errors import FailedPrecondition, NotFound

log = logging.getLogger(__name__)

CALLER_ROLES = ("pro", "admin")


class BankAccountServicer(pb_grpc.BankAccountServiceServicer):
    def __init__(self, sessions: async_sessionmaker, catalog: CatalogClient) -> None:
        self._sessions = sessions
        self._catalog = catalog

    async def PutBankAccount(
        self, request: pb.PutBankAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.PutBankAccountResponse:
        principal = require_role(*CALLER_ROLES)
        metadata = caller_metadata(context)
        venue = await self._catalog.venue_of_caller(request.venue_id, metadata)
        details = bank_details.check(request.iban, request.bic, request.holder_name)
        offerer = await self._offerer_of(venue, principal, metadata)
        async with self._sessions.begin() as session:
            await store.save_offerer(session, offerer.id, offerer.name, offerer.siren)
            account = await store.put_bank_account(
                session,
                {
                    "venue_id": venue.id,
                    "offerer_id": venue.offerer_id,
                    "iban": details.iban,
                    "bic": details.bic,
                    "holder_name": details.holder_name or offerer.name,
                    "creditor_name": offerer.name,
                    "offerer_siren": offerer.siren,
                    "venue_siret": venue.siret,
                },
            )
        log.info(
            "bank account put",
            extra={"venue_id": str(venue.id), "iban": bank_details.mask_iban(details.iban)},
        )
        return pb.PutBankAccountResponse(bank_account=bank_account_pb(account))

    async def GetBankAccount(
        self, request: pb.GetBankAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetBankAccountResponse:
        require_role(*CALLER_ROLES)
        venue = await self._catalog.venue_of_caller(request.venue_id, caller_metadata(context))
        async with self._sessions() as session:
            account = await store.get_bank_account(session, venue.id)
        if account is None:
            raise NotFound(Reason.BANK_ACCOUNT_NOT_FOUND, "this venue has no bank account")
        return pb.GetBankAccountResponse(bank_account=bank_account_pb(account))

    async def _offerer_of(
        self, venue: CatalogVenue, principal: Principal, metadata: CallerMetadata
    ) -> CatalogOfferer:
        if principal.role != "admin":
            offerers = await self._catalog.offerers_of_caller(metadata)
            mine = next((o for o in offerers if o.id == venue.offerer_id), None)
            if mine is None:  # the venue changed hands between the two calls
                raise NotFound(Reason.VENUE_NOT_FOUND, "venue not found")
            return mine
        async with self._sessions() as session:
            known = await store.get_offerer(session, venue.offerer_id)
        if known is None:
            raise FailedPrecondition(
                Reason.OFFERER_NOT_KNOWN_YET,
                "the venue's offerer has not reached the payments service yet: try again later",
            )
        return CatalogOfferer(known.id, known.name, known.siren)
