"""The batch's SEPA credit-transfer file: ISO 20022 pain.001.001.03, one payment information
block, one transaction per creditor IBAN, validated against the ISO schema before it is kept."""

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from lxml import etree

from payments.domain.rates import PARIS

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
SCHEMA_FILE = Path(__file__).parent / "pain.001.001.03.xsd"
NAME_MAX = 140
PURPOSE = "GOVT"


class InvalidSepaFile(Exception):
    """The file built does not follow the schema (a bug, or data that slipped through)."""


@dataclass(frozen=True)
class Debtor:
    name: str
    iban: str
    bic: str
    # The initiating party's identifier (pass Culture's SIREN).
    organisation_id: str


@dataclass(frozen=True)
class PaidAccount:
    """One payment, as the file needs it."""

    invoice_reference: str
    amount_cents: int
    iban: str
    bic: str
    creditor_name: str
    creditor_siren: str


@dataclass(frozen=True)
class Transfer:
    end_to_end_id: str
    amount_cents: int
    iban: str
    bic: str
    creditor_name: str
    creditor_siren: str


@dataclass(frozen=True)
class SepaFile:
    batch_id: uuid.UUID
    created_at: datetime
    execution_date: date
    remittance: str
    transfers: list[Transfer]

    @property
    def control_sum_cents(self) -> int:
        return sum(transfer.amount_cents for transfer in self.transfers)


def transfers(accounts: Iterable[PaidAccount]) -> list[Transfer]:
    """One transfer per IBAN (payments to the same account are summed), named by the first
    invoice reference, unique like them. Nothing is sent for a total of zero."""
    by_iban: dict[str, list[PaidAccount]] = {}
    for account in accounts:
        by_iban.setdefault(account.iban, []).append(account)
    result = []
    for iban, group in sorted(by_iban.items()):
        first = min(group, key=lambda account: account.invoice_reference)
        amount = sum(account.amount_cents for account in group)
        if amount > 0:
            result.append(
                Transfer(
                    first.invoice_reference,
                    amount,
                    iban,
                    first.bic,
                    first.creditor_name,
                    first.creditor_siren,
                )
            )
    return result


def euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _sub(
    parent: etree._Element, tag: str, text: str | None = None, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _path(parent: etree._Element, *tags: str, text: str) -> None:
    """Nested elements ending with a text, e.g. _path(x, "Id", "IBAN", text=iban)."""
    for tag in tags[:-1]:
        parent = _sub(parent, tag)
    _sub(parent, tags[-1], text)


def _name(text: str) -> str:
    return " ".join(text.split())[:NAME_MAX]


def _organisation(parent: etree._Element, identifier: str, scheme: str) -> None:
    other = _sub(_sub(_sub(parent, "Id"), "OrgId"), "Othr")
    _sub(other, "Id", identifier)
    _path(other, "SchmeNm", "Prtry", text=scheme)


def _group_header(root: etree._Element, sepa: SepaFile, debtor: Debtor) -> None:
    header = _sub(root, "GrpHdr")
    _sub(header, "MsgId", f"M{sepa.batch_id.hex}")
    created = sepa.created_at.astimezone(PARIS).replace(tzinfo=None, microsecond=0)
    _sub(header, "CreDtTm", created.isoformat())
    _sub(header, "NbOfTxs", str(len(sepa.transfers)))
    _sub(header, "CtrlSum", euros(sepa.control_sum_cents))
    party = _sub(header, "InitgPty")
    _sub(party, "Nm", _name(debtor.name))
    _organisation(party, debtor.organisation_id, "SIREN")


def _transaction(block: etree._Element, transfer: Transfer, remittance: str) -> None:
    transaction = _sub(block, "CdtTrfTxInf")
    _path(transaction, "PmtId", "EndToEndId", text=transfer.end_to_end_id)
    _sub(_sub(transaction, "Amt"), "InstdAmt", euros(transfer.amount_cents), Ccy="EUR")
    _path(transaction, "CdtrAgt", "FinInstnId", "BIC", text=transfer.bic)
    creditor = _sub(transaction, "Cdtr")
    _sub(creditor, "Nm", _name(transfer.creditor_name))
    if transfer.creditor_siren:
        _organisation(creditor, transfer.creditor_siren, "SIREN")
    _path(transaction, "CdtrAcct", "Id", "IBAN", text=transfer.iban)
    _path(transaction, "Purp", "Cd", text=PURPOSE)
    _path(transaction, "RmtInf", "Ustrd", text=remittance)


def _payment_information(root: etree._Element, sepa: SepaFile, debtor: Debtor) -> None:
    block = _sub(root, "PmtInf")
    _sub(block, "PmtInfId", f"P{sepa.batch_id.hex}")
    _sub(block, "PmtMtd", "TRF")
    _sub(block, "NbOfTxs", str(len(sepa.transfers)))
    _sub(block, "CtrlSum", euros(sepa.control_sum_cents))
    _path(block, "PmtTpInf", "SvcLvl", "Cd", text="SEPA")
    _sub(block, "ReqdExctnDt", sepa.execution_date.isoformat())
    _sub(_sub(block, "Dbtr"), "Nm", _name(debtor.name))
    _path(block, "DbtrAcct", "Id", "IBAN", text=debtor.iban)
    _path(block, "DbtrAgt", "FinInstnId", "BIC", text=debtor.bic)
    _sub(block, "ChrgBr", "SLEV")
    for transfer in sepa.transfers:
        _transaction(block, transfer, sepa.remittance)


def build(sepa: SepaFile, debtor: Debtor) -> bytes:
    """The file's bytes (UTF-8), checked against the schema."""
    if not sepa.transfers:
        raise ValueError("a SEPA file needs at least one transfer")
    root = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    initiation = _sub(root, "CstmrCdtTrfInitn")
    _group_header(initiation, sepa, debtor)
    _payment_information(initiation, sepa, debtor)
    document: bytes = etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    validate(document)
    return document


@functools.cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))


def validate(document: bytes) -> None:
    schema = _schema()
    parsed = etree.fromstring(document)
    if not schema.validate(parsed):
        errors = "; ".join(str(error.message) for error in schema.error_log)
        raise InvalidSepaFile(f"the SEPA file does not follow pain.001.001.03: {errors}")
