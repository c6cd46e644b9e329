"""Key derivation against the published NEAR vectors and an independent point implementation (python-ecdsa)."""

from __future__ import annotations

import hashlib
import json
import pathlib
from typing import Any

import pytest
from ecdsa import SECP256k1, VerifyingKey
from nacl import bindings as sodium

from chainsig.errors import DerivationError, KeyFormatError
from chainsig.kdf import (
    SECP256K1_ORDER,
    TWEAK_PREFIX,
    derive_ed25519_public_key,
    derive_ed25519_secret_scalar,
    derive_public_key,
    derive_secp256k1_public_key,
    derive_secp256k1_secret,
    derive_tweak,
    secp256k1_scalar,
)
from chainsig.keys import Ed25519PublicKey, Secp256k1PublicKey, parse_public_key
from chainsig.local_signer import public_key_of
from chainsig.redacted import SecretScalar

# The reference values in /work/shared/reference/chain-signatures.md, carried inline.
TESTNET_SECP256K1_ROOT = (
    "secp256k1:4NfTiv3UsGahebgTaHyD9vF8KYKMBnfd6kh94mK6xv8fGBiJB8TBtFMP5WWXz6B89Ac1fbpzPwAvoyQebemHFwx3"
)
TESTNET_ED25519_ROOT = "ed25519:6vSEtQxrQj6txUMh33WC4ERyCWmNMRTdufDWAaDY3Un2"
SHARED_VECTORS = pathlib.Path(__file__).resolve().parents[3] / "shared" / "vectors" / "near_kdf.json"


def test_prefix_is_nears() -> None:
    assert TWEAK_PREFIX == "near-mpc-recovery v0.1.0 epsilon derivation:"


def test_tweak_vectors(near_kdf_vectors: dict[str, Any]) -> None:
    assert near_kdf_vectors["tweaks"], "vector file has no tweaks"
    for case in near_kdf_vectors["tweaks"]:
        assert derive_tweak(case["predecessor"], case["path"]).hex() == case["tweak"]


def test_tweak_inline_vectors() -> None:
    assert derive_tweak("dwefqwg", "frwewegwegweg").hex() == (
        "ad2d6fc1f445a1b43830415e7e6e3d03cd077673047848a085f130c24f53ee00"
    )
    assert derive_tweak("fnwef0942534", "fwefwo23fewfw").hex() == (
        "91da4d8973ea3ccaad9c7b71cb81fa512c4cc939c5157cdbf6a9605d3d1ce4a2"
    )


def test_tweak_separates_predecessor_and_path() -> None:
    assert derive_tweak("alice.near", "x") != derive_tweak("bob.near", "x")
    assert derive_tweak("alice.near", "x") != derive_tweak("alice.near", "y")


def test_repo_vectors_match_shared_copy() -> None:
    if not SHARED_VECTORS.exists():
        pytest.skip("../shared/vectors is absent (fresh clone); the repo copy is used alone")
    repo_copy = pathlib.Path(__file__).resolve().parent.parent / "vectors" / "near_kdf.json"
    assert json.loads(repo_copy.read_text()) == json.loads(SHARED_VECTORS.read_text())


def test_derived_key_vectors(near_kdf_vectors: dict[str, Any]) -> None:
    for case in near_kdf_vectors["derived"]:
        derived = derive_public_key(case["root"], case["predecessor"], case["path"])
        assert str(derived) == case["public_key"]
        if "compressed" in case:
            assert isinstance(derived, Secp256k1PublicKey)
            assert derived.compressed.hex() == case["compressed"]


def test_derived_key_inline_vectors() -> None:
    secp = derive_public_key(TESTNET_SECP256K1_ROOT, "derivation-test.testnet", "unit-test")
    assert str(secp) == (
        "secp256k1:3b3GS4kaAPvzxFUEYKiMvXeuBzttMZosggT3iAAbyZzAfQc1Dn4eLrDshNGGeKZyfSK7xegjPSq553NXHisMLiyA"
    )
    edw = derive_public_key(TESTNET_ED25519_ROOT, "derivation-test.testnet", "unit-test")
    assert str(edw) == "ed25519:49KFz8zeqrPcaSKqLCXtY79zW98ZW6Nd7W8vSsC7FdKJ"


@pytest.mark.parametrize("path", ["", "ethereum-1", "bitcoin,1", "ünïcode/路径"])
def test_secp256k1_derivation_matches_python_ecdsa(path: str) -> None:
    root = parse_public_key(TESTNET_SECP256K1_ROOT)
    assert isinstance(root, Secp256k1PublicKey)
    tweak = int.from_bytes(hashlib.sha3_256(f"{TWEAK_PREFIX}alice.near,{path}".encode()).digest(), "big")
    root_point = VerifyingKey.from_string(root.xy, curve=SECP256k1).pubkey.point
    expected = root_point + SECP256k1.generator * tweak
    derived = derive_secp256k1_public_key(root, "alice.near", path)
    assert derived.xy == expected.x().to_bytes(32, "big") + expected.y().to_bytes(32, "big")


def test_secp256k1_secret_derivation_matches_public(root_secret: SecretScalar) -> None:
    root_public = public_key_of(root_secret)
    derived_secret = derive_secp256k1_secret(root_secret, "alice.near", "ethereum-1")
    assert public_key_of(derived_secret) == derive_secp256k1_public_key(root_public, "alice.near", "ethereum-1")
    assert public_key_of(derived_secret) != root_public


def test_ed25519_secret_scalar_derivation_matches_public() -> None:
    root_scalar_le = sodium.crypto_core_ed25519_scalar_reduce(hashlib.sha512(b"root").digest())
    root_public = Ed25519PublicKey(sodium.crypto_scalarmult_ed25519_base_noclamp(root_scalar_le))
    root_scalar = SecretScalar.from_int(int.from_bytes(root_scalar_le, "little"))
    derived = derive_ed25519_secret_scalar(root_scalar, "alice.near", "solana-1")
    derived_le = derived.as_int().to_bytes(32, "little")
    assert sodium.crypto_scalarmult_ed25519_base_noclamp(derived_le) == (
        derive_ed25519_public_key(root_public, "alice.near", "solana-1").data
    )


def test_tweak_at_or_above_group_order_is_rejected() -> None:
    with pytest.raises(DerivationError):
        secp256k1_scalar(SECP256K1_ORDER.to_bytes(32, "big"))
    with pytest.raises(DerivationError):
        secp256k1_scalar(b"\xff" * 32)
    assert secp256k1_scalar((SECP256K1_ORDER - 1).to_bytes(32, "big")) == SECP256K1_ORDER - 1


def test_invalid_ed25519_root_is_rejected() -> None:
    small_order_point = bytes(32)  # y = 0 is not a prime-order point
    with pytest.raises(DerivationError):
        derive_ed25519_public_key(Ed25519PublicKey(small_order_point), "alice.near", "x")


@pytest.mark.parametrize(
    "text",
    [
        "secp256k1:",
        "secp256k1:0OIl",  # characters outside the base58 alphabet
        "secp256k1:" + "1" * 10,
        "ed25519:" + "2" * 10,
        "rsa:abc",
        "zz",
        "02" + "00" * 32,  # SEC1 hex, but not a curve point
        TESTNET_SECP256K1_ROOT[:-3] + "111",  # right length, off the curve
    ],
)
def test_malformed_keys_raise_key_format_error(text: str) -> None:
    with pytest.raises(KeyFormatError):
        parse_public_key(text)


def test_key_strings_round_trip_and_sec1_forms() -> None:
    key = parse_public_key(TESTNET_SECP256K1_ROOT)
    assert isinstance(key, Secp256k1PublicKey)
    assert str(key) == TESTNET_SECP256K1_ROOT
    assert parse_public_key(key.compressed.hex()) == key
    assert parse_public_key("0x" + key.uncompressed.hex()) == key
    edw = parse_public_key(TESTNET_ED25519_ROOT)
    assert str(edw) == TESTNET_ED25519_ROOT


def test_secret_scalar_is_redacted(root_secret: SecretScalar) -> None:
    secret_hex = root_secret.reveal().hex()
    assert "redacted" in repr(root_secret)
    assert secret_hex not in repr(root_secret) and secret_hex not in str(root_secret)
    with pytest.raises(KeyFormatError) as info:
        SecretScalar.from_hex("zz" + secret_hex)
    assert secret_hex not in str(info.value)
