"""The adapter of each system: a third system is one module and one line here."""

from collections.abc import Callable

import httpx

from importer.domain.ticketing_rules import TicketingSystem
from importer.settings import ImporterSettings
from importer.ticketing import Account, TicketingClient
from importer.ticketing.boost import BoostClient
from importer.ticketing.cds import CdsClient

Factory = Callable[[httpx.AsyncClient, ImporterSettings, Account], TicketingClient]

ADAPTERS: dict[TicketingSystem, Factory] = {
    TicketingSystem.CDS: lambda http, settings, account: CdsClient(
        http, settings.cds_api_url, account
    ),
    TicketingSystem.BOOST: lambda http, settings, account: BoostClient(
        http, settings.boost_api_url, account
    ),
}


def client_for(
    system: TicketingSystem, http: httpx.AsyncClient, settings: ImporterSettings, account: Account
) -> TicketingClient:
    return ADAPTERS[system](http, settings, account)
