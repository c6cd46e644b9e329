"""A locally held secp256k1 key standing in for the MPC network (tests, demos). Never use it for real funds."""

from __future__ import annotations

import coincurve

from chainsig.errors import SignatureFormatError
from chainsig.keys import Secp256k1PublicKey
from chainsig.redacted import SecretScalar
from chainsig.signatures import EcdsaSignature

__all__ = ["public_key_of", "unsafe_sign_hash"]


def public_key_of(secret: SecretScalar) -> Secp256k1PublicKey:
    return Secp256k1PublicKey(coincurve.PrivateKey(secret.reveal()).public_key.format(compressed=False)[1:])


def unsafe_sign_hash(secret: SecretScalar, msg_hash: bytes) -> EcdsaSignature:
    """Sign a 32-byte hash as the MPC network would respond: (big_r, low s, recovery_id). RFC 6979 nonces."""
    if len(msg_hash) != 32:
        raise SignatureFormatError(f"message hash must be 32 bytes, got {len(msg_hash)}")
    rsv = coincurve.PrivateKey(secret.reveal()).sign_recoverable(msg_hash, hasher=None)
    r, s, recovery_id = rsv[:32], int.from_bytes(rsv[32:64], "big"), rsv[64]
    if recovery_id > 1:  # x(R) ≥ n: cannot be expressed as a compressed R from r (probability ~2^-128)
        raise SignatureFormatError("R's x coordinate overflowed the group order")
    big_r = bytes([2 | (recovery_id & 1)]) + r
    return EcdsaSignature(big_r, s, recovery_id)
