"""Crypto host functions (tests/localnet/wat/crypto.wat) against independent libraries: hashlib/pycryptodome
hashes, coincurve for ecrecover (with nearcore's malleability flag), PyNaCl for ed25519_verify."""

from __future__ import annotations

import hashlib
import os

import coincurve
import pytest
from Crypto.Hash import RIPEMD160, keccak
from nacl.signing import SigningKey
from test_runtime_support import run, wat

from localnet.runtime.fees import EXT_COSTS

CRYPTO = wat("crypto")
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _value(method: str, data: bytes) -> bytes:
    outcome = run(CRYPTO, method, input=data)
    assert outcome.error is None, outcome.error
    return outcome.return_data.value


@pytest.mark.parametrize("data", [b"", b"abc", os.urandom(1000)], ids=["empty", "abc", "1000-random"])
def test_hashes_match_reference_libraries(data: bytes) -> None:
    assert _value("sha256", data) == hashlib.sha256(data).digest()
    assert _value("keccak256", data) == keccak.new(data=data, digest_bits=256).digest()
    assert _value("keccak512", data) == keccak.new(data=data, digest_bits=512).digest()
    assert _value("ripemd160", data) == RIPEMD160.new(data).digest()


def test_sha256_charges_base_plus_per_byte() -> None:
    short, long = run(CRYPTO, "sha256", input=b"x"), run(CRYPTO, "sha256", input=b"x" * 1001)
    # The extra 1000 bytes cost sha256_byte each, plus the input/register copies of those bytes.
    assert long.burnt_gas - short.burnt_gas >= 1000 * EXT_COSTS.sha256_byte


def _ecrecover(message_hash: bytes, sig64: bytes, v: int, flag: int, sig_len: int = 64) -> tuple[int, bytes]:
    data = message_hash + sig64 + v.to_bytes(8, "little") + flag.to_bytes(8, "little") + sig_len.to_bytes(8, "little")
    out = _value("ecrecover", data)
    return int.from_bytes(out[:8], "little"), out[8:]


def test_ecrecover_recovers_the_signer_and_honours_the_malleability_flag() -> None:
    key = coincurve.PrivateKey()
    message_hash = hashlib.sha256(b"chain signatures").digest()
    recoverable = key.sign_recoverable(message_hash, hasher=None)
    r, s, v = recoverable[:32], int.from_bytes(recoverable[32:64], "big"), recoverable[64]
    expected = key.public_key.format(compressed=False)[1:]
    assert _ecrecover(message_hash, recoverable[:64], v, 1) == (1, expected)
    # The same signature with s' = n - s and the other parity recovers the same key, but only without the flag.
    high_s = r + (SECP256K1_N - s).to_bytes(32, "big")
    assert _ecrecover(message_hash, high_s, v ^ 1, 0) == (1, expected)
    assert _ecrecover(message_hash, high_s, v ^ 1, 1)[0] == 0
    # A signature that recovers nothing: r = 0.
    assert _ecrecover(message_hash, bytes(32) + recoverable[32:64], v, 0)[0] == 0


@pytest.mark.parametrize(
    ("v", "flag", "sig_len", "message"),
    [
        (4, 0, 64, "ECDSA recover error: V recovery byte 0 through 3 are valid but was provided 4"),
        (0, 2, 64, "ECDSA recover error: Malleability flag needs to be 0 or 1, but is instead 2"),
        (0, 0, 63, "ECDSA recover error: The length of the signature: 63, exceeds the limit of 64 bytes"),
    ],
)
def test_ecrecover_rejects_bad_input_with_nearcore_errors(v: int, flag: int, sig_len: int, message: str) -> None:
    data = bytes(32) + bytes(64) + v.to_bytes(8, "little") + flag.to_bytes(8, "little") + sig_len.to_bytes(8, "little")
    outcome = run(CRYPTO, "ecrecover", input=data)
    assert outcome.error is not None and outcome.error.message == message


def test_ed25519_verify() -> None:
    key = SigningKey.generate()
    message = b"signed payload"
    signature = bytes(key.sign(message).signature)
    public = bytes(key.verify_key)

    def verify(sig: bytes, pk: bytes, msg: bytes) -> int:
        return int.from_bytes(_value("ed25519_verify", sig + pk + msg), "little")

    assert verify(signature, public, message) == 1
    assert verify(signature, public, message + b"!") == 0
    assert verify(bytes(64), public, message) == 0
    outcome = run(CRYPTO, "ed25519_short_sig", input=bytes(95))
    assert outcome.error is not None
    assert outcome.error.message == "ED25519 signature verification error: invalid signature length"


def test_alt_bn128_is_reported_as_unsupported() -> None:
    outcome = run(CRYPTO, "alt_bn128")
    assert outcome.error is not None
    assert outcome.error.kind == ("FunctionCallError", "HostError", "AltBn128InvalidInput")
    assert "unsupported" in outcome.error.message
