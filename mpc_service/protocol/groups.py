"""Prime-order groups for the protocols: secp256k1 (coincurve / libsecp256k1), ed25519 (PyNaCl / libsodium) and the
BLS12-381 groups G1 and G2 (arkworks through py-arkworks-bls12381), used by confidential key derivation.

Points travel as their canonical encodings (``Point`` = bytes): secp256k1 as 33-byte SEC1 compressed points,
ed25519 as 32-byte RFC 8032 encodings. Neither library has a usable point at infinity (coincurve cannot represent it,
libsodium's ``*_noclamp`` refuses to produce it), so the identity is handled here explicitly: secp256k1 uses the SEC1
identity encoding ``b"\\x00"``, ed25519 its canonical encoding ``01 00..00``. Scalars are Python ints reduced mod the
group order; they serialize big-endian on secp256k1 and little-endian on ed25519, as each curve's standards require.
BLS12-381 points are ZCash compressed encodings (48 bytes in G1, 96 in G2, identity ``0xc0 00..00``) and scalars
(mod r) little-endian, as near/threshold-signatures serializes them.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import NewType, Protocol

import coincurve
import nacl.bindings as sodium
import nacl.exceptions
from py_arkworks_bls12381 import G1Point, G2Point, Scalar

from .errors import MalformedMessageError, ZeroOrIdentityError
from .types import ParticipantId

__all__ = [
    "BLS12381_G1",
    "BLS12381_G2",
    "ED25519",
    "SECP256K1",
    "Bls12381G1",
    "Bls12381G2",
    "Ed25519",
    "Group",
    "Point",
    "RandomSource",
    "Secp256k1",
    "group_by_name",
]

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


_PARSED_MAX = 8192
_parsed: dict[bytes, coincurve.PublicKey] = {}  # encoding -> parsed point, for the points used or made recently


def _remember(data: bytes, key: coincurve.PublicKey) -> None:
    if len(_parsed) >= _PARSED_MAX:
        _parsed.clear()
    _parsed[data] = key


def _parsed_key(p: bytes) -> coincurve.PublicKey:
    """The parsed form of a valid encoding. Parsing decompresses (a square root) and was ~a quarter of triple
    generation's CPU: most points are parsed again and again (commitments evaluated for every participant) or
    right after an operation made them, so both are remembered. Points are public; `coincurve` never mutates one
    (`multiply` and `combine_keys` return new keys)."""
    key = _parsed.get(p)
    if key is None:
        key = coincurve.PublicKey(p)
        _remember(bytes(p), key)
    return key


def _encoded(key: coincurve.PublicKey) -> Point:
    data = key.format(compressed=True)
    _remember(data, key)
    return Point(data)


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
        return _encoded(coincurve.PublicKey.from_secret(k.to_bytes(32, "big")))

    def mul(self, p: Point, k: int) -> Point:
        k %= self.order
        if k == 0 or p == self.identity:
            return self.identity
        return _encoded(_parsed_key(p).multiply(k.to_bytes(32, "big")))

    def add(self, p: Point, q: Point) -> Point:
        if p == self.identity:
            return q
        if q == self.identity:
            return p
        if p[1:] == q[1:] and p[0] != q[0]:  # P + (−P): coincurve cannot represent the result
            return self.identity
        return _encoded(coincurve.PublicKey.combine_keys([_parsed_key(p), _parsed_key(q)]))

    def sum(self, points: Iterable[Point]) -> Point:
        keys = [_parsed_key(p) for p in points if p != self.identity]
        if not keys:
            return self.identity
        if len(keys) == 1:
            return _encoded(keys[0])
        try:
            return _encoded(coincurve.PublicKey.combine_keys(keys))
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
            _parsed_key(bytes(data))
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
        return _parsed_key(p).format(compressed=False)


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


class _Bls12381(Group):
    """Shared code of G1 and G2: arkworks points, decoded from the wire with on-curve and subgroup checks."""

    order = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
    scalar_bytes = 32
    _cls: type[G1Point | G2Point]

    def encode_scalar(self, k: int) -> bytes:
        return (k % self.order).to_bytes(32, "little")

    def decode_scalar(self, data: bytes, *, culprit: ParticipantId | None = None) -> int:
        if len(data) != 32:
            raise MalformedMessageError(f"{self.name} scalar must be 32 bytes, got {len(data)}", culprit=culprit)
        k = int.from_bytes(data, "little")
        if k >= self.order:
            raise MalformedMessageError(f"{self.name} scalar is not below the group order", culprit=culprit)
        return k

    def scalar_from_digest(self, digest: bytes) -> int:
        return int.from_bytes(digest, "little") % self.order

    def _load(self, p: Point) -> G1Point | G2Point:
        """A point this module encoded or ``decode_point`` validated: no subgroup check needed again."""
        return self._cls.from_compressed_bytes_unchecked(p)

    def base_mul(self, k: int) -> Point:
        return Point((self._cls() * Scalar(k % self.order)).to_compressed_bytes())

    def mul(self, p: Point, k: int) -> Point:
        return Point((self._load(p) * Scalar(k % self.order)).to_compressed_bytes())

    def add(self, p: Point, q: Point) -> Point:
        return Point((self._load(p) + self._load(q)).to_compressed_bytes())  # type: ignore[operator]

    def neg(self, p: Point) -> Point:
        return Point((-self._load(p)).to_compressed_bytes())

    def sum(self, points: Iterable[Point]) -> Point:
        acc = self._cls.identity()
        for p in points:
            acc = acc + self._load(p)  # type: ignore[operator]
        return Point(acc.to_compressed_bytes())

    def decode_point(self, data: bytes, *, allow_identity: bool = False, culprit: ParticipantId | None = None) -> Point:
        if len(data) != self.point_bytes:
            raise MalformedMessageError(f"{self.name} point must be {self.point_bytes} bytes", culprit=culprit)
        try:
            point = self._cls.from_compressed_bytes(bytes(data))  # on the curve and in the prime-order subgroup
        except ValueError as exc:
            raise MalformedMessageError(f"{self.name} point is invalid: {exc}", culprit=culprit) from exc
        if point.to_compressed_bytes() != data:  # non-canonical flags or coordinates
            raise MalformedMessageError(f"{self.name} point is not canonically encoded", culprit=culprit)
        if data == self.identity and not allow_identity:
            raise ZeroOrIdentityError(f"{self.name} point is the identity", culprit=culprit)
        return Point(bytes(data))


class Bls12381G1(_Bls12381):
    """BLS12-381 G1 (48-byte compressed points): where CKD's hash points, blinding points and signatures live."""

    name = "bls12381-g1"
    point_bytes = 48
    identity = Point(b"\xc0" + bytes(47))
    generator = Point(G1Point().to_compressed_bytes())
    _cls = G1Point


class Bls12381G2(_Bls12381):
    """BLS12-381 G2 (96-byte compressed points): the group of CKD's master key (DKG over G2)."""

    name = "bls12381-g2"
    point_bytes = 96
    identity = Point(b"\xc0" + bytes(95))
    generator = Point(G2Point().to_compressed_bytes())
    _cls = G2Point


SECP256K1 = Secp256k1()
ED25519 = Ed25519()
BLS12381_G1 = Bls12381G1()
BLS12381_G2 = Bls12381G2()


def group_by_name(name: str) -> Group:
    """``"secp256k1"``, ``"ed25519"``, ``"bls12381-g1"`` or ``"bls12381-g2"``."""
    for group in (SECP256K1, ED25519, BLS12381_G1, BLS12381_G2):
        if group.name == name:
            return group
    raise ValueError(f"unknown group {name!r}")
