"""SHA3-256 in pure Python that stays within MicroPython's small ints.

NEAR has no SHA3 host function (`keccak256` uses Keccak padding), and the key-derivation tweak is
SHA3-256. On wasm32 MicroPython a 64-bit lane is a heap-allocated big int, so each lane is kept as four
16-bit words in bit-interleaved form (word k holds the lane's bits k, k+4, k+8, ...). A 64-bit rotation
then becomes four 16-bit rotations and every operation stays on small ints (no allocation).
Runs unchanged under CPython, where tests check it against hashlib.sha3_256.
"""

RATE_BYTES = 136
_MASK16 = 0xFFFF
_RHO = (0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14)
_ROUND_CONSTANTS = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)


def _spread_byte(value, word):
    """The two bits of `value` that belong to interleaved `word`, packed (bits word and word+4)."""
    return ((value >> word) & 1) | (((value >> (word + 4)) & 1) << 1)


# _SPREAD[word][byte] -> 2-bit contribution of `byte` to interleaved `word`.
_SPREAD = tuple(tuple(_spread_byte(b, w) for b in range(256)) for w in range(4))


def _interleave_lane(data, offset):
    """Eight little-endian bytes -> four 16-bit interleaved words."""
    words = [0, 0, 0, 0]
    for i in range(8):
        b = data[offset + i]
        shift = 2 * i
        for w in range(4):
            words[w] |= _SPREAD[w][b] << shift
    return words


def _deinterleave_lane(words):
    out = bytearray(8)
    for i in range(8):
        b = 0
        for w in range(4):
            pair = (words[w] >> (2 * i)) & 3
            b |= ((pair & 1) << w) | ((pair >> 1) << (w + 4))
        out[i] = b
    return bytes(out)


def _lane_words_of_int(value):
    return _interleave_lane(value.to_bytes(8, "little"), 0)


def _build_plan():
    """(dst_word, src_word, shift16) for rho+pi, on flat index 4*lane + word."""
    plan = []
    for x in range(5):
        for y in range(5):
            src_lane = x + 5 * y
            dst_lane = y + 5 * ((2 * x + 3 * y) % 5)
            r = _RHO[src_lane]
            for k_new in range(4):
                k_old = (k_new - r) % 4
                shift = ((k_old + r - k_new) // 4) % 16
                plan.append((4 * dst_lane + k_new, 4 * src_lane + k_old, shift))
    return tuple(plan)


_RHO_PI = _build_plan()
_ROUND_WORDS = tuple(tuple(_lane_words_of_int(rc)) for rc in _ROUND_CONSTANTS)
# theta's rotate-by-one on interleaved words: new word k = old word k-1, and word 0 takes word 3 rotated by 1.
_CHI = tuple((i, 4 * ((i // 4) // 5 * 5 + ((i // 4) % 5 + 1) % 5) + i % 4,
              4 * ((i // 4) // 5 * 5 + ((i // 4) % 5 + 2) % 5) + i % 4) for i in range(100))


def _permute(a):
    """Keccak-f[1600] on 100 interleaved 16-bit words (lane index x + 5y)."""
    b = [0] * 100
    for rc in _ROUND_WORDS:
        c = [a[i] ^ a[i + 20] ^ a[i + 40] ^ a[i + 60] ^ a[i + 80] for i in range(20)]
        for x in range(5):
            left = 4 * ((x + 4) % 5)
            right = 4 * ((x + 1) % 5)
            r3 = c[right + 3]
            d = (
                c[left] ^ (((r3 << 1) | (r3 >> 15)) & _MASK16),
                c[left + 1] ^ c[right],
                c[left + 2] ^ c[right + 1],
                c[left + 3] ^ c[right + 2],
            )
            for y in range(0, 100, 20):
                base = y + 4 * x
                a[base] ^= d[0]
                a[base + 1] ^= d[1]
                a[base + 2] ^= d[2]
                a[base + 3] ^= d[3]
        for dst, src, shift in _RHO_PI:
            v = a[src]
            b[dst] = (((v << shift) | (v >> (16 - shift))) & _MASK16) if shift else v
        for i, j, k in _CHI:
            a[i] = b[i] ^ ((~b[j]) & b[k] & _MASK16)
        a[0] ^= rc[0]
        a[1] ^= rc[1]
        a[2] ^= rc[2]
        a[3] ^= rc[3]
    return a


def sha3_256(data):
    """SHA3-256 digest (FIPS 202) of `data` (bytes)."""
    padded = bytearray(data)
    padded.append(0x06)
    while len(padded) % RATE_BYTES:
        padded.append(0)
    padded[-1] |= 0x80
    state = [0] * 100
    for block in range(0, len(padded), RATE_BYTES):
        for lane in range(RATE_BYTES // 8):
            words = _interleave_lane(padded, block + 8 * lane)
            base = 4 * lane
            state[base] ^= words[0]
            state[base + 1] ^= words[1]
            state[base + 2] ^= words[2]
            state[base + 3] ^= words[3]
        state = _permute(state)
    return b"".join(_deinterleave_lane(state[4 * lane:4 * lane + 4]) for lane in range(4))
