"""Ed25519 key derivation in pure Python: derived = root + tweak*B (tweak little-endian, mod l).

NEAR has no Edwards-curve host function besides `ed25519_verify`, so `respond` and `derived_public_key`
do this arithmetic in MicroPython: tweak*B with a fixed-base table (ed25519_table.py, 2^i*B precomputed),
mixed additions in extended coordinates (add-2008-hwcd-3), one addition of the root, one inversion.
"""

from ed25519_table import ENTRY_BYTES, TABLE

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = 37095705934669439343138083508754565189542113879843219016388785533085940283555
D2 = (2 * D) % P
SQRT_M1 = 19681161376707505956807079304988542015446066469744327397917271046720078628288


class PointError(Exception):
    """Bytes that do not encode a point of edwards25519."""


def _decompress(data):
    """32 bytes -> extended point (X, Y, Z, T)."""
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        raise PointError("y coordinate out of range")
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P:
        x = x * SQRT_M1 % P
        if (v * x * x - u) % P:
            raise PointError("not a point on edwards25519")
    if x == 0 and sign:
        raise PointError("invalid sign bit for x = 0")
    if (x & 1) != sign:
        x = P - x
    return x, y, 1, x * y % P


def _add_precomputed(point, ym, yp, t2d):
    """Extended point + affine point given as (y-x, y+x, 2dxy)."""
    x1, y1, z1, t1 = point
    a = (y1 - x1) * ym % P
    b = (y1 + x1) * yp % P
    c = t1 * t2d % P
    d = 2 * z1
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % P, g * h % P, f * g % P, e * h % P


def _entry(index):
    base = index * ENTRY_BYTES
    chunk = TABLE[base // 48] + TABLE[base // 48 + 1]
    return (
        int.from_bytes(chunk[0:32], "little"),
        int.from_bytes(chunk[32:64], "little"),
        int.from_bytes(chunk[64:96], "little"),
    )


def derive_ed25519(root, tweak):
    """Compressed 32-byte encoding of root + (tweak mod l)*B. Raises PointError for a bad root."""
    x, y, z, t = _decompress(root)
    # The root as a precomputed affine point, so every step below is one mixed addition.
    point = (0, 1, 1, 0)
    point = _add_precomputed(point, (y - x) % P, (y + x) % P, D2 * t % P)
    scalar = int.from_bytes(tweak, "little") % L
    index = 0
    while scalar:
        if scalar & 1:
            ym, yp, t2d = _entry(index)
            point = _add_precomputed(point, ym, yp, t2d)
        scalar >>= 1
        index += 1
    px, py, pz, _ = point
    inverse = pow(pz, P - 2, P)
    ax = px * inverse % P
    ay = py * inverse % P
    return (ay | ((ax & 1) << 255)).to_bytes(32, "little")
