"""Wrappers that keep secrets (scalars, byte strings) out of logs and reprs."""

from __future__ import annotations

import hmac

from chainsig.errors import KeyFormatError


class SecretScalar:
    """A 32-byte secret scalar (big-endian). `repr`/`str` print `<redacted>`; compare in constant time."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        if len(value) != 32:
            raise KeyFormatError("secret scalar must be 32 bytes")
        self._value = bytes(value)

    @classmethod
    def from_int(cls, value: int) -> SecretScalar:
        if not 0 <= value < 2**256:
            raise KeyFormatError("secret scalar out of range")
        return cls(value.to_bytes(32, "big"))

    @classmethod
    def from_hex(cls, text: str) -> SecretScalar:
        body = text[2:] if text.lower().startswith("0x") else text
        try:
            raw = bytes.fromhex(body)
        except ValueError:
            raise KeyFormatError("secret scalar is not hex") from None  # never echo the secret
        return cls(raw)

    def reveal(self) -> bytes:
        """The raw big-endian bytes; call only where the secret is used (signing)."""
        return self._value

    def as_int(self) -> int:
        return int.from_bytes(self._value, "big")

    def __repr__(self) -> str:
        return "SecretScalar(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretScalar) and hmac.compare_digest(self._value, other._value)

    __hash__ = None  # type: ignore[assignment]  # secrets are not dictionary keys


class SecretBytes:
    """A secret byte string of any length (a CKD app secret, a symmetric key). `repr`/`str` print `<redacted>`;
    compare in constant time; never hashable or picklable."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = bytes(value)

    def reveal(self) -> bytes:
        """The raw bytes; call only where the secret is used."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"SecretBytes(<redacted {len(self._value)} bytes>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretBytes) and hmac.compare_digest(self._value, other._value)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("SecretBytes cannot be pickled; write it out explicitly")
