"""The ticketing systems' secrets, encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256) with
the key of TICKETING_SECRET_KEY. The plain secret lives only in memory, for the adapter's call."""

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from passculture.importer.v1.reasons import Reason
from pclib.errors import FailedPrecondition


class SecretBox:
    def __init__(self, key: SecretStr) -> None:
        raw = key.get_secret_value()
        self._fernet = Fernet(raw.encode()) if raw else None

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            raise FailedPrecondition(
                Reason.TICKETING_NOT_CONFIGURED, "the import service has no TICKETING_SECRET_KEY"
            )
        return self._fernet

    def seal(self, secret: str) -> bytes:
        return self._cipher().encrypt(secret.encode())

    def open(self, sealed: bytes) -> SecretStr:
        """The secret; a row sealed with another key raises InvalidToken (a key rotation)."""
        return SecretStr(self._cipher().decrypt(sealed).decode())


__all__ = ["InvalidToken", "SecretBox"]
