"""The contract's native code (contract/native: SHA3-256 and edwards25519) against hashlib, libsodium and
NEAR's derivation vectors: compiled with the host C compiler for many random cases, and inside the patched
MicroPython runtime (tests/contract/contracts/native_probe.py on localnet's Wasm runtime) for the binding."""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import base58
import pytest
from nacl import bindings as sodium

from chainsig.kdf import derive_tweak

ROOT = Path(__file__).resolve().parent.parent.parent
NATIVE = ROOT / "contract" / "native"
# loaded by path: under pytest the name `contract` is this test package
_spec = importlib.util.spec_from_file_location("chainsig_native_table_gen", NATIVE / "ed25519_table_gen.py")
assert _spec is not None and _spec.loader is not None
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)
VECTORS = json.loads((ROOT / "tests" / "vectors" / "near_kdf.json").read_text())
L = 2**252 + 27742317777372353535851937790883648493
P = gen.P
IDENTITY = (1).to_bytes(32, "little")


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:  # pragma: no cover - the toolchain setup installs a C compiler
        pytest.skip("no C compiler")
    out = tmp_path_factory.mktemp("native")
    (out / "ed25519_base_table.h").write_text(gen.render())
    so = out / "libchainsig.so"
    subprocess.run([cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", f"-I{out}", "-o", str(so),
                    str(NATIVE / "chainsig_crypto.c")], check=True)
    return ctypes.CDLL(str(so))


def _sha3(lib: ctypes.CDLL, data: bytes) -> bytes:
    out = ctypes.create_string_buffer(32)
    lib.chainsig_sha3_256(out, data, ctypes.c_size_t(len(data)))
    return out.raw


def _base_add(lib: ctypes.CDLL, scalar: bytes, pre: bytes | None = None) -> bytes | None:
    out = ctypes.create_string_buffer(32)
    return None if lib.chainsig_ed25519_scalarmult_base_add(out, scalar, pre) else out.raw


def _precompute(lib: ctypes.CDLL, point: bytes) -> bytes | None:
    out = ctypes.create_string_buffer(96)
    return None if lib.chainsig_ed25519_precompute(out, point) else out.raw


def _add(lib: ctypes.CDLL, p: bytes, q: bytes) -> bytes | None:
    out = ctypes.create_string_buffer(32)
    return None if lib.chainsig_ed25519_add(out, p, q) else out.raw


def _random_point() -> tuple[int, bytes]:
    secret = int.from_bytes(os.urandom(32), "little") % L or 1
    return secret, bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(secret.to_bytes(32, "little")))


def _reference_precomputed(point: bytes) -> bytes:
    y = int.from_bytes(point, "little") & ((1 << 255) - 1)
    x = gen._recover_x(y, point[31] >> 7)
    return ((y - x) % P).to_bytes(32, "little") + ((y + x) % P).to_bytes(32, "little") \
        + (2 * gen.D * x * y % P).to_bytes(32, "little")


def _not_on_curve() -> bytes:
    for y in range(2, 200):
        try:
            gen._recover_x(y, 0)
        except AssertionError:
            return y.to_bytes(32, "little")
    raise AssertionError("no y without x below 200")  # pragma: no cover


@pytest.mark.parametrize("size", [0, 1, 91, 135, 136, 137, 271, 272, 1000, 5000])
def test_sha3_matches_hashlib(lib: ctypes.CDLL, size: int) -> None:
    data = os.urandom(size)
    assert _sha3(lib, data) == hashlib.sha3_256(data).digest()


def test_sha3_gives_near_tweaks(lib: ctypes.CDLL) -> None:
    for case in VECTORS["tweaks"]:
        body = VECTORS["prefix"].encode() + case["predecessor"].encode() + b"," + case["path"].encode()
        assert _sha3(lib, body).hex() == case["tweak"]


def test_base_multiple_matches_libsodium(lib: ctypes.CDLL) -> None:
    for i in range(300):
        scalar = [1, 2, 8, 16, 255, L - 1][i] if i < 6 else int.from_bytes(os.urandom(32), "little") % L
        expected = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(scalar.to_bytes(32, "little")))
        assert _base_add(lib, scalar.to_bytes(32, "little")) == expected, scalar
    # unreduced scalars below 2^255 give (s mod l)*B; 2^255 and above are refused; 0 is the identity
    big = (1 << 255) - 1 - int.from_bytes(os.urandom(8), "little")
    assert _base_add(lib, big.to_bytes(32, "little")) == bytes(
        sodium.crypto_scalarmult_ed25519_base_noclamp((big % L).to_bytes(32, "little")))
    assert _base_add(lib, (1 << 255).to_bytes(32, "little")) is None
    assert _base_add(lib, bytes(32)) == IDENTITY


def test_derivation_and_addition_match_libsodium(lib: ctypes.CDLL) -> None:
    for _ in range(100):
        _, root = _random_point()
        pre = _precompute(lib, root)
        assert pre == _reference_precomputed(root)
        tweak = int.from_bytes(os.urandom(32), "little") % L
        tweak_point = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(tweak.to_bytes(32, "little")))
        expected = bytes(sodium.crypto_core_ed25519_add(root, tweak_point))
        assert _base_add(lib, tweak.to_bytes(32, "little"), pre) == expected
        assert _add(lib, root, tweak_point) == expected
    _, point = _random_point()
    assert _base_add(lib, bytes(32), _precompute(lib, point)) == point
    assert _add(lib, point, point) == bytes(sodium.crypto_core_ed25519_add(point, point))  # doubling through add


def test_near_ed25519_derivation_vector(lib: ctypes.CDLL) -> None:
    case = next(c for c in VECTORS["derived"] if c["root"].startswith("ed25519:"))
    root = base58.b58decode(case["root"].split(":")[1])
    tweak = int.from_bytes(derive_tweak(case["predecessor"], case["path"]), "little") % L
    derived = _base_add(lib, tweak.to_bytes(32, "little"), _precompute(lib, root))
    assert derived is not None and "ed25519:" + base58.b58encode(derived).decode() == case["public_key"]


def test_bad_points_are_refused(lib: ctypes.CDLL) -> None:
    _, good = _random_point()
    y_equals_p = P.to_bytes(32, "little")
    zero_x_with_sign = bytes(IDENTITY[:31]) + b"\x80"  # (0, 1) with the sign bit set
    for bad in (y_equals_p, (P + 1).to_bytes(32, "little"), _not_on_curve(), zero_x_with_sign):
        assert _precompute(lib, bad) is None
        assert _add(lib, good, bad) is None
        assert _add(lib, bad, good) is None
    assert _precompute(lib, IDENTITY) == _reference_precomputed(IDENTITY)
    # (p-1) as y, i.e. y = -1: the point (0, -1) of order 2 is valid
    assert _precompute(lib, (P - 1).to_bytes(32, "little")) is not None


def _b58encode(lib: ctypes.CDLL, data: bytes) -> str:
    out = ctypes.create_string_buffer(len(data) * 138 // 100 + 1)
    n = lib.chainsig_b58encode(out, data, ctypes.c_size_t(len(data)))
    return out.raw[:n].decode()


def _b58decode(lib: ctypes.CDLL, text: str) -> bytes | int:
    raw = text.encode()
    out = ctypes.create_string_buffer(max(len(raw), 1))
    bad = ctypes.c_size_t(0)
    lib.chainsig_b58decode.restype = ctypes.c_long
    n = lib.chainsig_b58decode(out, raw, ctypes.c_size_t(len(raw)), ctypes.byref(bad))
    return bad.value if n < 0 else out.raw[:n]


def test_base58_matches_the_base58_package(lib: ctypes.CDLL) -> None:
    for size in (0, 1, 2, 3, 31, 32, 33, 64, 100):
        for zeros in (0, 1, 3):
            data = bytes(zeros) + os.urandom(size)
            text = base58.b58encode(data).decode()
            assert _b58encode(lib, data) == text
            assert _b58decode(lib, text) == data
    assert _b58decode(lib, "11") == bytes(2)
    assert _b58decode(lib, "abc0def") == 3  # '0' is not in the alphabet
    assert _b58decode(lib, "1I") == 1


# ---- the same functions inside the contract runtime ----------------------------------------------------


@pytest.fixture(scope="module")
def probe() -> Callable[[str, bytes], bytes]:
    from localnet.runtime import run_function_call
    from tests.contract.conftest import build_contract

    sys.path.insert(0, str(ROOT / "tests" / "localnet"))
    try:
        from test_runtime_support import MemoryExternal, make_context
    finally:
        sys.path.remove(str(ROOT / "tests" / "localnet"))
    wasm = build_contract(Path(__file__).resolve().parent / "contracts" / "native_probe.py").read_bytes()

    def call(method: str, data: bytes) -> bytes:
        outcome = run_function_call(wasm, method, make_context(input=data, is_view=True), MemoryExternal())
        assert outcome.error is None, outcome.error
        return bytes(outcome.return_data.value or b"")

    return call


def test_probe_contract_matches_references(probe: Callable[[str, bytes], bytes]) -> None:
    for size in (0, 135, 136, 300):
        data = os.urandom(size)
        assert probe("sha3_256", data) == hashlib.sha3_256(data).digest()
    for _ in range(5):
        _, root = _random_point()
        assert probe("precompute", root) == _reference_precomputed(root)
        tweak = int.from_bytes(os.urandom(32), "little") % L
        tweak_point = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(tweak.to_bytes(32, "little")))
        assert probe("base_add", tweak.to_bytes(32, "little")) == tweak_point
        expected = bytes(sodium.crypto_core_ed25519_add(root, tweak_point))
        assert probe("base_add", tweak.to_bytes(32, "little") + root) == expected
        assert probe("add", root + tweak_point) == expected
    key = os.urandom(64)
    assert probe("b58encode", key) == base58.b58encode(key)
    assert probe("b58decode", base58.b58encode(bytes(2) + key)) == bytes(2) + key
    assert probe("b58decode", b"12l4") == b"2"  # 'l' is not in the alphabet: its offset
    assert probe("precompute", _not_on_curve()) == b"none"
    assert probe("add", P.to_bytes(32, "little") + root) == b"none"
    assert probe("base_add", (1 << 255).to_bytes(32, "little")) == b"none"
