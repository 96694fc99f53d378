"""Secrets at rest (client secrets, private keys): Fernet with key rotation.

FIELD_ENCRYPTION_KEYS lists keys newest first; everything encrypts with the first and decrypts
with any, so rotating means prepending a key and running `manage.py rotate_encryption_key`.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret could not be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.strip().encode()) for k in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("stored secret cannot be decrypted with the configured keys") from None


def reencrypt(token: str) -> str:
    """Re-encrypt under the newest key (for key rotation)."""
    return _current().rotate(token.encode()).decode()
