"""django-redis's default client, decoding a cached value without first failing to read it as an
integer, and reading what no serializer of ours wrote as nothing.

`DefaultClient.decode` tries `int(value)` on every value read, since integers are stored as their
digits; on anything else that fails, and the ValueError's message quotes the value in full: a
repr of every cached value read, some 20,000 instructions for a 2 KB session entry (bench/README.md,
session 13). A value whose first byte cannot begin an integer goes to the serializer at once.

Values are JSON (settings.CACHES: never pickles, so a value planted in Redis runs no code). One that
is neither an integer nor JSON (planted, or a pickle from before) decodes as None, as a stored JSON
`null` would: a read finds nothing there rather than failing the request.
"""

from contextlib import suppress
from typing import Any

from django_redis.client import DefaultClient
from django_redis.exceptions import CompressorError

# What `int()` accepts at the start of bytes: ASCII whitespace, a sign, a digit.
_MAY_BEGIN_INT = frozenset(b" \t\n\r\x0b\x0c+-0123456789")


class GatewayClient(DefaultClient):
    def decode(self, value: bytes | int | str) -> Any:  # noqa: ANN401 (whatever was cached)
        if not (isinstance(value, bytes) and value and value[0] not in _MAY_BEGIN_INT):
            with suppress(ValueError, TypeError):
                return int(value)
        with suppress(CompressorError):  # as DefaultClient: small values are stored uncompressed
            value = self._compressor.decompress(value)
        try:
            return self._serializer.loads(value)
        except (ValueError, TypeError):  # not JSON (UnicodeDecodeError and JSONDecodeError are ValueErrors)
            return None
