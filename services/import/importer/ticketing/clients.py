"""The adapter of a linked venue, its secret opened for the call only."""

from typing import Any

import httpx

from importer.domain.ticketing_rules import TicketingSystem
from importer.settings import ImporterSettings
from importer.ticketing import Account, TicketingClient
from importer.ticketing.registry import client_for
from importer.ticketing.secrets import SecretBox


class TicketingClients:
    def __init__(
        self, http: httpx.AsyncClient, settings: ImporterSettings, secrets: SecretBox
    ) -> None:
        self._http = http
        self._settings = settings
        self.secrets = secrets

    def of(self, link: Any) -> TicketingClient:
        """`link`: a row or model with system, cinema_id, account_id, secret_sealed."""
        account = Account(link.cinema_id, link.account_id, self.secrets.open(link.secret_sealed))
        return client_for(TicketingSystem(link.system), self._http, self._settings, account)

    @property
    def sync_days(self) -> int:
        return self._settings.ticketing_sync_days
