"""Prime-order groups for the protocols: secp256k1 (coincurve / libsecp256k1) and ed25519 (PyNaCl / libsodium).

Points travel as their canonical encodings (``Point`` = bytes): secp256k1 as 33-byte SEC1 compressed points,
ed25519 as 32-byte RFC 8032 encodings. Neither library has a usable point at infinity (coincurve cannot represent it,
libsodium's ``*_noclamp`` refuses to produce it), so the identity is handled here explicitly: secp256k1 uses the SEC1
identity encoding ``b"\\x00"``, ed25519 its canonical encoding ``01 00..00``. Scalars are Python ints reduced mod the
group order; they serialize big-endian on secp256k1 and little-endian on ed25519, as each curve's standards require.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import NewType, Protocol

import coincurve
import nacl.bindings as sodium
import nacl.exceptions

from .errors import MalformedMessageError, ZeroOrIdentityError
from .types import ParticipantId

__all__ = ["ED25519", "SECP256K1", "Ed25519", "Group", "Point", "RandomSource", "Secp256k1", "group_by_name"]

Point = NewType("Point", bytes)


class RandomSource(Protocol):
    """Where protocols get randomness: ``secrets.SystemRandom()`` in production, ``random.Random(seed)`` in tests."""

    def randbytes(self, n: int) -> bytes: ...


class Group(ABC):
    """A prime-order group with the operations the protocols need."""

    name: str
    order: int
    scalar_bytes: int
    point_bytes: int
    identity: Point
    generator: Point

    def __repr__(self) -> str:
        return f"Group({self.name})"

    # --- scalars -------------------------------------------------------------------------------------------------
    @abstractmethod
    def encode_scalar(self, k: int) -> bytes:
        """Canonical fixed-length encoding of ``k mod order``."""

    @abstractmethod
    def decode_scalar(self, data: bytes, *, culprit: ParticipantId | None = None) -> int:
        """Parse a canonical scalar (< order); raise ``MalformedMessageError`` otherwise."""

    @abstractmethod
    def scalar_from_digest(self, digest: bytes) -> int:
        """Reduce a (wide) hash digest to a scalar, reading it with the curve's byte order."""

    def random_scalar(self, rng: RandomSource) -> int:
        """A uniformly random non-zero scalar (64 random bytes reduced: bias below 2^-250)."""
        while True:
            k = int.from_bytes(rng.randbytes(64), "big") % self.order
            if k:
                return k

    def hash_to_scalar(self, *parts: bytes) -> int:
        """SHA-512 over length-prefixed parts, reduced mod order (callers put a domain label first)."""
        h = hashlib.sha512()
        for part in parts:
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
        return self.scalar_from_digest(h.digest())

    def invert(self, k: int, *, what: str = "scalar") -> int:
        """Multiplicative inverse mod order; zero raises ``ZeroOrIdentityError``."""
        k %= self.order
        if k == 0:
            raise ZeroOrIdentityError(f"cannot invert a zero {what}")
        return pow(k, -1, self.order)

    # --- points --------------------------------------------------------------------------------------------------
    def is_identity(self, p: Point) -> bool:
        return p == self.identity

    @abstractmethod
    def base_mul(self, k: int) -> Point:
        """k·G."""

    @abstractmethod
    def mul(self, p: Point, k: int) -> Point:
        """k·P."""

    @abstractmethod
    def add(self, p: Point, q: Point) -> Point:
        """P + Q."""

    @abstractmethod
    def neg(self, p: Point) -> Point:
        """−P."""

    def sub(self, p: Point, q: Point) -> Point:
        """P − Q."""
        return self.add(p, self.neg(q))

    def sum(self, points: Iterable[Point]) -> Point:
        """Σ points (the identity for an empty sum)."""
        acc = self.identity
        for p in points:
            acc = self.add(acc, p)
        return acc

    @abstractmethod
    def decode_point(self, data: bytes, *, allow_identity: bool = False, culprit: ParticipantId | None = None) -> Point:
        """Validate an encoded point (on the curve, canonical, in the prime-order subgroup)."""

    def require_not_identity(self, p: Point, what: str, culprit: ParticipantId | None = None) -> Point:
        if self.is_identity(p):
            raise ZeroOrIdentityError(f"{what} is the identity point", culprit=culprit)
        return p


class Secp256k1(Group):
    """secp256k1 through coincurve; scalars big-endian (SEC1)."""

    name = "secp256k1"
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    field_prime = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
    scalar_bytes = 32
    point_bytes = 33
    identity = Point(b"\x00")
    generator = Point(bytes.fromhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"))

    def encode_scalar(self, k: int) -> bytes:
        return (k % self.order).to_bytes(32, "big")

    def decode_scalar(self, data: bytes, *, culprit: ParticipantId | None = None) -> int:
        if len(data) != 32:
            raise MalformedMessageError(f"secp256k1 scalar must be 32 bytes, got {len(data)}", culprit=culprit)
        k = int.from_bytes(data, "big")
        if k >= self.order:
            raise MalformedMessageError("secp256k1 scalar is not below the group order", culprit=culprit)
        return k

    def scalar_from_digest(self, digest: bytes) -> int:
        return int.from_bytes(digest, "big") % self.order

    def base_mul(self, k: int) -> Point:
        k %= self.order
        if k == 0:
            return self.identity
        return Point(coincurve.PublicKey.from_secret(k.to_bytes(32, "big")).format(compressed=True))

    def mul(self, p: Point, k: int) -> Point:
        k %= self.order
        if k == 0 or p == self.identity:
            return self.identity
        return Point(coincurve.PublicKey(p).multiply(k.to_bytes(32, "big")).format(compressed=True))

    def add(self, p: Point, q: Point) -> Point:
        if p == self.identity:
            return q
        if q == self.identity:
            return p
        if p[1:] == q[1:] and p[0] != q[0]:  # P + (−P): coincurve cannot represent the result
            return self.identity
        return Point(coincurve.PublicKey.combine_keys([coincurve.PublicKey(p), coincurve.PublicKey(q)]).format())

    def sum(self, points: Iterable[Point]) -> Point:
        keys = [coincurve.PublicKey(p) for p in points if p != self.identity]
        if not keys:
            return self.identity
        if len(keys) == 1:
            return Point(keys[0].format())
        try:
            return Point(coincurve.PublicKey.combine_keys(keys).format())
        except ValueError:  # libsecp256k1 refuses only when the sum is the point at infinity
            return self.identity

    def neg(self, p: Point) -> Point:
        if p == self.identity:
            return p
        return Point(bytes([p[0] ^ 1]) + p[1:])

    def decode_point(self, data: bytes, *, allow_identity: bool = False, culprit: ParticipantId | None = None) -> Point:
        if data == self.identity:
            if not allow_identity:
                raise ZeroOrIdentityError("secp256k1 point is the identity", culprit=culprit)
            return self.identity
        if len(data) != 33 or data[0] not in (2, 3):
            raise MalformedMessageError("secp256k1 point must be 33-byte compressed SEC1", culprit=culprit)
        try:
            coincurve.PublicKey(data)
        except ValueError as exc:
            raise MalformedMessageError("secp256k1 point is not on the curve", culprit=culprit) from exc
        return Point(bytes(data))

    @staticmethod
    def x_coordinate(p: Point) -> int:
        """The affine x of a non-identity point."""
        return int.from_bytes(p[1:33], "big")

    @staticmethod
    def y_is_odd(p: Point) -> bool:
        return p[0] == 3

    def uncompressed(self, p: Point) -> bytes:
        """65-byte 04‖X‖Y encoding (for Ethereum addresses and NEAR key strings)."""
        return coincurve.PublicKey(p).format(compressed=False)


class Ed25519(Group):
    """edwards25519 (prime-order subgroup) through libsodium; scalars little-endian (RFC 8032)."""

    name = "ed25519"
    order = 2**252 + 27742317777372353535851937790883648493
    scalar_bytes = 32
    point_bytes = 32
    identity = Point(b"\x01" + b"\x00" * 31)
    generator = Point(bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666"))

    def encode_scalar(self, k: int) -> bytes:
        return (k % self.order).to_bytes(32, "little")

    def decode_scalar(self, data: bytes, *, culprit: ParticipantId | None = None) -> int:
        if len(data) != 32:
            raise MalformedMessageError(f"ed25519 scalar must be 32 bytes, got {len(data)}", culprit=culprit)
        k = int.from_bytes(data, "little")
        if k >= self.order:
            raise MalformedMessageError("ed25519 scalar is not below the group order", culprit=culprit)
        return k

    def scalar_from_digest(self, digest: bytes) -> int:
        return int.from_bytes(digest, "little") % self.order

    def base_mul(self, k: int) -> Point:
        k %= self.order
        if k == 0:
            return self.identity
        return Point(sodium.crypto_scalarmult_ed25519_base_noclamp(k.to_bytes(32, "little")))

    def mul(self, p: Point, k: int) -> Point:
        k %= self.order
        if k == 0 or p == self.identity:
            return self.identity
        # Points reaching here were validated into the prime-order subgroup, so k ≠ 0 never yields the identity.
        return Point(sodium.crypto_scalarmult_ed25519_noclamp(k.to_bytes(32, "little"), p))

    def add(self, p: Point, q: Point) -> Point:
        if p == self.identity:
            return q
        if q == self.identity:
            return p
        return Point(sodium.crypto_core_ed25519_add(p, q))

    def neg(self, p: Point) -> Point:
        if p == self.identity:
            return p
        return Point(sodium.crypto_core_ed25519_sub(self.identity, p))

    def sub(self, p: Point, q: Point) -> Point:
        if q == self.identity:
            return p
        return Point(sodium.crypto_core_ed25519_sub(p, q))

    def decode_point(self, data: bytes, *, allow_identity: bool = False, culprit: ParticipantId | None = None) -> Point:
        if data == self.identity:
            if not allow_identity:
                raise ZeroOrIdentityError("ed25519 point is the identity", culprit=culprit)
            return self.identity
        if len(data) != 32:
            raise MalformedMessageError("ed25519 point must be 32 bytes", culprit=culprit)
        try:
            valid = sodium.crypto_core_ed25519_is_valid_point(data)
        except nacl.exceptions.CryptoError as exc:  # pragma: no cover - defensive
            raise MalformedMessageError("ed25519 point is invalid", culprit=culprit) from exc
        if not valid:
            raise MalformedMessageError(
                "ed25519 point is not canonical, not on the curve, of small order or outside the prime-order subgroup",
                culprit=culprit,
            )
        return Point(bytes(data))


SECP256K1 = Secp256k1()
ED25519 = Ed25519()


def group_by_name(name: str) -> Group:
    """``"secp256k1"`` or ``"ed25519"``."""
    for group in (SECP256K1, ED25519):
        if group.name == name:
            return group
    raise ValueError(f"unknown group {name!r}")
