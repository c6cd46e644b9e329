"""The contract's pure-Python crypto (run here under CPython): SHA3-256 and Ed25519 derivation."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
from nacl import bindings as sodium

from chainsig.kdf import derive_tweak

SIGNER = Path(__file__).resolve().parent.parent.parent / "contract" / "signer"


def load(name: str) -> ModuleType:
    sys.path.insert(0, str(SIGNER))
    try:
        spec = importlib.util.spec_from_file_location(f"signer_{name}", SIGNER / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SIGNER))


sha3 = load("sha3")
edwards = load("edwards")
tweak = load("tweak")


@pytest.mark.parametrize("size", [0, 1, 91, 135, 136, 137, 271, 272, 1000])
def test_sha3_matches_hashlib(size: int) -> None:
    data = os.urandom(size)
    assert sha3.sha3_256(data) == hashlib.sha3_256(data).digest()


def test_tweak_matches_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sha3", sha3)  # CPython may have a different `sha3` (pysha3) installed
    assert tweak.derive_tweak("alice.near", "eth-1") == derive_tweak("alice.near", "eth-1")


def test_ed25519_derivation_matches_libsodium() -> None:
    for i in range(20):
        secret = int.from_bytes(os.urandom(32), "little") % edwards.L or 1
        root = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(secret.to_bytes(32, "little")))
        tw = os.urandom(32) if i else b"\xff" * 32
        epsilon = int.from_bytes(tw, "little") % edwards.L
        expected = sodium.crypto_core_ed25519_add(
            root, sodium.crypto_scalarmult_ed25519_base_noclamp(epsilon.to_bytes(32, "little")))
        assert edwards.derive_ed25519(root, tw, edwards.precomputed(root)) == expected
        assert edwards.derive_ed25519(root, tw) == expected
    z = int.from_bytes(os.urandom(32), "little") % edwards.P
    assert edwards.invert(z) == pow(z, edwards.P - 2, edwards.P)


def test_bad_points_are_rejected() -> None:
    with pytest.raises(edwards.PointError):
        edwards.decompress((edwards.P).to_bytes(32, "little"))  # y out of range
    not_on_curve = next(y for y in range(2, 100) if not _on_curve(y))
    with pytest.raises(edwards.PointError):
        edwards.decompress(not_on_curve.to_bytes(32, "little"))


def _on_curve(y: int) -> bool:
    try:
        edwards.decompress(y.to_bytes(32, "little"))
    except edwards.PointError:
        return False
    return True
