"""Signatures as the signer contract returns them, and the encodings foreign chains need.

Contract responses (near/mpc):
  secp256k1: {"scheme":"Secp256k1","big_r":{"affine_point":"<33-byte hex>"},"s":{"scalar":"<32-byte hex>"},
              "recovery_id":0|1}
  ed25519:   {"scheme":"Ed25519","signature":[64 ints]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import coincurve
from ecdsa.util import sigencode_der
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from chainsig.errors import SignatureFormatError
from chainsig.kdf import SECP256K1_ORDER
from chainsig.keys import Ed25519PublicKey, Secp256k1PublicKey

__all__ = ["EcdsaSignature", "Ed25519Signature", "Signature", "parse_signature_response"]

_HALF_ORDER = SECP256K1_ORDER // 2


@dataclass(frozen=True)
class EcdsaSignature:
    """An MPC ECDSA signature: R as a compressed point, s, and the recovery id (0 or 1)."""

    big_r: bytes
    s: int
    recovery_id: int

    def __post_init__(self) -> None:
        if len(self.big_r) != 33 or self.big_r[0] not in (2, 3):
            raise SignatureFormatError("big_r must be a 33-byte compressed secp256k1 point")
        try:
            coincurve.PublicKey(self.big_r)
        except ValueError as exc:
            raise SignatureFormatError("big_r is not a point on secp256k1") from exc
        if not 0 < self.s < SECP256K1_ORDER:
            raise SignatureFormatError("s must be in [1, n-1]")
        if self.recovery_id not in (0, 1, 2, 3):
            raise SignatureFormatError(f"recovery_id must be 0..3, got {self.recovery_id}")
        if not 0 < self.r < SECP256K1_ORDER:
            raise SignatureFormatError("r = x(R) must be in [1, n-1]")

    @property
    def r(self) -> int:
        """x coordinate of R, the ECDSA `r` (x < n for all practical R)."""
        return int.from_bytes(self.big_r[1:], "big")

    @property
    def is_low_s(self) -> bool:
        return self.s <= _HALF_ORDER

    def normalized(self) -> EcdsaSignature:
        """The low-s form (s ≤ n/2), flipping the recovery id's parity bit when s is negated."""
        if self.is_low_s:
            return self
        return EcdsaSignature(self.big_r, SECP256K1_ORDER - self.s, self.recovery_id ^ 1)

    def to_rsv(self) -> bytes:
        """65 bytes r‖s‖recovery_id (the form ecrecover and coincurve take)."""
        return self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big") + bytes([self.recovery_id])

    def ethereum_v(self, chain_id: int | None = None) -> int:
        """27 + recovery_id, or EIP-155 `recovery_id + 35 + 2·chain_id` when a chain id is given."""
        if chain_id is None:
            return 27 + self.recovery_id
        return self.recovery_id + 35 + 2 * chain_id

    def to_der(self) -> bytes:
        """Strict DER (BIP-66) encoding of (r, s)."""
        return bytes(sigencode_der(self.r, self.s, SECP256K1_ORDER))

    def recover(self, msg_hash: bytes) -> Secp256k1PublicKey:
        """The public key that this signature recovers to for a 32-byte message hash."""
        _check_hash(msg_hash)
        try:
            point = coincurve.PublicKey.from_signature_and_message(self.to_rsv(), msg_hash, hasher=None)
        except ValueError as exc:
            raise SignatureFormatError("signature does not recover to any key") from exc
        return Secp256k1PublicKey(point.format(compressed=False)[1:])

    def verify(self, msg_hash: bytes, key: Secp256k1PublicKey) -> bool:
        """True if (r, s) is a valid ECDSA signature of `msg_hash` under `key` (either s form)."""
        _check_hash(msg_hash)
        low = self.normalized()  # libsecp256k1 verifies low-s only
        return bool(coincurve.PublicKey(key.uncompressed).verify(low.to_der(), msg_hash, hasher=None))

    def to_contract_json(self) -> dict[str, Any]:
        """The signer contract's secp256k1 response (what `respond` takes and `sign` returns). R is sent as the point
        whose y parity equals the recovery id: after low-s normalisation that is −R (same r, same signature), the
        form strict verifiers expect."""
        big_r = self.big_r if self.big_r[0] - 2 == self.recovery_id & 1 else bytes([self.big_r[0] ^ 1]) + self.big_r[1:]
        return {
            "scheme": "Secp256k1",
            "big_r": {"affine_point": big_r.hex().upper()},
            "s": {"scalar": self.s.to_bytes(32, "big").hex().upper()},
            "recovery_id": self.recovery_id,
        }

    @classmethod
    def from_response(cls, response: dict[str, Any]) -> EcdsaSignature:
        try:
            big_r = bytes.fromhex(response["big_r"]["affine_point"])
            s = int.from_bytes(_exact_hex(response["s"]["scalar"], 32), "big")
            recovery_id = response["recovery_id"]
        except (KeyError, TypeError, ValueError) as exc:
            raise SignatureFormatError(f"malformed secp256k1 signature response: {exc}") from exc
        if not isinstance(recovery_id, int) or isinstance(recovery_id, bool):
            raise SignatureFormatError("recovery_id must be an integer")
        return cls(big_r, s, recovery_id)


@dataclass(frozen=True)
class Ed25519Signature:
    """A 64-byte ed25519 signature R‖S."""

    signature: bytes

    def __post_init__(self) -> None:
        if len(self.signature) != 64:
            raise SignatureFormatError(f"ed25519 signature must be 64 bytes, got {len(self.signature)}")

    def verify(self, message: bytes, key: Ed25519PublicKey) -> bool:
        try:
            VerifyKey(key.data).verify(message, self.signature)
        except BadSignatureError:
            return False
        return True

    @classmethod
    def from_response(cls, response: dict[str, Any]) -> Ed25519Signature:
        raw = response.get("signature")
        if not isinstance(raw, list) or not all(isinstance(b, int) and 0 <= b <= 255 for b in raw):
            raise SignatureFormatError("ed25519 signature must be a list of byte values")
        return cls(bytes(raw))


Signature = EcdsaSignature | Ed25519Signature


def parse_signature_response(response: object) -> Signature:
    """Parse the signer contract's `sign` return value (already JSON-decoded)."""
    if not isinstance(response, dict):
        raise SignatureFormatError(f"signature response must be a JSON object, got {type(response).__name__}")
    scheme = response.get("scheme")
    if scheme == "Secp256k1" or (scheme is None and "big_r" in response):
        return EcdsaSignature.from_response(response)
    if scheme == "Ed25519":
        return Ed25519Signature.from_response(response)
    raise SignatureFormatError(f"unknown signature scheme {scheme!r}")


def _check_hash(msg_hash: bytes) -> None:
    if len(msg_hash) != 32:
        raise SignatureFormatError(f"message hash must be 32 bytes, got {len(msg_hash)}")


def _exact_hex(text: object, size: int) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected a hex string")
    raw = bytes.fromhex(text)
    if len(raw) != size:
        raise ValueError(f"expected {size} bytes, got {len(raw)}")
    return raw
