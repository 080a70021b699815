"""French company identifiers: SIREN and SIRET."""

LA_POSTE_SIREN = "356000000"


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _all_digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()


def is_valid_siren(siren: str) -> bool:
    return _all_digits(siren, 9) and luhn_valid(siren)


def is_valid_siret(siret: str) -> bool:
    if not _all_digits(siret, 14):
        return False
    if siret.startswith(LA_POSTE_SIREN):
        # La Poste's establishments break the Luhn rule; theirs is a digit sum divisible by 5.
        return sum(int(char) for char in siret) % 5 == 0
    return luhn_valid(siret)


def siret_belongs_to(siret: str, siren: str) -> bool:
    return siret[:9] == siren
