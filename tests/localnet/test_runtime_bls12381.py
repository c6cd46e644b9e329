"""nearcore's BLS12-381 host functions (tests/localnet/wat/bls12381.wat), run in the Wasm runtime and checked
against py_ecc, a pure-Python implementation independent of the runtime's arkworks: results, the return code of
each class of invalid input, the host error on a bad length, gas against nearcore's formula, and a BLS signature
verified inside Wasm."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import Any

import pytest
from py_ecc.bls import G2ProofOfPossession
from py_ecc.bls.hash_to_curve import (
    clear_cofactor_G1,
    clear_cofactor_G2,
    hash_to_field_FQ,
    hash_to_field_FQ2,
    map_to_curve_G1,
    map_to_curve_G2,
)
from py_ecc.bls.point_compression import compress_G1, compress_G2, modular_squareroot_in_FQ2
from py_ecc.optimized_bls12_381 import (
    FQ,
    FQ2,
    FQ12,
    G1,
    G2,
    Z1,
    Z2,
    add,
    b,
    b2,
    curve_order,
    final_exponentiate,
    is_inf,
    is_on_curve,
    multiply,
    neg,
    normalize,
    pairing,
)
from test_runtime_support import run, wat

from localnet.runtime import RuntimeConfig
from localnet.runtime.api import VMOutcome
from localnet.runtime.fees import EXT_COSTS, REGULAR_OP_COST

BLS = wat("bls12381")
P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
R = curve_order
RNG = random.Random(20261202)
FIX = RuntimeConfig(bls12381_not_in_group_fix=True)

Point = Any  # py_ecc's projective (x, y, z) over FQ or FQ2


# ---- py_ecc points ↔ nearcore's encodings --------------------------------------------------


def fp(value: int) -> bytes:
    return value.to_bytes(48, "big")


def fp2(value: FQ2) -> bytes:
    c0, c1 = (int(c) for c in value.coeffs)
    return fp(c1) + fp(c0)


def enc1(point: Point) -> bytes:
    if is_inf(point):
        return b"\x40" + bytes(95)
    x, y = normalize(point)
    return fp(int(x)) + fp(int(y))


def enc2(point: Point) -> bytes:
    if is_inf(point):
        return b"\x40" + bytes(191)
    x, y = normalize(point)
    return fp2(x) + fp2(y)


def comp1(point: Point) -> bytes:
    return compress_G1(point).to_bytes(48, "big")


def comp2(point: Point) -> bytes:
    z1, z2 = compress_G2(point)
    return z1.to_bytes(48, "big") + z2.to_bytes(48, "big")


def scalar(value: int) -> bytes:
    return value.to_bytes(32, "little")


def curve_point_g1(x: int) -> Point | None:
    y = pow((x**3 + 4) % P, (P + 1) // 4, P)
    return (FQ(x), FQ(y), FQ(1)) if y * y % P == (x**3 + 4) % P else None


def curve_point_g2(x: FQ2) -> Point | None:
    y = modular_squareroot_in_FQ2(x**3 + b2)
    return (x, y, FQ2.one()) if y is not None else None


def not_in_g1() -> Point:
    """A point of E(Fp) outside G1 (almost every curve point is)."""
    x = RNG.randrange(P)
    while (point := curve_point_g1(x)) is None or is_inf(multiply(point, R)):
        x = RNG.randrange(P)
    return point


def not_in_g2() -> Point:
    while True:
        point = curve_point_g2(FQ2([RNG.randrange(P), RNG.randrange(P)]))
        if point is not None and not is_inf(multiply(point, R)):
            return point


def in_g1() -> Point:
    return multiply(G1, RNG.randrange(1, R))


def in_g2() -> Point:
    return multiply(G2, RNG.randrange(1, R))


# ---- calling the contract ------------------------------------------------------------------


def call(method: str, data: bytes, config: RuntimeConfig | None = None) -> tuple[int, bytes]:
    """Run `method` with `data`: (return code, register contents when the code is 0)."""
    outcome = run(BLS, method, input=data, config=config)
    assert outcome.error is None, outcome.error
    value = outcome.return_data.value
    return int.from_bytes(value[:8], "little"), value[8:]


def ok(method: str, data: bytes, config: RuntimeConfig | None = None) -> bytes:
    code, out = call(method, data, config)
    assert code == 0
    return out


def code(method: str, data: bytes, config: RuntimeConfig | None = None) -> int:
    return call(method, data, config)[0]


def failed(method: str, data: bytes) -> VMOutcome:
    outcome = run(BLS, method, input=data)
    assert outcome.error is not None
    return outcome


# ---- results against py_ecc ----------------------------------------------------------------


def test_p1_sum_matches_py_ecc_over_the_whole_curve() -> None:
    points = [in_g1(), not_in_g1(), in_g1(), Z1, not_in_g1()]
    signs = [0, 1, 1, 0, 0]
    expected = Z1
    for sign, point in zip(signs, points, strict=True):
        expected = add(expected, neg(point) if sign else point)
    data = b"".join(bytes([s]) + enc1(p) for s, p in zip(signs, points, strict=True))
    assert ok("p1_sum", data) == enc1(expected)
    # P + (−P) is the point at infinity, written 0x40 ‖ 0…; so is the empty sum.
    p = in_g1()
    assert ok("p1_sum", b"\x00" + enc1(p) + b"\x01" + enc1(p)) == b"\x40" + bytes(95)
    assert ok("p1_sum", b"") == b"\x40" + bytes(95)


def test_p2_sum_matches_py_ecc_over_the_whole_curve() -> None:
    points = [in_g2(), not_in_g2(), Z2, in_g2()]
    signs = [1, 0, 1, 0]
    expected = Z2
    for sign, point in zip(signs, points, strict=True):
        expected = add(expected, neg(point) if sign else point)
    data = b"".join(bytes([s]) + enc2(p) for s, p in zip(signs, points, strict=True))
    assert ok("p2_sum", data) == enc2(expected)
    assert ok("p2_sum", b"") == b"\x40" + bytes(191)


@pytest.mark.parametrize(
    ("method", "gen", "enc", "zero"), [("g1_multiexp", in_g1, enc1, Z1), ("g2_multiexp", in_g2, enc2, Z2)]
)
def test_multiexp_matches_py_ecc(
    method: str, gen: Callable[[], Point], enc: Callable[[Point], bytes], zero: Point
) -> None:
    # Full 256-bit scalars (above r too: the points have order r), zero, one, r itself, and the infinity point.
    terms = [(gen(), RNG.randrange(2**256)), (gen(), 2**256 - 1), (gen(), 0), (gen(), 1), (gen(), R), (zero, 5)]
    expected = zero
    for point, k in terms:
        expected = add(expected, multiply(point, k))
    assert ok(method, b"".join(enc(p) + scalar(k) for p, k in terms)) == enc(expected)
    assert ok(method, b"") == enc(zero)
    p = gen()
    assert ok(method, enc(p) + scalar(R)) == enc(zero)
    assert ok(method, enc(p) + scalar(R + 7)) == enc(multiply(p, 7))


def test_map_fp_to_g1_matches_py_ecc() -> None:
    elements = [0, 1, P - 1, RNG.randrange(P), RNG.randrange(P)]
    expected = b"".join(enc1(clear_cofactor_G1(map_to_curve_G1(FQ(u)))) for u in elements)
    out = ok("map_fp_to_g1", b"".join(fp(u) for u in elements))
    assert out == expected
    for i in range(len(elements)):
        x, y = normalize(
            (
                FQ(int.from_bytes(out[96 * i : 96 * i + 48], "big")),
                FQ(int.from_bytes(out[96 * i + 48 : 96 * i + 96], "big")),
                FQ(1),
            )
        )
        assert is_inf(multiply((x, y, FQ(1)), R))  # in G1
    assert ok("map_fp_to_g1", b"") == b""


# RFC 9380 appendix J.9.1 (BLS12381G1_XMD:SHA-256_SSWU_RO_, DST QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_):
# msg, u[0], u[1], P.x, P.y with P = clear_cofactor(map_to_curve(u[0]) + map_to_curve(u[1])).
RFC9380_DST = b"QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_"
RFC9380_G1 = [
    (
        b"",
        "0ba14bd907ad64a016293ee7c2d276b8eae71f25a4b941eece7b0d89f17f75cb3ae5438a614fb61d6835ad59f29c564f",
        "019b9bd7979f12657976de2884c7cce192b82c177c80e0ec604436a7f538d231552f0d96d9f7babe5fa3b19b3ff25ac9",
        "052926add2207b76ca4fa57a8734416c8dc95e24501772c814278700eed6d1e4e8cf62d9c09db0fac349612b759e79a1",
        "08ba738453bfed09cb546dbb0783dbb3a5f1f566ed67bb6be0e8c67e2e81a4cc68ee29813bb7994998f3eae0c9c6a265",
    ),
    (
        b"abc",
        "0d921c33f2bad966478a03ca35d05719bdf92d347557ea166e5bba579eea9b83e9afa5c088573c2281410369fbd32951",
        "003574a00b109ada2f26a37a91f9d1e740dffd8d69ec0c35e1e9f4652c7dba61123e9dd2e76c655d956e2b3462611139",
        "03567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be2f6903",
        "0b9c15f3fe6e5cf4211f346271d7b01c8f3b28be689c8429c85b67af215533311f0b8dfaaa154fa6b88176c229f2885d",
    ),
]


@pytest.mark.parametrize(("msg", "u0", "u1", "px", "py"), RFC9380_G1, ids=["empty", "abc"])
def test_hash_to_g1_from_the_host_map_matches_rfc9380(msg: bytes, u0: str, u1: str, px: str, py: str) -> None:
    """Published vectors: map(u0) + map(u1) with the host's map_fp_to_g1 and p1_sum is the RFC's P (the map
    includes cofactor clearing, which is linear, so clearing each half equals clearing the sum)."""
    maps = ok("map_fp_to_g1", bytes.fromhex(u0) + bytes.fromhex(u1))
    assert ok("p1_sum", b"\x00" + maps[:96] + b"\x00" + maps[96:]) == bytes.fromhex(px + py)
    assert hash_to_field_FQ(msg, 2, RFC9380_DST, hashlib.sha256) == (FQ(int(u0, 16)), FQ(int(u1, 16)))


def test_map_fp2_to_g2_matches_py_ecc() -> None:
    elements = [FQ2([0, 0]), FQ2([1, 0]), FQ2([0, P - 1]), FQ2([RNG.randrange(P), RNG.randrange(P)])]
    expected = b"".join(enc2(clear_cofactor_G2(map_to_curve_G2(u))) for u in elements)
    assert ok("map_fp2_to_g2", b"".join(fp2(u) for u in elements)) == expected
    assert ok("map_fp2_to_g2", b"") == b""


def test_decompress_matches_py_ecc_for_any_curve_point() -> None:
    g1s = [in_g1(), neg(in_g1()), not_in_g1(), Z1]
    assert ok("p1_decompress", b"".join(comp1(p) for p in g1s)) == b"".join(enc1(p) for p in g1s)
    g2s = [in_g2(), neg(in_g2()), not_in_g2(), Z2]
    assert ok("p2_decompress", b"".join(comp2(p) for p in g2s)) == b"".join(enc2(p) for p in g2s)
    assert ok("p1_decompress", b"") == b"" and ok("p2_decompress", b"") == b""


def test_pairing_check() -> None:
    p, q = in_g1(), in_g2()
    # e(P, Q)·e(−P, Q) = 1 → 0; e(P, Q) alone ≠ 1 → 2.
    assert code("pairing_check", enc1(p) + enc2(q) + enc1(neg(p)) + enc2(q)) == 0
    assert code("pairing_check", enc1(p) + enc2(q)) == 2
    # Bilinearity: e(aP, bQ)·e(−abP, Q) = 1.
    a, c = RNG.randrange(1, R), RNG.randrange(1, R)
    assert (
        code("pairing_check", enc1(multiply(p, a)) + enc2(multiply(q, c)) + enc1(neg(multiply(p, a * c))) + enc2(q))
        == 0
    )
    # Infinity pairs to one; no pairs at all is the empty product.
    assert code("pairing_check", enc1(Z1) + enc2(q)) == 0
    assert code("pairing_check", enc1(p) + enc2(Z2)) == 0
    assert code("pairing_check", b"") == 0


def test_pairing_check_false_agrees_with_py_ecc() -> None:
    """An independent look at a false result: py_ecc's e(G1, G2)² is not one, and the runtime says 2."""
    assert final_exponentiate(pairing(G2, G1) * pairing(G2, G1)) != FQ12.one()
    assert code("pairing_check", enc1(G1) + enc2(G2) + enc1(G1) + enc2(G2)) == 2
    assert final_exponentiate(pairing(G2, G1) * pairing(G2, neg(G1))) == FQ12.one()
    assert code("pairing_check", enc1(G1) + enc2(G2) + enc1(neg(G1)) + enc2(G2)) == 0


# ---- invalid inputs: return code 1 ---------------------------------------------------------


def _flagged(raw: bytes, flags: int) -> bytes:
    return bytes([raw[0] | flags]) + raw[1:]


def _bad_uncompressed(enc: Callable[[Point], bytes], gen: Callable[[], Point]) -> dict[str, bytes]:
    size = len(enc(Z1 if enc is enc1 else Z2))
    point = enc(gen())
    off_curve = point[:-1] + bytes([point[-1] ^ 1])
    # A canonical coordinate plus p: the same point modulo p, but not canonical (x of a point with small x).
    if enc is enc1:
        x = 5
        while (candidate := curve_point_g1(x)) is None:
            x += 1
        x_int, y_int = x, int(normalize(candidate)[1])
        noncanonical = fp(x_int + P) + fp(y_int)
    else:
        x2 = FQ2([5, 0])
        while (candidate2 := curve_point_g2(x2)) is None:
            x2 = x2 + FQ2([1, 0])
        xs, ys = normalize(candidate2)
        noncanonical = fp(int(xs.coeffs[1])) + fp(int(xs.coeffs[0]) + P) + fp2(ys)
    return {
        "compressed flag": _flagged(point, 0x80),
        "sort flag": _flagged(point, 0x20),
        "infinity flag with data": b"\x40" + bytes(size - 2) + b"\x01",
        "infinity with sort flag": b"\x60" + bytes(size - 1),
        "all zero (not the infinity encoding)": bytes(size),
        "not on the curve": off_curve,
        "coordinate ≥ p": noncanonical,
    }


@pytest.mark.parametrize("case", list(_bad_uncompressed(enc1, in_g1)))
def test_g1_inputs_rejected_with_code_1(case: str) -> None:
    bad = _bad_uncompressed(enc1, in_g1)[case]
    good = enc1(in_g1())
    assert code("p1_sum", b"\x00" + good + b"\x00" + bad) == 1
    assert code("g1_multiexp", good + scalar(1) + bad + scalar(1)) == 1
    assert code("pairing_check", bad + enc2(G2)) == 1


@pytest.mark.parametrize("case", list(_bad_uncompressed(enc2, in_g2)))
def test_g2_inputs_rejected_with_code_1(case: str) -> None:
    bad = _bad_uncompressed(enc2, in_g2)[case]
    good = enc2(in_g2())
    assert code("p2_sum", b"\x00" + good + b"\x00" + bad) == 1
    assert code("g2_multiexp", good + scalar(1) + bad + scalar(1)) == 1
    assert code("pairing_check", enc1(G1) + bad) == 1


def test_sign_byte_must_be_0_or_1() -> None:
    assert code("p1_sum", b"\x02" + enc1(G1)) == 1
    assert code("p2_sum", b"\xff" + enc2(G2)) == 1


def test_subgroup_checks_only_where_nearcore_makes_them() -> None:
    outside1, outside2 = not_in_g1(), not_in_g2()
    # Sums and decompression take any curve point ...
    assert ok("p1_sum", b"\x00" + enc1(outside1)) == enc1(outside1)
    assert ok("p2_sum", b"\x00" + enc2(outside2)) == enc2(outside2)
    assert ok("p1_decompress", comp1(outside1)) == enc1(outside1)
    # ... multiexp and the pairing do not.
    assert code("g1_multiexp", enc1(outside1) + scalar(1)) == 1
    assert code("g2_multiexp", enc2(outside2) + scalar(1)) == 1
    assert code("pairing_check", enc1(outside1) + enc2(G2)) == 1
    assert code("pairing_check", enc1(G1) + enc2(outside2)) == 1


def test_g1_points_with_x_zero_follow_the_protocol_86_rules() -> None:
    """(0, ±2) lie on E(Fp) outside G1. blst reports them "not in group" when deserialising, which nearcore
    refuses in sums and decompression until the NEP-488 fix (`bls12381_not_in_group_fix`, false at 86)."""
    for y in (2, P - 2):
        point = (FQ(0), FQ(y), FQ(1))
        assert is_on_curve(point, b) and not is_inf(multiply(point, R))
        raw = fp(0) + fp(y)
        compressed = comp1(point)
        assert code("p1_sum", b"\x00" + raw) == 1
        assert code("p1_decompress", compressed) == 1
        assert ok("p1_sum", b"\x00" + raw, FIX) == raw
        assert ok("p1_decompress", compressed, FIX) == raw
        for config in (None, FIX):
            assert code("g1_multiexp", raw + scalar(1), config) == 1
            assert code("pairing_check", raw + enc2(G2), config) == 1


@pytest.mark.parametrize("method", ["map_fp_to_g1", "map_fp2_to_g2"])
def test_map_rejects_non_canonical_field_elements(method: str) -> None:
    if method == "map_fp_to_g1":
        cases = [fp(P), fp(P + 1), b"\xff" * 48]
    else:
        cases = [fp(P) + fp(0), fp(0) + fp(P), fp(1) + b"\xff" * 48]
    for bad in cases:
        assert code(method, bad) == 1


@pytest.mark.parametrize(
    ("method", "comp", "gen", "size"),
    [("p1_decompress", comp1, in_g1, 48), ("p2_decompress", comp2, in_g2, 96)],
)
def test_decompress_rejects_bad_encodings(
    method: str, comp: Callable[[Point], bytes], gen: Callable[[], Point], size: int
) -> None:
    point = comp(gen())
    x_high = bytes([point[0] & 0x1F]) + point[1:48]
    noncanonical = int.from_bytes(x_high, "big") + P
    if noncanonical >= 2**381:  # keep the flag bits free: use x + p only where it fits under them
        noncanonical = P + 3
    bad = {
        "no compressed flag": bytes([point[0] & 0x7F]) + point[1:],
        "infinity flag with data": b"\xc0" + bytes(size - 2) + b"\x01",
        "infinity with sort flag": b"\xe0" + bytes(size - 1),
        "x ≥ p": bytes([0x80 | (noncanonical >> 376)]) + noncanonical.to_bytes(48, "big")[1:] + point[48:],
    }
    if method == "p1_decompress":
        x = 1
        while curve_point_g1(x) is not None:
            x += 1
        bad["x not on the curve"] = bytes([0x80]) + fp(x)[1:]
    else:
        x2 = FQ2([1, 1])
        while curve_point_g2(x2) is not None:
            x2 = x2 + FQ2([1, 0])
        bad["x not on the curve"] = bytes([0x80 | fp2(x2)[0]]) + fp2(x2)[1:]
    for name, data in bad.items():
        assert code(method, comp(gen()) + data) == 1, name


# ---- host errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name", "item"),
    [
        ("p1_sum", "bls12381_p1_sum", 97),
        ("p2_sum", "bls12381_p2_sum", 193),
        ("g1_multiexp", "bls12381_p1_multiexp", 128),
        ("g2_multiexp", "bls12381_p2_multiexp", 224),
        ("map_fp_to_g1", "bls12381_map_fp_to_g1", 48),
        ("map_fp2_to_g2", "bls12381_map_fp2_to_g2", 96),
        ("p1_decompress", "bls12381_p1_decompress", 48),
        ("p2_decompress", "bls12381_p2_decompress", 96),
        ("pairing_check", "bls12381_pairing_check", 288),
    ],
)
def test_length_not_a_multiple_of_the_item_is_a_host_error(method: str, name: str, item: int) -> None:
    outcome = failed(method, bytes(item + 1))
    assert outcome.error is not None
    assert outcome.error.kind == ("FunctionCallError", "HostError", "BLS12381InvalidInput")
    assert outcome.error.message == (
        f"BLS12-381 invalid input: Incorrect input length for {name}: {item + 1} is not divisible by {item}"
    )


def test_register_input_overflows_the_per_element_charge() -> None:
    """nearcore counts elements from `value_len` before reading, so u64::MAX (a register) overflows; the
    pairing check counts the bytes it read and works from a register."""
    outcome = failed("p1_sum_register", b"\x00" + enc1(G1))
    assert outcome.error is not None and outcome.error.kind[-1] == "IntegerOverflow"
    data = enc1(G1) + enc2(G2) + enc1(neg(G1)) + enc2(G2)
    assert code("pairing_check_register", data) == 0


# ---- gas -----------------------------------------------------------------------------------


def _host_gas(outcome: VMOutcome) -> int:
    return outcome.burnt_gas - outcome.wasm_ops * REGULAR_OP_COST


GAS_CASES = [
    ("p1_sum", "bls12381_p1_sum", lambda: b"".join(b"\x00" + enc1(in_g1()) for _ in range(3)), 96),
    ("p2_sum", "bls12381_p2_sum", lambda: b"".join(b"\x01" + enc2(in_g2()) for _ in range(2)), 192),
    ("g1_multiexp", "bls12381_g1_multiexp", lambda: b"".join(enc1(in_g1()) + scalar(9) for _ in range(3)), 96),
    ("g2_multiexp", "bls12381_g2_multiexp", lambda: b"".join(enc2(in_g2()) + scalar(9) for _ in range(2)), 192),
    ("map_fp_to_g1", "bls12381_map_fp_to_g1", lambda: fp(1) + fp(2) + fp(3), 3 * 96),
    ("map_fp2_to_g2", "bls12381_map_fp2_to_g2", lambda: fp(1) + fp(2) + fp(3) + fp(4), 2 * 192),
    ("p1_decompress", "bls12381_p1_decompress", lambda: comp1(in_g1()) + comp1(in_g1()), 2 * 96),
    ("p2_decompress", "bls12381_p2_decompress", lambda: comp2(in_g2()), 192),
]


@pytest.mark.parametrize(("method", "cost", "make", "out_len"), GAS_CASES, ids=[c[0] for c in GAS_CASES])
def test_gas_is_nearcores_formula(method: str, cost: str, make: Callable[[], bytes], out_len: int) -> None:
    """base + element·n + reading the input from memory + writing the result into a register, measured as the
    host gas of `<fn>_code` minus that of `control` (same input handling, no BLS call)."""
    costs = EXT_COSTS
    data = make()
    item = (
        len(data)
        // {
            "p1_sum": 3,
            "p2_sum": 2,
            "g1_multiexp": 3,
            "g2_multiexp": 2,
            "map_fp_to_g1": 3,
            "map_fp2_to_g2": 2,
            "p1_decompress": 2,
            "p2_decompress": 1,
        }[method]
    )
    n = len(data) // item
    base, element = getattr(costs, f"{cost}_base"), getattr(costs, f"{cost}_element")
    read = costs.read_memory_base + costs.read_memory_byte * len(data)
    control = run(BLS, "control", input=data)
    measured = run(BLS, f"{method}_code", input=data)
    assert measured.error is None and measured.return_data.value[:8] == bytes(8)
    write = costs.write_register_base + costs.write_register_byte * out_len
    assert _host_gas(measured) - _host_gas(control) == base + element * n + read + write
    # Invalid input (a sign/flag byte spoiled): the same charges without the register write.
    spoiled = bytes([data[0] ^ 0x80 if "decompress" not in method else data[0] & 0x7F]) + data[1:]
    if method.startswith("map"):
        spoiled = b"\xff" + data[1:]
    rejected = run(BLS, f"{method}_code", input=spoiled)
    assert rejected.return_data.value[:8] == (1).to_bytes(8, "little")
    assert _host_gas(rejected) - _host_gas(control) == base + element * n + read


def test_pairing_gas_is_nearcores_formula() -> None:
    data = enc1(G1) + enc2(G2) + enc1(neg(G1)) + enc2(G2)
    costs = EXT_COSTS
    control = run(BLS, "control", input=data)
    measured = run(BLS, "pairing_check", input=data)
    expected = (
        costs.bls12381_pairing_base
        + 2 * costs.bls12381_pairing_element
        + costs.read_memory_base
        + costs.read_memory_byte * len(data)
    )
    assert _host_gas(measured) - _host_gas(control) == expected
    # The ~2.1 Tgas per pair makes ~460 pairs the most one 1 PGas call can check.
    assert costs.bls12381_pairing_element == 2_130_000_000_000


# ---- BLS signatures verified in Wasm -------------------------------------------------------


def _bls_input(public_key: bytes, signature: bytes, message: bytes) -> bytes:
    """hash_to_field is computed here (RFC 9380 expand_message_xmd with SHA-256): nearcore offers only the map
    (`map_fp2_to_g2`), so a contract must hash to the field itself (or be given u0, u1 as here)."""
    u0, u1 = hash_to_field_FQ2(message, 2, G2ProofOfPossession.DST, hashlib.sha256)
    return public_key + signature + fp2(u0) + fp2(u1)


def test_bls_signature_verification_in_wasm() -> None:
    secret = RNG.randrange(1, R)
    public_key = G2ProofOfPossession.SkToPk(secret)
    message = b"chain signatures: confidential key derivation"
    signature = G2ProofOfPossession.Sign(secret, message)
    assert G2ProofOfPossession.Verify(public_key, message, signature)  # the reference agrees it is valid
    assert code("bls_verify", _bls_input(public_key, signature, message)) == 0
    # Another message, another key: the pairing is not one (2, from step 0 = the pairing itself).
    assert code("bls_verify", _bls_input(public_key, signature, message + b"!")) == 2
    other_key = G2ProofOfPossession.SkToPk(secret + 1)
    assert code("bls_verify", _bls_input(other_key, signature, message)) == 2
    # A signature that does not decompress fails at step 1 with code 1.
    broken = bytes([signature[0] & 0x7F]) + signature[1:]
    assert code("bls_verify", _bls_input(public_key, broken, message)) == 1 * 16 + 1


def test_ckd_output_checked_in_wasm() -> None:
    """The signer contract's public check of a CKD response, e(C, −G2)·e(Y, A₂)·e(H, mvk) = 1, done with the host
    functions alone (decompressions, then one pairing check) on an output of mpc_service's CKD protocol."""
    from mpc_service.protocol import ParticipantId, keygen, run_protocols
    from mpc_service.protocol.ckd import CkdRequesterKey, ckd, hash_app_id
    from mpc_service.protocol.groups import BLS12381_G2

    rng = random.Random(5)
    ps = [ParticipantId(i) for i in range(3)]
    keys = run_protocols({p: keygen(BLS12381_G2, ps, p, 2, b"dkg", rng) for p in ps})
    mvk = keys[ps[0]].public_key
    requester = CkdRequesterKey.generate(rng)
    app_id = b"app.near"
    results = run_protocols({p: ckd(keys[p], ps[:2], ps[0], app_id, requester.public_key, rng) for p in ps[:2]})
    output = results[ps[0]]
    assert output is not None

    def check(big_c: bytes, app_id: bytes) -> int:
        g1s = ok("p1_decompress", big_c + output.big_y + hash_app_id(mvk, app_id))
        g2s = ok("p2_decompress", requester.public_key_g2 + mvk)
        pairs = [g1s[:96], enc2(neg(G2)), g1s[96:192], g2s[:192], g1s[192:], g2s[192:]]
        return code("pairing_check", b"".join(pairs))

    assert check(output.big_c, app_id) == 0
    assert check(output.big_c, b"another.near") == 2
    assert check(output.big_y, app_id) == 2
