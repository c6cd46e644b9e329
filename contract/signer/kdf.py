"""Key derivation (near/mpc `derive_tweak`, `derive_key_secp256k1`, ed25519 `root + tweak*B`) and key strings.

tweak = SHA3-256("near-mpc-recovery v0.1.0 epsilon derivation:" + predecessor + "," + path).
secp256k1: derived = root + tweak*G, tweak read big-endian (must be < n). It is computed with one
`ecrecover` host call: with R = root (r = root.x, v = parity of root.y), s = r and h = -tweak*r mod n,
ecrecover returns r^-1 (s*R - h*G) = root + tweak*G.
"""

import _chainsig
import near
from tweak import TWEAK_PREFIX, derive_tweak  # noqa: F401 - re-exported for the views

SECP256K1_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
KEY_PREFIXES = {"Secp256k1": "secp256k1:", "Ed25519": "ed25519:", "Bls12381": "bls12381g2:"}
BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class KeyFormatError(Exception):
    """A key string or key bytes that cannot be used."""


def base58_encode(data):
    """Base58 in native code (`_chainsig`, contract/native): MicroPython's big integers made it ~0.7 Tgas a key."""
    return _chainsig.b58encode(data)


def base58_decode(text):
    raw = _chainsig.b58decode(text)
    if isinstance(raw, int):  # the byte offset of the first character outside the alphabet
        for char in text:
            if char not in BASE58_ALPHABET:
                raise KeyFormatError("invalid base58 character " + repr(char))
        raise KeyFormatError("invalid base58 text")
    return raw


def parse_public_key(text, scheme):
    """'secp256k1:<base58 64 bytes X||Y>', 'ed25519:<base58 32 bytes>' or 'bls12381g2:<base58 96 bytes>' -> raw
    bytes, checked (a BLS12-381 key's curve checks are bls.check_master_key's)."""
    if not isinstance(text, str):
        raise KeyFormatError("public key must be a string")
    prefix = KEY_PREFIXES[scheme]
    if not text.startswith(prefix):
        raise KeyFormatError("public key for " + scheme + " must start with " + prefix)
    raw = base58_decode(text[len(prefix):])
    if scheme == "Bls12381":
        if len(raw) != 96:
            raise KeyFormatError("bls12381g2 public key must be 96 bytes (compressed G2), got " + str(len(raw)))
    elif scheme == "Secp256k1":
        if len(raw) != 64:
            raise KeyFormatError("secp256k1 public key must be 64 bytes (X||Y), got " + str(len(raw)))
        x = int.from_bytes(raw[:32], "big")
        y = int.from_bytes(raw[32:], "big")
        if x >= SECP256K1_P or y >= SECP256K1_P or (y * y - x * x * x - 7) % SECP256K1_P:
            raise KeyFormatError("secp256k1 public key is not on the curve")
        if x >= SECP256K1_N or x == 0:
            raise KeyFormatError("secp256k1 public key x-coordinate must be in [1, n)")
    elif len(raw) != 32:
        raise KeyFormatError("ed25519 public key must be 32 bytes, got " + str(len(raw)))
    return raw


def format_public_key(raw, scheme):
    return KEY_PREFIXES[scheme] + base58_encode(raw)


def derive_secp256k1(root_xy, tweak):
    """root + tweak*G as 64 bytes X||Y (None if the tweak is not a valid scalar)."""
    epsilon = int.from_bytes(tweak, "big")
    if epsilon >= SECP256K1_N:
        return None
    r = int.from_bytes(root_xy[:32], "big")
    v = root_xy[63] & 1
    h = (-epsilon * r) % SECP256K1_N
    r_bytes = root_xy[:32]
    return near.ecrecover(h.to_bytes(32, "big"), r_bytes + r_bytes, v, False)
