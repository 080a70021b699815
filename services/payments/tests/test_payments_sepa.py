"""The SEPA file: valid against the ISO schema, one transaction per IBAN, its control sums."""

import uuid
from datetime import UTC, date, datetime

import pytest
from lxml import etree

from payments.sepa import pain001
from tests.support.payments_helpers import BIC, new_iban

NS = {"p": pain001.NAMESPACE}
DEBTOR = pain001.Debtor("pass Culture", "FR7630001007941234567890185", "BDFEFRPPCCT", "853318459")
LABEL = "pass Culture Pro - remboursement 1ère quinzaine 11-2026"


def account(reference: str, cents: int, iban: str, name: str = "Cinéma X") -> pain001.PaidAccount:
    return pain001.PaidAccount(reference, cents, iban, BIC, name, "123456782")


def build(accounts: list[pain001.PaidAccount]) -> etree._Element:
    sepa = pain001.SepaFile(
        uuid.uuid4(),
        datetime(2026, 11, 16, 5, tzinfo=UTC),
        date(2026, 11, 23),
        LABEL,
        pain001.transfers(accounts),
    )
    return etree.fromstring(pain001.build(sepa, DEBTOR))


def texts(document: etree._Element, path: str) -> list[str]:
    return [element.text for element in document.findall(path, NS)]


def test_one_transaction_per_iban_with_sums_that_match():
    shared, alone = new_iban(1), new_iban(2)
    document = build(
        [
            account("F260000001", 12_345, shared),
            account("F260000002", 655, shared),
            account("F260000003", 1, alone, name="Le Méliès"),
        ]
    )
    transactions = document.findall(".//p:CdtTrfTxInf", NS)
    assert len(transactions) == 2
    amounts = {
        tx.find("p:CdtrAcct/p:Id/p:IBAN", NS).text: tx.find("p:Amt/p:InstdAmt", NS).text
        for tx in transactions
    }
    assert amounts == {shared: "130.00", alone: "0.01"}
    for level in ("p:CstmrCdtTrfInitn/p:GrpHdr", "p:CstmrCdtTrfInitn/p:PmtInf"):
        assert texts(document, f"{level}/p:NbOfTxs") == ["2"]
        assert texts(document, f"{level}/p:CtrlSum") == ["130.01"]
    end_to_end = texts(document, ".//p:EndToEndId")
    assert sorted(end_to_end) == ["F260000001", "F260000003"]
    assert set(texts(document, ".//p:Purp/p:Cd")) == {"GOVT"}
    assert set(texts(document, ".//p:RmtInf/p:Ustrd")) == {LABEL}
    assert texts(document, ".//p:ReqdExctnDt") == ["2026-11-23"]
    assert sorted(texts(document, ".//p:Cdtr/p:Nm")) == ["Cinéma X", "Le Méliès"]
    assert set(texts(document, ".//p:Cdtr/p:Id/p:OrgId/p:Othr/p:Id")) == {"123456782"}


def test_many_transfers_have_unique_end_to_end_ids_and_a_valid_file():
    accounts = [account(f"F26{n:07d}", 100 + n, new_iban(n)) for n in range(1, 301)]
    document = build(accounts)
    ids = texts(document, ".//p:EndToEndId")
    assert len(ids) == len(set(ids)) == 300
    assert all(len(i) <= 35 for i in ids)
    assert texts(document, ".//p:GrpHdr/p:CtrlSum") == [
        pain001.euros(sum(a.amount_cents for a in accounts))
    ]


def test_long_names_are_cut_to_what_the_schema_allows():
    document = build([account("F260000001", 100, new_iban(1), name="Cinéma " * 40)])
    (name,) = texts(document, ".//p:Cdtr/p:Nm")
    assert len(name) == 140


def test_nothing_is_transferred_for_a_total_of_zero():
    assert pain001.transfers([account("F260000001", 0, new_iban(1))]) == []


def test_a_file_that_breaks_the_schema_is_refused():
    document = build([account("F260000001", 100, new_iban(1))])
    document.find(".//p:Purp/p:Cd", NS).text = "WAY TOO LONG FOR A CODE"
    with pytest.raises(pain001.InvalidSepaFile):
        pain001.validate(etree.tostring(document))
