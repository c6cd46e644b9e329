"""NEAR public key strings: `secp256k1:<base58 of 64-byte X‖Y>` and `ed25519:<base58 of 32 bytes>`."""

from __future__ import annotations

from dataclasses import dataclass

import base58
import coincurve

from chainsig.errors import KeyFormatError

__all__ = ["Ed25519PublicKey", "PublicKey", "Secp256k1PublicKey", "parse_public_key"]


@dataclass(frozen=True)
class Secp256k1PublicKey:
    """A secp256k1 point as NEAR stores it: 64 bytes X‖Y (no 0x04 prefix). Validated on creation."""

    xy: bytes

    def __post_init__(self) -> None:
        if len(self.xy) != 64:
            raise KeyFormatError(f"secp256k1 public key must be 64 bytes X||Y, got {len(self.xy)}")
        try:
            coincurve.PublicKey(b"\x04" + self.xy)
        except ValueError as exc:
            raise KeyFormatError("secp256k1 public key is not a point on the curve") from exc

    @classmethod
    def from_sec1(cls, raw: bytes) -> Secp256k1PublicKey:
        """From a 33-byte compressed or 65-byte uncompressed SEC1 encoding."""
        try:
            point = coincurve.PublicKey(raw)
        except ValueError as exc:
            raise KeyFormatError("invalid SEC1 secp256k1 public key") from exc
        return cls(point.format(compressed=False)[1:])

    @property
    def compressed(self) -> bytes:
        """33-byte SEC1 compressed form."""
        return coincurve.PublicKey(b"\x04" + self.xy).format(compressed=True)

    @property
    def uncompressed(self) -> bytes:
        """65-byte SEC1 uncompressed form (0x04‖X‖Y)."""
        return b"\x04" + self.xy

    def __str__(self) -> str:
        return "secp256k1:" + base58.b58encode(self.xy).decode()


@dataclass(frozen=True)
class Ed25519PublicKey:
    """A 32-byte ed25519 public key (compressed Edwards point)."""

    data: bytes

    def __post_init__(self) -> None:
        if len(self.data) != 32:
            raise KeyFormatError(f"ed25519 public key must be 32 bytes, got {len(self.data)}")

    def __str__(self) -> str:
        return "ed25519:" + base58.b58encode(self.data).decode()


PublicKey = Secp256k1PublicKey | Ed25519PublicKey


def parse_public_key(text: str) -> PublicKey:
    """Parse a NEAR key string; also accepts SEC1 hex (33 or 65 bytes, optional 0x) for secp256k1."""
    text = text.strip()
    prefix, sep, body = text.partition(":")
    if not sep:
        return _parse_sec1_hex(text)
    try:
        raw = base58.b58decode(body.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise KeyFormatError(f"invalid base58 in public key {text!r}") from exc
    if prefix == "secp256k1":
        return Secp256k1PublicKey(raw)
    if prefix == "ed25519":
        return Ed25519PublicKey(raw)
    raise KeyFormatError(f"unknown key type prefix {prefix!r} (expected secp256k1 or ed25519)")


def _parse_sec1_hex(text: str) -> Secp256k1PublicKey:
    body = text[2:] if text.lower().startswith("0x") else text
    try:
        raw = bytes.fromhex(body)
    except ValueError as exc:
        raise KeyFormatError(f"not a NEAR key string nor SEC1 hex: {text!r}") from exc
    if len(raw) not in (33, 65):
        raise KeyFormatError(f"SEC1 secp256k1 key must be 33 or 65 bytes, got {len(raw)}")
    return Secp256k1PublicKey.from_sec1(raw)
