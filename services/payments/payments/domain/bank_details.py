"""IBAN and BIC checks (schwifty: checksum, country format, BIC structure) and masking."""

import re
from dataclasses import dataclass

from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors

from passculture.payments.v1.reasons import Reason
from pclib.errors import InvalidArgument

HOLDER_NAME_MAX = 140
# The BIC pattern of the SEPA schema (pain.001.001.03), stricter than schwifty's.
SEPA_BIC = re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?")
# Territories whose banks use French BICs (the IBAN says e.g. GP or RE, the BIC says FR), and
# Monaco, whose accounts are often held in French banks' branches.
FRENCH_BANKING_ZONE = frozenset(
    {"FR", "GF", "GP", "MQ", "RE", "YT", "NC", "PF", "PM", "BL", "MF", "WF", "TF", "MC"}
)


class InvalidIban(InvalidArgument):
    def __init__(self, message: str) -> None:
        super().__init__(Reason.INVALID_IBAN, message)


class InvalidBic(InvalidArgument):
    def __init__(self, message: str) -> None:
        super().__init__(Reason.INVALID_BIC, message)


class InvalidHolderName(InvalidArgument):
    def __init__(self, message: str) -> None:
        super().__init__(Reason.INVALID_HOLDER_NAME, message)


@dataclass(frozen=True)
class BankDetails:
    iban: str  # compact, upper case
    bic: str  # 11 characters
    holder_name: str


# schwifty's own messages quote the account number: ours never do.
IBAN_PROBLEMS = (
    (schwifty_errors.InvalidChecksumDigits, "its check digits are wrong"),
    (schwifty_errors.InvalidCountryCode, "its country code is unknown"),
    (schwifty_errors.InvalidLength, "its length is not that of its country"),
    (schwifty_errors.InvalidStructure, "it does not follow its country's format"),
)


def parse_iban(value: str) -> str:
    try:
        return IBAN(value).compact
    except schwifty_errors.SchwiftyException as error:
        why = next((text for kind, text in IBAN_PROBLEMS if isinstance(error, kind)), "")
        raise InvalidIban(f"the IBAN is not valid: {why or 'unreadable'}") from None


def parse_bic(value: str) -> BIC:
    try:
        bic = BIC(value)
    except schwifty_errors.SchwiftyException as error:
        raise InvalidBic(f"the BIC is not valid: {error}") from None
    if not SEPA_BIC.fullmatch(bic.compact):
        raise InvalidBic("the BIC is not valid for SEPA transfers")
    return bic


def _same_banking_country(iban_country: str, bic_country: str) -> bool:
    if iban_country == bic_country:
        return True
    return iban_country in FRENCH_BANKING_ZONE and bic_country in FRENCH_BANKING_ZONE


def check(iban: str, bic: str, holder_name: str) -> BankDetails:
    """The bank details, normalised; InvalidIban, InvalidBic or InvalidHolderName otherwise."""
    compact = parse_iban(iban)
    parsed_bic = parse_bic(bic)
    if not _same_banking_country(compact[:2], parsed_bic.country_code):
        raise InvalidBic(
            f"the BIC is of country {parsed_bic.country_code}, the IBAN of {compact[:2]}"
        )
    name = " ".join(holder_name.split())
    if len(name) > HOLDER_NAME_MAX:
        raise InvalidHolderName(f"the holder name is longer than {HOLDER_NAME_MAX} characters")
    return BankDetails(compact, _bic11(parsed_bic.compact), name)


def _bic11(bic: str) -> str:
    """BICs of 8 characters name the head office: XXX completes them."""
    return bic if len(bic) == 11 else f"{bic}XXX"


def mask_iban(iban: str) -> str:
    """ "FR76 **** **** **** **** ***0 189": country and check digits, then only the last 4."""
    compact = iban.replace(" ", "").upper()
    hidden = compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    return " ".join(hidden[i : i + 4] for i in range(0, len(hidden), 4))
