"""Pure crypto behind the host functions (sha256/keccak/ripemd160/ecrecover/ed25519)."""

from __future__ import annotations

import hashlib

import coincurve
import nacl.exceptions
import nacl.signing
from Crypto.Hash import RIPEMD160, keccak

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_N_HALF_ONE = SECP256K1_N // 2 + 1


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def keccak512(data: bytes) -> bytes:
    return keccak.new(digest_bits=512, data=data).digest()


def ripemd160(data: bytes) -> bytes:
    return RIPEMD160.new(data).digest()


def check_signature_values(signature64: bytes, reject_upper: bool) -> bool:
    """nearcore's `Secp256K1Signature::check_signature_values`: r < n and s < n (or s ≤ n/2 when
    `reject_upper`)."""
    r = int.from_bytes(signature64[:32], "big")
    s = int.from_bytes(signature64[32:64], "big")
    s_bound = SECP256K1_N_HALF_ONE if reject_upper else SECP256K1_N
    return r < SECP256K1_N and s < s_bound


def ecrecover(hash32: bytes, signature64: bytes, v: int) -> bytes | None:
    """Recover the 64-byte uncompressed public key (X‖Y), or None when recovery fails."""
    try:
        key = coincurve.PublicKey.from_signature_and_message(signature64 + bytes([v]), hash32, hasher=None)
    except Exception:  # noqa: BLE001 - coincurve raises ValueError/Exception for any unrecoverable input
        return None
    return bytes(key.format(compressed=False)[1:])


def ed25519_verify(signature: bytes, message: bytes, public_key: bytes) -> bool:
    """Verify with libsodium (PyNaCl). nearcore uses ed25519-dalek `verify` (non-strict); the two
    agree on honest signatures and on ordinary forgeries (see docs/runtime.md)."""
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.CryptoError):
        return False
    return True
