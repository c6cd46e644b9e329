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
SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752  # 2^((p-1)/4)


class PointError(Exception):
    """Bytes that do not encode a point of edwards25519."""


def decompress(data):
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
    """Extended point + affine point given as (y-x, y+x, 2dxy); coordinates stay unreduced (folded)."""
    x1, y1, z1, t1 = point
    a = _mul(y1 - x1, ym)
    b = _mul(y1 + x1, yp)
    c = _mul(t1, t2d)
    d = 2 * z1
    e, f, g, h = b - a, d - c, d + c, b + a
    return _mul(e, f), _mul(g, h), _mul(f, g), _mul(e, h)


def _entry(index):
    """Table entry `index` = 15 * window + digit - 1."""
    base = index * ENTRY_BYTES
    chunk = TABLE[base:base + ENTRY_BYTES]  # TABLE is one bytes constant (adjacent literals concatenate)
    return (
        int.from_bytes(chunk[0:32], "little"),
        int.from_bytes(chunk[32:64], "little"),
        int.from_bytes(chunk[64:96], "little"),
    )


_MASK255 = (1 << 255) - 1


def _square_times(a, n):
    """a^(2^n) mod p, up to a multiple of p: mpz folds (2^255 = 19) instead of divisions."""
    for _ in range(n):
        a = a * a
        a = (a & _MASK255) + 19 * (a >> 255)
        a = (a & _MASK255) + 19 * (a >> 255)
    return a


def _mul(a, b):
    a = a * b
    a = (a & _MASK255) + 19 * (a >> 255)
    return (a & _MASK255) + 19 * (a >> 255)


def invert(z):
    """z^(p-2) mod p with ref10's addition chain (254 squarings, 11 multiplications)."""
    z2 = _mul(z, z)
    z9 = _mul(_square_times(z2, 2), z)
    z11 = _mul(z9, z2)
    z_5 = _mul(_mul(z11, z11), z9)
    z_10 = _mul(_square_times(z_5, 5), z_5)
    z_20 = _mul(_square_times(z_10, 10), z_10)
    z_40 = _mul(_square_times(z_20, 20), z_20)
    z_50 = _mul(_square_times(z_40, 10), z_10)
    z_100 = _mul(_square_times(z_50, 50), z_50)
    z_200 = _mul(_square_times(z_100, 100), z_100)
    z_250 = _mul(_square_times(z_200, 50), z_50)
    return _mul(_square_times(z_250, 5), z11) % P


def precomputed(root):
    """The 96-byte (y-x, y+x, 2dxy) form of a compressed point (checked); stored once per domain key."""
    x, y, _, t = decompress(root)
    return ((y - x) % P).to_bytes(32, "little") + ((y + x) % P).to_bytes(32, "little") \
        + (D2 * t % P).to_bytes(32, "little")


def derive_ed25519(root, tweak, root_precomputed=None):
    """Compressed 32-byte encoding of root + (tweak mod l)*B. Raises PointError for a bad root.

    `root_precomputed` (from `precomputed(root)`) saves the decompression's two exponentiations."""
    entry = root_precomputed if root_precomputed is not None else precomputed(root)
    # Start from the root as a precomputed affine point, so every step below is one mixed addition.
    point = _add_precomputed((0, 1, 1, 0), int.from_bytes(entry[0:32], "little"),
                             int.from_bytes(entry[32:64], "little"), int.from_bytes(entry[64:96], "little"))
    scalar = int.from_bytes(tweak, "little") % L
    window = 0
    while scalar:
        digit = scalar & 15
        if digit:
            ym, yp, t2d = _entry(15 * window + digit - 1)
            point = _add_precomputed(point, ym, yp, t2d)
        scalar >>= 4
        window += 1
    px, py, pz, _ = point
    inverse = invert(pz % P)
    px %= P
    py %= P
    ax = px * inverse % P
    ay = py * inverse % P
    return (ay | ((ax & 1) << 255)).to_bytes(32, "little")
