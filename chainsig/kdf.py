"""NEAR MPC key derivation (near/mpc `derive_tweak`, `derive_key_secp256k1`, `derive_public_key_edwards_point_ed25519`).

tweak ε = SHA3-256("near-mpc-recovery v0.1.0 epsilon derivation:" ‖ predecessor ‖ "," ‖ path)
secp256k1: derived = root + ε·G, ε read big-endian, ε ≥ n rejected.
ed25519:   derived = root + ε·B, ε read little-endian, reduced mod ℓ.
CKD app id = SHA3-256("near-mpc v0.1.0 app_id derivation:" ‖ predecessor ‖ "," ‖ path) (confidential key derivation).
"""

from __future__ import annotations

import hashlib

import coincurve
from nacl import bindings as sodium

from chainsig.errors import DerivationError, KeyFormatError
from chainsig.keys import Ed25519PublicKey, PublicKey, Secp256k1PublicKey, parse_public_key
from chainsig.redacted import SecretScalar

__all__ = [
    "APP_ID_PREFIX",
    "SECP256K1_ORDER",
    "TWEAK_PREFIX",
    "derive_app_id",
    "derive_ed25519_public_key",
    "derive_ed25519_secret_scalar",
    "derive_public_key",
    "derive_secp256k1_public_key",
    "derive_secp256k1_secret",
    "derive_tweak",
    "parse_public_key",
    "secp256k1_scalar",
]

TWEAK_PREFIX = "near-mpc-recovery v0.1.0 epsilon derivation:"
APP_ID_PREFIX = "near-mpc v0.1.0 app_id derivation:"
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493


def derive_tweak(predecessor: str, path: str) -> bytes:
    """The 32-byte tweak ε for a (predecessor account, path) pair."""
    return hashlib.sha3_256(f"{TWEAK_PREFIX}{predecessor},{path}".encode()).digest()


def derive_app_id(predecessor: str, path: str) -> bytes:
    """The 32-byte CKD app id for a (predecessor account, path) pair: what the network's secret for the app is bound to."""
    return hashlib.sha3_256(f"{APP_ID_PREFIX}{predecessor},{path}".encode()).digest()


def secp256k1_scalar(tweak: bytes) -> int:
    """ε read big-endian as a secp256k1 scalar; ε ≥ n is rejected (near/mpc does the same), not reduced."""
    value = int.from_bytes(tweak, "big")
    if len(tweak) != 32 or value >= SECP256K1_ORDER:
        raise DerivationError("tweak is not a valid secp256k1 scalar (ε ≥ n)")
    return value


def _secp256k1_tweak(predecessor: str, path: str) -> bytes:
    tweak = derive_tweak(predecessor, path)
    secp256k1_scalar(tweak)
    return tweak


def _ed25519_tweak(predecessor: str, path: str) -> bytes:
    """ε as a canonical little-endian scalar mod ℓ (32 bytes)."""
    reduced: bytes = sodium.crypto_core_ed25519_scalar_reduce(derive_tweak(predecessor, path) + bytes(32))
    return reduced


def derive_secp256k1_public_key(root: Secp256k1PublicKey, predecessor: str, path: str) -> Secp256k1PublicKey:
    """root + ε·G."""
    tweak = _secp256k1_tweak(predecessor, path)
    try:
        point = coincurve.PublicKey(root.uncompressed).add(tweak)
    except ValueError as exc:  # the sum is the point at infinity (probability ~2^-256)
        raise DerivationError("derived secp256k1 key is the point at infinity") from exc
    return Secp256k1PublicKey(point.format(compressed=False)[1:])


def derive_ed25519_public_key(root: Ed25519PublicKey, predecessor: str, path: str) -> Ed25519PublicKey:
    """root + ε·B (ε little-endian, mod ℓ)."""
    if not sodium.crypto_core_ed25519_is_valid_point(root.data):
        raise DerivationError("ed25519 root key is not a valid prime-order point")
    tweak = _ed25519_tweak(predecessor, path)
    if tweak == bytes(32):
        return root
    tweak_point = sodium.crypto_scalarmult_ed25519_base_noclamp(tweak)
    return Ed25519PublicKey(sodium.crypto_core_ed25519_add(root.data, tweak_point))


def derive_public_key(root: PublicKey | str, predecessor: str, path: str) -> PublicKey:
    """Derive the child key of `root` (a key object or NEAR key string) for (predecessor, path)."""
    key = parse_public_key(root) if isinstance(root, str) else root
    if isinstance(key, Secp256k1PublicKey):
        return derive_secp256k1_public_key(key, predecessor, path)
    if isinstance(key, Ed25519PublicKey):
        return derive_ed25519_public_key(key, predecessor, path)
    raise KeyFormatError(f"unsupported root key type {type(key).__name__}")


def derive_secp256k1_secret(root_secret: SecretScalar, predecessor: str, path: str) -> SecretScalar:
    """root_secret + ε mod n: the secret of the derived key, for a locally held root (tests, demos)."""
    value = (root_secret.as_int() + int.from_bytes(_secp256k1_tweak(predecessor, path), "big")) % SECP256K1_ORDER
    if value == 0:
        raise DerivationError("derived secp256k1 secret is zero")
    return SecretScalar.from_int(value)


def derive_ed25519_secret_scalar(root_scalar: SecretScalar, predecessor: str, path: str) -> SecretScalar:
    """root scalar + ε mod ℓ for a locally held ed25519 root scalar (big-endian in the wrapper)."""
    value = (root_scalar.as_int() + int.from_bytes(_ed25519_tweak(predecessor, path), "little")) % ED25519_ORDER
    return SecretScalar.from_int(value)
