"""Wycheproof verification vectors (ECDSA secp256k1 plain and Bitcoin low-s, Ed25519) through the project's verifiers:
mpc_service.protocol.verify and chainsig.signatures. The vectors live outside the project (<root>/../shared/vectors);
the tests skip, saying why, where that folder is absent."""
from __future__ import annotations

import hashlib
import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from chainsig.errors import ClientError
from chainsig.keys import Ed25519PublicKey, Secp256k1PublicKey
from chainsig.signatures import EcdsaSignature, Ed25519Signature
from mpc_service.protocol.verify import decode_der_signature, verify_ecdsa_der, verify_ed25519

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[2]
WYCHEPROOF = PROJECT_ROOT / ".." / "shared" / "vectors" / "wycheproof"


def _load(name: str) -> dict[str, Any]:
    path = WYCHEPROOF / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"Wycheproof vectors not found at {path.resolve()} (they live beside the project, not in it)")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _cases(data: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for group in data["testGroups"]:
        for case in group["tests"]:
            assert case["result"] in ("valid", "invalid"), f"unexpected result kind in tcId {case['tcId']}"
            yield group, case


def _client_ecdsa_verify(public_key: bytes, msg_hash: bytes, der: bytes, *, require_low_s: bool) -> bool:
    """chainsig's verifier: the contract-format signature needs R, so lift r to the point with x = r (ECDSA
    verification uses only r); an r that is no x coordinate or a malformed s is a rejection."""
    rs = decode_der_signature(der)
    if rs is None or rs[0] >= 2**256:
        return False
    try:
        sig = EcdsaSignature(b"\x02" + rs[0].to_bytes(32, "big"), rs[1], 0)
        if require_low_s and not sig.is_low_s:
            return False
        return sig.verify(msg_hash, Secp256k1PublicKey.from_sec1(public_key))
    except ClientError:
        return False


@pytest.mark.parametrize(
    ("name", "bitcoin"),
    [("ecdsa_secp256k1_sha256_test", False), ("ecdsa_secp256k1_sha256_bitcoin_test", True)],
)
def test_wycheproof_ecdsa_secp256k1(name: str, bitcoin: bool) -> None:
    data = _load(name)
    failures: list[str] = []
    counted = {"valid": 0, "invalid": 0}
    for group, case in _cases(data):
        assert group["sha"] == "SHA-256"
        public_key = bytes.fromhex(group["publicKey"]["uncompressed"])
        msg_hash = hashlib.sha256(bytes.fromhex(case["msg"])).digest()
        der = bytes.fromhex(case["sig"])
        expected = case["result"] == "valid"
        counted[case["result"]] += 1
        got = verify_ecdsa_der(public_key, msg_hash, der, require_low_s=bitcoin)
        client = _client_ecdsa_verify(public_key, msg_hash, der, require_low_s=bitcoin)
        if got != expected or client != expected:
            failures.append(f"tcId {case['tcId']} ({case['comment']}): expected {case['result']}, "
                            f"verify.py {got}, chainsig {client}")
    assert counted["valid"] > 100 and counted["invalid"] > 100
    assert not failures, "\n".join(failures)


def test_wycheproof_ed25519() -> None:
    data = _load("ed25519_test")
    failures: list[str] = []
    counted = {"valid": 0, "invalid": 0}
    for group, case in _cases(data):
        public_key = bytes.fromhex(group["publicKey"]["pk"])
        message, signature = bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"])
        expected = case["result"] == "valid"
        counted[case["result"]] += 1
        got = verify_ed25519(public_key, message, signature)
        try:
            client = Ed25519Signature(signature).verify(message, Ed25519PublicKey(public_key))
        except ClientError:
            client = False
        if got != expected or client != expected:
            failures.append(f"tcId {case['tcId']} ({case['comment']}): expected {case['result']}, "
                            f"verify.py {got}, chainsig {client}")
    assert counted["valid"] > 50 and counted["invalid"] > 50
    assert not failures, "\n".join(failures)
