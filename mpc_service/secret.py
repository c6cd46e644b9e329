"""A wrapper for secret bytes that never shows its value in `repr`, `str` or logs."""

from __future__ import annotations

import hmac
from typing import Final

REDACTED: Final = "<redacted>"


class SecretBytes:
    """Secret key material. `repr`/`str` print `<redacted>`; read the value with `expose()` only where it is used."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = bytes(value)

    def expose(self) -> bytes:
        """The secret bytes; call at the point of use and do not keep or log the result."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretBytes) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash((SecretBytes, len(self._value)))

    def __repr__(self) -> str:
        return f"SecretBytes({REDACTED})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("SecretBytes cannot be pickled")
