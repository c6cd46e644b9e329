"""Parsing the signer contract's responses and encoding signatures for foreign chains."""

from __future__ import annotations

import hashlib

import coincurve
import pytest
from ecdsa.util import sigdecode_der

from chainsig.errors import SignatureFormatError
from chainsig.kdf import SECP256K1_ORDER
from chainsig.local_signer import public_key_of, unsafe_sign_hash
from chainsig.redacted import SecretScalar
from chainsig.signatures import EcdsaSignature, Ed25519Signature, parse_signature_response

MESSAGE_HASH = hashlib.sha256(b"chain signatures").digest()


def _response(sig: EcdsaSignature) -> dict[str, object]:
    """The contract's JSON for a secp256k1 signature (near/mpc `SignatureResponse::Secp256k1`)."""
    return {
        "scheme": "Secp256k1",
        "big_r": {"affine_point": sig.big_r.hex().upper()},
        "s": {"scalar": sig.s.to_bytes(32, "big").hex().upper()},
        "recovery_id": sig.recovery_id,
    }


def test_secp256k1_response_round_trips(root_secret: SecretScalar) -> None:
    sig = unsafe_sign_hash(root_secret, MESSAGE_HASH)
    parsed = parse_signature_response(_response(sig))
    assert parsed == sig
    assert isinstance(parsed, EcdsaSignature)
    assert parsed.recover(MESSAGE_HASH) == public_key_of(root_secret)
    assert parsed.verify(MESSAGE_HASH, public_key_of(root_secret))


def test_legacy_response_without_scheme_is_accepted(root_secret: SecretScalar) -> None:
    sig = unsafe_sign_hash(root_secret, MESSAGE_HASH)
    legacy = _response(sig)
    del legacy["scheme"]
    assert parse_signature_response(legacy) == sig


def test_rsv_and_ethereum_v(root_secret: SecretScalar) -> None:
    sig = unsafe_sign_hash(root_secret, MESSAGE_HASH)
    rsv = sig.to_rsv()
    assert rsv[:32] == sig.big_r[1:] and int.from_bytes(rsv[32:64], "big") == sig.s and rsv[64] == sig.recovery_id
    assert rsv == coincurve.PrivateKey(root_secret.reveal()).sign_recoverable(MESSAGE_HASH, hasher=None)
    assert sig.ethereum_v() == 27 + sig.recovery_id
    assert sig.ethereum_v(chain_id=1) == 37 + sig.recovery_id


def test_der_encoding_decodes_with_python_ecdsa(root_secret: SecretScalar) -> None:
    sig = unsafe_sign_hash(root_secret, MESSAGE_HASH)
    assert sigdecode_der(sig.to_der(), SECP256K1_ORDER) == (sig.r, sig.s)


def test_high_s_is_normalized_with_flipped_recovery_id(root_secret: SecretScalar) -> None:
    sig = unsafe_sign_hash(root_secret, MESSAGE_HASH)
    high = EcdsaSignature(sig.big_r, SECP256K1_ORDER - sig.s, sig.recovery_id ^ 1)
    assert not high.is_low_s
    assert high.normalized() == sig
    assert high.verify(MESSAGE_HASH, public_key_of(root_secret))


def test_signature_does_not_verify_for_another_message(root_secret: SecretScalar) -> None:
    sig = unsafe_sign_hash(root_secret, MESSAGE_HASH)
    other = hashlib.sha256(b"other").digest()
    assert not sig.verify(other, public_key_of(root_secret))
    assert sig.recover(other) != public_key_of(root_secret)


def test_ed25519_response() -> None:
    from nacl.signing import SigningKey

    from chainsig.keys import Ed25519PublicKey

    signer = SigningKey(hashlib.sha256(b"seed").digest())
    raw = signer.sign(b"payload").signature
    parsed = parse_signature_response({"scheme": "Ed25519", "signature": list(raw)})
    assert isinstance(parsed, Ed25519Signature) and parsed.signature == raw
    key = Ed25519PublicKey(bytes(signer.verify_key))
    assert parsed.verify(b"payload", key) and not parsed.verify(b"payloaX", key)


GOOD_R = "02" + "79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798"
GOOD_S = {"scalar": "01" * 32}


@pytest.mark.parametrize(
    "response",
    [
        None,
        [],
        {"scheme": "Rsa"},
        {"scheme": "Secp256k1"},
        {"scheme": "Secp256k1", "big_r": {"affine_point": GOOD_R}, "s": GOOD_S},
        {"scheme": "Secp256k1", "big_r": {"affine_point": "zz"}, "s": GOOD_S, "recovery_id": 0},
        {"scheme": "Secp256k1", "big_r": {"affine_point": GOOD_R[2:]}, "s": GOOD_S, "recovery_id": 0},
        {"scheme": "Secp256k1", "big_r": {"affine_point": "02" + "00" * 32}, "s": GOOD_S, "recovery_id": 0},
        {"scheme": "Secp256k1", "big_r": {"affine_point": GOOD_R}, "s": {"scalar": "00" * 32}, "recovery_id": 0},
        {"scheme": "Secp256k1", "big_r": {"affine_point": GOOD_R}, "s": {"scalar": "ff" * 32}, "recovery_id": 0},
        {"scheme": "Secp256k1", "big_r": {"affine_point": GOOD_R}, "s": {"scalar": "01"}, "recovery_id": 0},
        {"scheme": "Secp256k1", "big_r": {"affine_point": GOOD_R}, "s": GOOD_S, "recovery_id": 7},
        {"scheme": "Secp256k1", "big_r": {"affine_point": GOOD_R}, "s": GOOD_S, "recovery_id": "0"},
        {"scheme": "Secp256k1", "big_r": {"affine_point": GOOD_R}, "s": GOOD_S, "recovery_id": True},
        {"scheme": "Ed25519", "signature": [0] * 63},
        {"scheme": "Ed25519", "signature": [256] * 64},
        {"scheme": "Ed25519", "signature": "00" * 64},
    ],
)
def test_malformed_responses_raise_signature_format_error(response: object) -> None:
    with pytest.raises(SignatureFormatError):
        parse_signature_response(response)


def test_good_constants_parse() -> None:
    """The malformed cases above differ from this valid one in exactly one field."""
    parsed = parse_signature_response(
        {"scheme": "Secp256k1", "big_r": {"affine_point": GOOD_R}, "s": GOOD_S, "recovery_id": 0}
    )
    assert isinstance(parsed, EcdsaSignature)
