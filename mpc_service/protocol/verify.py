"""Signature verification used by the protocols, the tests and (later) the node: ECDSA secp256k1 and Ed25519.

ECDSA goes through libsecp256k1 (coincurve) after strict DER parsing by python-ecdsa; libsecp256k1 only accepts
low-s, so high-s signatures are normalized first unless ``require_low_s`` (Bitcoin / NEAR ``respond`` rules) is set.
Ed25519 goes through libsodium (PyNaCl), which rejects non-canonical S, small-order keys and non-canonical points.
"""
from __future__ import annotations

import coincurve
import ecdsa.der
import ecdsa.util
import nacl.exceptions
import nacl.signing

from .groups import SECP256K1

__all__ = ["decode_der_signature", "recover_ecdsa", "verify_ecdsa", "verify_ecdsa_der", "verify_ed25519"]

_N = SECP256K1.order


def decode_der_signature(der: bytes) -> tuple[int, int] | None:
    """(r, s) from a strict DER ``SEQUENCE { INTEGER r, INTEGER s }``; ``None`` for any encoding error."""
    try:
        r, s = ecdsa.util.sigdecode_der(der, _N)
    except (ecdsa.der.UnexpectedDER, ValueError, IndexError):
        return None
    # python-ecdsa accepts some non-canonical forms; a re-encoding must give back the same bytes.
    if ecdsa.util.sigencode_der(r, s, _N) != der:
        return None
    return int(r), int(s)


def verify_ecdsa(public_key: bytes, msg_hash: bytes, r: int, s: int, *, require_low_s: bool = False) -> bool:
    """True iff (r, s) is a valid ECDSA signature of the 32-byte ``msg_hash`` under ``public_key`` (SEC1 bytes)."""
    if len(msg_hash) != 32 or not (0 < r < _N and 0 < s < _N):
        return False
    if s > _N // 2:
        if require_low_s:
            return False
        s = _N - s
    try:
        key = coincurve.PublicKey(public_key)
    except ValueError:
        return False
    return bool(key.verify(ecdsa.util.sigencode_der(r, s, _N), msg_hash, hasher=None))


def verify_ecdsa_der(public_key: bytes, msg_hash: bytes, der: bytes, *, require_low_s: bool = False) -> bool:
    """``verify_ecdsa`` for a DER-encoded signature."""
    rs = decode_der_signature(der)
    return rs is not None and verify_ecdsa(public_key, msg_hash, rs[0], rs[1], require_low_s=require_low_s)


def recover_ecdsa(msg_hash: bytes, r: int, s: int, recovery_id: int) -> bytes | None:
    """The compressed key that ``ecrecover`` returns (with NEAR's low-s rule), or ``None``."""
    if len(msg_hash) != 32 or recovery_id not in (0, 1) or not (0 < r < _N and 0 < s <= _N // 2):
        return None
    try:
        key = coincurve.PublicKey.from_signature_and_message(
            r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([recovery_id]), msg_hash, hasher=None
        )
    except ValueError:
        return None
    return bytes(key.format(compressed=True))


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff ``signature`` (64 bytes) is a valid RFC 8032 Ed25519 signature of ``message`` under ``public_key``."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True
