"""Makes an Ed25519 key pair (access tokens' or tickets' signing key) when none exists.

python -m pclib.keys PRIVATE_PEM PUBLIC_PEM
"""

import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def ensure_key_pair(private_path: Path, public_path: Path) -> bool:
    """Writes a new key pair unless the private key exists; returns True when it wrote one."""
    if private_path.exists():
        return False
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return True


if __name__ == "__main__":
    if ensure_key_pair(Path(sys.argv[1]), Path(sys.argv[2])):
        print(f"generated an Ed25519 key pair in {sys.argv[1]} and {sys.argv[2]}")
