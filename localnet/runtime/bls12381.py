"""The BLS12-381 host functions' cores, as nearcore defines them (`runtime/near-vm-runner/src/logic/bls12381.rs`).

Each function takes the whole input buffer and returns the bytes to write into the register, or `None` for
"invalid input" (the host function then returns 1 and writes nothing). An input whose length is not a
multiple of the item size raises the host error `BLS12381InvalidInput`. `pairing_check` returns 0 (the
product of pairings is one), 1 (invalid input) or 2 (not one).

Encodings (ZCash's, as blst reads and writes them):

* an Fp element is 48 bytes big-endian and must be canonical (< p); an Fp2 element c0 + c1·u is c1 ‖ c0;
* an uncompressed point is x ‖ y (96 bytes in G1, 192 in G2) with the three flag bits of byte 0 clear,
  or the point at infinity: byte 0 = 0x40 and every other byte zero; the compressed flag (0x80) makes an
  uncompressed input invalid, any other flag pattern too;
* a compressed point (48 / 96 bytes) has 0x80 set, 0x40 for infinity (then everything else zero) and 0x20
  when y is the lexicographically larger root;
* a scalar is 32 bytes little-endian, any 256-bit value.

Subgroup checks follow nearcore: `g1/g2_multiexp` and `pairing_check` reject points outside G1/G2; the sums
and decompressions take any curve point, except that at protocol 86 (`not_in_group_fix` false) blst's
deserialisers still refuse the two G1 points (0, ±2) ("not in group"). Results go out uncompressed, the
point at infinity as 0x40 ‖ 0….

Curve arithmetic, the maps to the curve (SSWU, isogeny, cofactor clearing) and pairings run in arkworks
(`py-arkworks-bls12381`); this module only does the byte-level checks blst does before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

from localnet.runtime import errors

__all__ = [
    "ITEM_SIZE",
    "P",
    "R",
    "g1_multiexp",
    "g2_multiexp",
    "map_fp2_to_g2",
    "map_fp_to_g1",
    "p1_decompress",
    "p1_sum",
    "p2_decompress",
    "p2_sum",
    "pairing_check",
]

P: Final = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
"""The base field modulus."""
R: Final = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
"""The order of G1, G2 and GT."""

_FP = 48
_SCALAR = 32
_P1 = 96
_P2 = 192

ITEM_SIZE: Final = {
    "bls12381_p1_sum": 1 + _P1,
    "bls12381_p2_sum": 1 + _P2,
    "bls12381_g1_multiexp": _P1 + _SCALAR,
    "bls12381_g2_multiexp": _P2 + _SCALAR,
    "bls12381_map_fp_to_g1": _FP,
    "bls12381_map_fp2_to_g2": 2 * _FP,
    "bls12381_pairing_check": _P1 + _P2,
    "bls12381_p1_decompress": _FP,
    "bls12381_p2_decompress": 2 * _FP,
}
"""Bytes per input item of each host function (the per-element gas counts whole items)."""

_INFINITY_P1: Final = b"\x40" + bytes(_P1 - 1)
_INFINITY_P2: Final = b"\x40" + bytes(_P2 - 1)

_Point = TypeVar("_Point", G1Point, G2Point)


def _chunks(data: bytes, size: int, fn_name: str) -> list[bytes]:
    """nearcore's `check_input_size` + `chunks_exact`."""
    if len(data) % size:
        raise errors.bls12381_invalid_input(
            f"Incorrect input length for {fn_name}: {len(data)} is not divisible by {size}"
        )
    return [data[i : i + size] for i in range(0, len(data), size)]


def _canonical(*elements: bytes) -> bool:
    """Every 48-byte big-endian field element is < p (blst's "less than modulus?" check)."""
    return all(int.from_bytes(e, "big") < P for e in elements)


def _infinity_flags(head: int, rest: bytes) -> bool:
    """blst's test for a well-formed point at infinity once the 0x40 bit is seen: no other flag, all zero."""
    return head & 0x3F == 0 and not any(rest)


# ---- uncompressed points -------------------------------------------------------------------


def _deserialize_p1(data: bytes, accept_x0: bool) -> G1Point | None:
    """`blst_p1_deserialize` on an uncompressed point (the caller rejected the compressed flag already).

    Succeeds for the point at infinity and any point on the curve; `(0, ±2)` only when `accept_x0`
    (blst answers BLST_POINT_NOT_IN_GROUP for them, which nearcore accepts only after the NEP-488 fix)."""
    head = data[0]
    if head & 0x40:
        return G1Point.identity() if _infinity_flags(head, data[1:]) else None
    if head & 0x20:
        return None
    x, y = data[:_FP], data[_FP:]
    if not _canonical(x, y):
        return None
    try:
        point = G1Point.from_xy_bytes_unchecked_be(data)  # checks the curve equation, not the subgroup
    except ValueError:
        return None
    if not accept_x0 and not any(x):
        return None
    return point


def _deserialize_p2(data: bytes, accept_x0: bool) -> G2Point | None:
    """`blst_p2_deserialize`: as for G1; coordinates are c1 ‖ c0, arkworks takes c0 ‖ c1."""
    head = data[0]
    if head & 0x40:
        return G2Point.identity() if _infinity_flags(head, data[1:]) else None
    if head & 0x20:
        return None
    x1, x0, y1, y0 = (data[i : i + _FP] for i in range(0, _P2, _FP))
    if not _canonical(x1, x0, y1, y0):
        return None
    try:
        point = G2Point.from_xy_bytes_unchecked_be(x0 + x1 + y0 + y1)
    except ValueError:
        return None
    if not accept_x0 and not any(x1 + x0):
        return None  # unreachable in practice: x = 0 is not on the twist, kept to mirror blst
    return point


def _serialize_p1(point: G1Point) -> bytes:
    """`blst_p1_affine_serialize`: x ‖ y, or 0x40 ‖ 0… for infinity (arkworks writes infinity as all zero,
    which no curve point is)."""
    out = point.to_xy_bytes_be()
    return out if any(out) else _INFINITY_P1


def _serialize_p2(point: G2Point) -> bytes:
    raw = point.to_xy_bytes_be()  # x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1
    if not any(raw):
        return _INFINITY_P2
    x0, x1, y0, y1 = (raw[i : i + _FP] for i in range(0, _P2, _FP))
    return x1 + x0 + y1 + y0


def _parse_p1(data: bytes, fix: bool) -> G1Point | None:
    """nearcore's `parse_p1`: no compressed flag, then blst's deserialiser."""
    return None if data[0] & 0x80 else _deserialize_p1(data, accept_x0=fix)


def _parse_p2(data: bytes, fix: bool) -> G2Point | None:
    return None if data[0] & 0x80 else _deserialize_p2(data, accept_x0=fix)


# ---- host function cores -------------------------------------------------------------------


def _sum(
    data: bytes, fn_name: str, size: int, parse: Callable[[bytes, bool], _Point | None], zero: _Point, fix: bool
) -> _Point | None:
    total = zero
    for item in _chunks(data, 1 + size, fn_name):
        point = parse(item[1:], fix)
        if point is None:
            return None
        sign = item[0]
        if sign == 1:
            point = -point
        elif sign != 0:
            return None
        total = total + point
    return total


def p1_sum(data: bytes, *, fix: bool = False) -> bytes | None:
    """Σ (−1)^sign_i · p_i over items sign (1 byte, 0 or 1) ‖ uncompressed G1 point; any curve point."""
    total = _sum(data, "bls12381_p1_sum", _P1, _parse_p1, G1Point.identity(), fix)
    return None if total is None else _serialize_p1(total)


def p2_sum(data: bytes, *, fix: bool = False) -> bytes | None:
    """Σ (−1)^sign_i · p_i over items sign ‖ uncompressed G2 point."""
    total = _sum(data, "bls12381_p2_sum", _P2, _parse_p2, G2Point.identity(), fix)
    return None if total is None else _serialize_p2(total)


def _multiexp_terms(
    data: bytes, fn_name: str, size: int, parse: Callable[[bytes, bool], _Point | None], fix: bool
) -> tuple[list[_Point], list[Scalar]] | None:
    points: list[_Point] = []
    scalars: list[Scalar] = []
    for item in _chunks(data, size + _SCALAR, fn_name):
        point = parse(item[:size], fix)
        if point is None or not point.is_in_subgroup():
            return None
        points.append(point)
        # The point has order r (or is infinity), so reducing the 256-bit scalar mod r changes nothing.
        scalars.append(Scalar.from_le_bytes_mod_order(item[size:]))
    return points, scalars


def g1_multiexp(data: bytes, *, fix: bool = False) -> bytes | None:
    """Σ s_i · p_i over items uncompressed G1 point ‖ 32-byte little-endian scalar; points must be in G1."""
    terms = _multiexp_terms(data, "bls12381_p1_multiexp", _P1, _parse_p1, fix)
    return None if terms is None else _serialize_p1(G1Point.multiexp_unchecked(*terms))


def g2_multiexp(data: bytes, *, fix: bool = False) -> bytes | None:
    """Σ s_i · p_i over items uncompressed G2 point ‖ scalar; points must be in G2."""
    terms = _multiexp_terms(data, "bls12381_p2_multiexp", _P2, _parse_p2, fix)
    return None if terms is None else _serialize_p2(G2Point.multiexp_unchecked(*terms))


def map_fp_to_g1(data: bytes, *, fix: bool = False) -> bytes | None:
    """blst's `map_to_g1` of each canonical Fp element: the SSWU map of RFC 9380 followed by cofactor clearing
    (only the map: hash_to_field is the caller's), one uncompressed G1 point per element."""
    out = []
    for item in _chunks(data, _FP, "bls12381_map_fp_to_g1"):
        if not _canonical(item):
            return None
        out.append(_serialize_p1(G1Point.map_from_fp_be(item)))
    return b"".join(out)


def map_fp2_to_g2(data: bytes, *, fix: bool = False) -> bytes | None:
    """`map_to_g2` of each canonical Fp2 element (c1 ‖ c0), one uncompressed G2 point per element."""
    out = []
    for item in _chunks(data, 2 * _FP, "bls12381_map_fp2_to_g2"):
        c1, c0 = item[:_FP], item[_FP:]
        if not _canonical(c1, c0):
            return None
        out.append(_serialize_p2(G2Point.map_from_fp2_be(c0 + c1)))
    return b"".join(out)


def _decompress(
    data: bytes,
    fn_name: str,
    size: int,
    load: Callable[[bytes], _Point],
    serialize: Callable[[_Point], bytes],
    infinity: bytes,
    fix: bool,
) -> bytes | None:
    out = []
    for item in _chunks(data, size, fn_name):
        head = item[0]
        if not head & 0x80:
            return None
        if head & 0x40:
            if not _infinity_flags(head, item[1:]):
                return None
            out.append(infinity)
            continue
        x = bytes([head & 0x1F]) + item[1:]  # the x coordinate (c1 ‖ c0 in G2) without the flag bits
        if not _canonical(*(x[i : i + _FP] for i in range(0, size, _FP))):
            return None
        try:
            point = load(item)  # square root and sign choice; raises when x³ + b has no root
        except ValueError:
            return None
        if not fix and not any(x):
            return None  # blst's "not in group" for (0, ±2), refused before the NEP-488 fix
        out.append(serialize(point))
    return b"".join(out)


def p1_decompress(data: bytes, *, fix: bool = False) -> bytes | None:
    """Compressed G1 points (48 bytes each) → uncompressed; any curve point (no subgroup check)."""
    return _decompress(
        data, "bls12381_p1_decompress", _FP, G1Point.from_compressed_bytes_unchecked, _serialize_p1, _INFINITY_P1, fix
    )


def p2_decompress(data: bytes, *, fix: bool = False) -> bytes | None:
    """Compressed G2 points (96 bytes each) → uncompressed."""
    return _decompress(
        data,
        "bls12381_p2_decompress",
        2 * _FP,
        G2Point.from_compressed_bytes_unchecked,
        _serialize_p2,
        _INFINITY_P2,
        fix,
    )


def _pairing_operand(data: bytes, deserialize: Callable[[bytes, bool], _Point | None]) -> _Point | None:
    """A pairing input point: uncompressed, fully valid for blst (so never (0, ±2)), and in the subgroup."""
    if data[0] & 0x80:
        return None
    point = deserialize(data, False)
    return point if point is not None and point.is_in_subgroup() else None


def pairing_check(data: bytes) -> int:
    """Π e(g1_i, g2_i) == 1 over items uncompressed G1 ‖ uncompressed G2: 0 if so, 2 if not, 1 on bad input.
    No items: 0 (the empty product)."""
    g1s: list[G1Point] = []
    g2s: list[G2Point] = []
    for item in _chunks(data, _P1 + _P2, "bls12381_pairing_check"):
        p = _pairing_operand(item[:_P1], _deserialize_p1)
        q = _pairing_operand(item[_P1:], _deserialize_p2)
        if p is None or q is None:
            return 1
        g1s.append(p)
        g2s.append(q)
    return 0 if GT.pairing_check(g1s, g2s) else 2
