"""Encryption of credentials at rest (Fernet, with key rotation through MultiFernet).

Keys come from configuration (``HUB_SECRET_KEYS``: comma-separated Fernet keys, newest first). The
embedded default generates one into the instance folder. To rotate: put a new key first, keep the
old ones after it, run ``flask hub rotate-keys`` (re-encrypts every column declared
:class:`hub.models.Encrypted` with the newest key), then drop the old keys.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hub import redaction

#: How every Fernet token begins (version byte 0x80 and a 64-bit timestamp, base64url): what the vault's output
#: looks like wherever it is stored.
TOKEN_PREFIX = "gAAAAA"


class VaultError(Exception):
    """A stored secret cannot be decrypted with the configured keys."""


class Vault:
    def __init__(self, keys: list[str]) -> None:
        keys = [k.strip() for k in keys if k and k.strip()]
        if not keys:
            raise VaultError("No encryption key configured: set HUB_SECRET_KEYS.")
        self._keys = keys
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, data: dict) -> str:
        return self._fernet.encrypt(json.dumps(data, sort_keys=True).encode()).decode()

    def decrypt(self, token: str | None) -> dict:
        """Decrypt; every string value found is registered for log masking."""
        if not token:
            return {}
        try:
            data = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise VaultError(
                "Stored credentials cannot be decrypted with the configured keys "
                "(was HUB_SECRET_KEYS changed without keeping the old key?)."
            ) from exc
        redaction.register_secrets([v for v in data.values() if isinstance(v, str)])
        return data

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` with the newest key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise VaultError("Stored credentials cannot be decrypted with the configured keys.") from exc


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The content of a secret file (mode 0600), created with ``make()`` if missing. Safe when several
    processes start at once: the file appears complete or not at all (written aside, then hard-linked)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        finally:
            os.unlink(tmp)
    return path.read_text()


def load_or_create_keys(instance_path: str) -> list[str]:
    """Keys for the embedded default: ``instance/secret.keys`` (one per line), created if missing."""
    content = read_or_create(Path(instance_path) / "secret.keys", lambda: Vault.generate_key() + "\n")
    return [line for line in content.split() if line]
