"""Oblivious transfer for dishonest-majority multiplication: base OT, OT extension and MtA over the secp256k1 scalars.

Pure functions over bytes and ints (sans-I/O); ``triples_ot.py`` composes them into the triple protocol. Per ordered
pair (S, R) — S holds a multiplicand ``a``, R holds ``b`` — the steps are:

1. **Base OT** (Chou–Orlandi "simplest OT", batched): R is the base-OT *sender*: ``y`` random, sends S₀ = y·G.
   S, the base-OT *receiver* with KAPPA random choice bits Δ, sends R_k = x_k·G + Δ_k·S₀ and keeps
   key_k = H(x_k·S₀); R derives key0_k = H(y·R_k) and key1_k = H(y·(R_k − S₀)). Keys are bound to the pair context,
   the index and the transcript (S₀, R_k).
2. **OT extension** (IKNP with the KOS15 consistency check): R, with choice bits r ∈ {0,1}^m padded by KOS_PAD random
   bits, sends the KAPPA columns u_k = PRG(key0_k) ⊕ PRG(key1_k) ⊕ r; S computes q_k = PRG(key_{Δ_k}) ⊕ Δ_k·u_k, so
   that (transposed) row q_j = t_j ⊕ r_j·Δ. Check: with a Fiat–Shamir challenge χ_j ∈ {0,1}^KAPPA per row (hashed
   from the columns), R also sends x = ⊕ r_j·χ_j and t = ⊕ χ_j ⊗ t_j (carry-less), and S requires
   ⊕ χ_j ⊗ q_j = t ⊕ x ⊗ Δ; a receiver that used different r in different columns fails it (naming R) unless it
   guessed the Δ bits involved. The padding rows (discarded) keep x and t from revealing r. The check runs
   bit-sliced on the columns (KAPPA² parities of m-bit ints per side), so no per-row field multiplication is needed.
   Row pads are p0_j = H(j, q_j), p1_j = H(j, q_j ⊕ Δ) for S and p_j = H(j, t_j) = p_{r_j} for R (H: BLAKE2b keyed
   with the pair context, 384 bits reduced mod the order).
3. **MtA** (Gilboa, correlated OT): R encodes b as ENCODED_BITS random bits β with b = Σ β_k·g_k over a public gadget
   (g_k = 2^k for k < 256, then STAT_BITS public random scalars: a *randomized encoding*, so that a sender probing up
   to STAT_BITS choice bits by selective failure learns nothing about b). S sends d_k = p0_k + a − p1_k and outputs
   α = −Σ g_k·p0_k; R computes v_k = p_{β_k} + β_k·d_k = p0_k + β_k·a and outputs β = Σ g_k·v_k. Then α + β = a·b.

What the caller must add: nothing here proves that S used its committed ``a`` (the same in every row). A sender
deviating that way changes the product by an amount that depends on R's secret, so the caller's check in the
exponent (``triples_ot.py``: Σ c_i·G == a·B, DLEQ-proven) catches it; what remains is selective failure — whether a
run aborts tells the cheater about the choice bits it probed, each probe halving its chance of going unnoticed, and the
randomized encoding hides b from up to STAT_BITS probed bits. An aborted run's values must be discarded.
Python ints are not constant-time (docs/protocol.md).
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from .errors import BadProofError, MalformedMessageError
from .groups import SECP256K1, Point, RandomSource
from .transcript import Transcript
from .types import ParticipantId, SessionId

__all__ = [
    "ENCODED_BITS",
    "KAPPA",
    "KOS_PAD",
    "STAT_BITS",
    "BaseOtSender",
    "ExtensionMessage",
    "OtPair",
    "base_ot_receive",
    "decode_corrections",
    "encode_corrections",
    "extension_receive",
    "extension_send",
    "gadget",
    "mta_encode",
    "mta_receiver_finish",
    "mta_sender",
    "transpose",
]

KAPPA = 128
"""Computational security parameter: number of base OTs, width of an extended OT row."""
STAT_BITS = 128
"""Statistical padding of the randomized encoding of the MtA receiver's input."""
ENCODED_BITS = 256 + STAT_BITS
"""Choice bits (extended OTs) per MtA: 384, a multiple of KAPPA."""

_GROUP = SECP256K1
_ORDER = SECP256K1.order
_ROW_BYTES = KAPPA // 8


@dataclass(frozen=True)
class OtPair:
    """Context of one ordered pair: ``sender`` holds the multiplicand a, ``receiver`` holds b (and plays base-OT sender)."""

    sid: SessionId
    sender: ParticipantId
    receiver: ParticipantId

    @cached_property
    def label(self) -> bytes:
        """32 bytes binding every hash of this pair's OTs to the session and the ordered pair."""
        t = Transcript(b"ot/pair").append(b"sid", self.sid)
        return t.append_int(b"sender", self.sender).append_int(b"receiver", self.receiver).digest()


# --- base OT (Chou–Orlandi) -----------------------------------------------------------------------------------------


def _base_key(pair: OtPair, index: int, s0: Point, r: Point, shared: Point) -> bytes:
    # S₀ and R_k are validated 33-byte points; only the last field can be short (the identity), so no ambiguity.
    return hashlib.sha256(b"ot/base-key" + pair.label + index.to_bytes(4, "big") + s0 + r + shared).digest()


class BaseOtSender:
    """The base-OT sender (the MtA receiver): one secret y for all KAPPA base OTs of a pair (repr hides it)."""

    __slots__ = ("_y", "first_message", "pair")

    def __init__(self, pair: OtPair, rng: RandomSource) -> None:
        self.pair = pair
        self._y = _GROUP.random_scalar(rng)
        self.first_message: Point = _GROUP.base_mul(self._y)

    def keys(self, answers: Sequence[Point]) -> list[tuple[bytes, bytes]]:
        """(key0, key1) per base OT from the receiver's points R_k (already decoded: on the curve, not identity)."""
        g, s0 = _GROUP, self.first_message
        ys = g.mul(s0, self._y)
        out = []
        for k, r in enumerate(answers):
            yr = g.mul(r, self._y)
            out.append((_base_key(self.pair, k, s0, r, yr), _base_key(self.pair, k, s0, r, g.sub(yr, ys))))
        return out

    def __repr__(self) -> str:
        return "BaseOtSender(<redacted>)"


def base_ot_receive(pair: OtPair, choices: int, s0: Point, rng: RandomSource) -> tuple[list[Point], list[bytes]]:
    """The base-OT receiver (the MtA sender) with KAPPA choice bits (bit k of ``choices``): its points R_k and keys."""
    g = _GROUP
    points, keys = [], []
    for k in range(KAPPA):
        x = g.random_scalar(rng)
        r = g.base_mul(x)
        if (choices >> k) & 1:
            r = g.add(r, s0)
        points.append(r)
        keys.append(_base_key(pair, k, s0, r, g.mul(s0, x)))
    return points, keys


# --- OT extension (IKNP) -------------------------------------------------------------------------------------------


def _prg(pair: OtPair, key: bytes, nbits: int) -> int:
    return int.from_bytes(hashlib.shake_256(b"ot/prg" + pair.label + key).digest(nbits // 8), "little")


@lru_cache(maxsize=16)
def _lane_masks(lanes: int) -> tuple[int, ...]:
    rep = ((1 << (KAPPA * lanes)) - 1) // ((1 << KAPPA) - 1)
    masks = []
    j = KAPPA // 2
    while j:
        lane = sum(1 << p for p in range(KAPPA) if not p & j)
        masks.append(lane * rep)
        j >>= 1
    return tuple(masks)


def transpose(columns: Sequence[int], nbits: int) -> list[bytes]:
    """Rows of a KAPPA × nbits bit matrix: bit k of row j (16 bytes, little-endian) = bit j of ``columns[k]``.

    Every 128×128 block is transposed at once by the recursive block-swap network, run on whole big ints with
    lane-repeated masks (7·64 big-int steps in total instead of KAPPA·nbits bit operations).
    """
    if len(columns) != KAPPA or nbits % KAPPA:
        raise ValueError("need KAPPA columns of a multiple of KAPPA bits")
    lanes = nbits // KAPPA
    a = list(columns)
    j = KAPPA // 2
    for mask in _lane_masks(lanes):
        for k in range(KAPPA):
            if k & j:
                continue
            t = ((a[k] >> j) ^ a[k + j]) & mask
            a[k + j] ^= t
            a[k] ^= t << j
        j >>= 1
    # Now lane b of a[c] is row 128·b + c.
    raw = [x.to_bytes(nbits // 8, "little") for x in a]
    return [raw[c][_ROW_BYTES * b : _ROW_BYTES * (b + 1)] for b in range(lanes) for c in range(KAPPA)]


KOS_PAD = 2 * KAPPA
"""Extra random OTs the extension receiver appends (and both sides discard) so the consistency check leaks nothing."""


@dataclass(frozen=True)
class ExtensionMessage:
    """The extension receiver's message: KAPPA columns of nbits + KOS_PAD bits and the KOS check values (x, t)."""

    columns: tuple[int, ...]
    x: int
    t: int

    def __repr__(self) -> str:  # the columns are long; keep logs readable
        return f"ExtensionMessage({len(self.columns)} columns)"

    def encode(self, nbits: int) -> bytes:
        width = (nbits + KOS_PAD) // 8
        cols = b"".join(c.to_bytes(width, "little") for c in self.columns)
        return cols + self.x.to_bytes(_ROW_BYTES, "little") + self.t.to_bytes(2 * _ROW_BYTES, "little")

    @classmethod
    def decode(cls, data: bytes, nbits: int, culprit: ParticipantId | None) -> ExtensionMessage:
        width = (nbits + KOS_PAD) // 8
        if len(data) != KAPPA * width + 3 * _ROW_BYTES:
            raise MalformedMessageError(f"OT extension message must be {KAPPA * width + 48} bytes", culprit=culprit)
        cols = tuple(int.from_bytes(data[k * width : (k + 1) * width], "little") for k in range(KAPPA))
        tail = data[KAPPA * width :]
        t = int.from_bytes(tail[_ROW_BYTES:], "little")
        if t >> (2 * KAPPA - 1):
            raise MalformedMessageError("OT extension check value out of range", culprit=culprit)
        return cls(cols, int.from_bytes(tail[:_ROW_BYTES], "little"), t)


def _kos_planes(pair: OtPair, columns: Sequence[int], nbits: int) -> list[int]:
    """Fiat–Shamir challenge χ_j ∈ {0,1}^KAPPA per row, bit-sliced: plane b holds bit b of every χ_j (listed from
    b = KAPPA − 1 down, the order ``_parities`` reads them in)."""
    h = hashlib.sha256(b"ot/kos-challenge" + pair.label)
    width = nbits // 8
    for c in columns:
        h.update(c.to_bytes(width, "little"))
    seed = h.digest()
    return [_prg(pair, seed + b.to_bytes(2, "big"), nbits) for b in reversed(range(KAPPA))]


def _parities(value: int, planes_msb_first: Sequence[int]) -> int:
    """The KAPPA-bit vector ⊕_{j: bit j of value} χ_j (bit b = parity of value & plane b; planes given from b = 127)."""
    return int("".join(["01"[(value & p).bit_count() & 1] for p in planes_msb_first]), 2)


def _kos_combine(columns: Sequence[int], planes: Sequence[int]) -> int:
    """Σ_j χ_j ⊗ row_j (carry-less, unreduced) computed from the columns: ⊕_k (⊕_{j ∈ column k} χ_j)·X^k."""
    acc = 0
    for k, col in enumerate(columns):
        acc ^= _parities(col, planes) << k
    return acc


def _clmul(a: int, b: int) -> int:
    acc = 0
    while b:
        if b & 1:
            acc ^= a
        a <<= 1
        b >>= 1
    return acc


def extension_receive(
    pair: OtPair, seed_pairs: Sequence[tuple[bytes, bytes]], choices: int, nbits: int, rng: RandomSource
) -> tuple[ExtensionMessage, list[bytes]]:
    """The extension receiver with ``nbits`` choice bits: its message (columns u_k = t_k ⊕ PRG(key1_k) ⊕ r and
    the KOS check x = Σ r_j·χ_j, t = Σ χ_j ⊗ t_j over all rows, KOS_PAD random padding rows included) and rows t_j."""
    if len(seed_pairs) != KAPPA:
        raise ValueError("need KAPPA base OT key pairs")
    total = nbits + KOS_PAD
    padded = choices | (int.from_bytes(rng.randbytes(KOS_PAD // 8), "little") << nbits)
    ts, us = [], []
    for k0, k1 in seed_pairs:
        t = _prg(pair, k0, total)
        ts.append(t)
        us.append(t ^ _prg(pair, k1, total) ^ padded)
    planes = _kos_planes(pair, us, total)
    message = ExtensionMessage(tuple(us), _parities(padded, planes), _kos_combine(ts, planes))
    low = (1 << nbits) - 1
    return message, transpose([t & low for t in ts], nbits)


def extension_send(
    pair: OtPair, delta: int, keys: Sequence[bytes], message: ExtensionMessage, nbits: int
) -> tuple[list[bytes], list[bytes]]:
    """The extension sender with base choice bits Δ and chosen keys: checks the receiver's consistency (KOS15:
    Σ χ_j ⊗ q_j = t ⊕ x ⊗ Δ; a failure names the receiver) and returns rows q_j and q_j ⊕ Δ."""
    if len(keys) != KAPPA or len(message.columns) != KAPPA:
        raise ValueError("need KAPPA keys and columns")
    total = nbits + KOS_PAD
    qs = []
    for k in range(KAPPA):
        q = _prg(pair, keys[k], total)
        if (delta >> k) & 1:
            q ^= message.columns[k]
        qs.append(q)
    planes = _kos_planes(pair, message.columns, total)
    if _kos_combine(qs, planes) != message.t ^ _clmul(message.x, delta):
        raise BadProofError("OT extension consistency check failed", culprit=pair.receiver, phase="ot-extension")
    low = (1 << nbits) - 1
    rows0 = transpose([q & low for q in qs], nbits)
    d = delta.to_bytes(_ROW_BYTES, "little")
    rep = d * (len(rows0))
    flipped = (int.from_bytes(b"".join(rows0), "little") ^ int.from_bytes(rep, "little")).to_bytes(
        _ROW_BYTES * len(rows0), "little"
    )
    rows1 = [flipped[_ROW_BYTES * j : _ROW_BYTES * (j + 1)] for j in range(len(rows0))]
    return rows0, rows1


def _pads(pair: OtPair, rows: Sequence[bytes]) -> list[int]:
    keyed = hashlib.blake2b(digest_size=48, key=pair.label)  # copied per row: the key block is hashed once
    order = _ORDER
    out = []
    for j, row in enumerate(rows):
        h = keyed.copy()
        h.update(row + j.to_bytes(8, "big"))
        out.append(int.from_bytes(h.digest(), "big") % order)
    return out


# --- MtA (Gilboa over the scalar field) ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def gadget() -> tuple[int, ...]:
    """The public gadget vector: 2^k for k < 256, then STAT_BITS public pseudo-random scalars."""
    extra = tuple(
        _GROUP.hash_to_scalar(b"chainsig-py/ot/mta-gadget", k.to_bytes(4, "big")) for k in range(STAT_BITS)
    )
    return tuple(1 << k for k in range(256)) + extra


def mta_encode(values: Sequence[int], rng: RandomSource) -> int:
    """Randomized encoding of the receiver's inputs: ENCODED_BITS choice bits per value, value i at bit offset
    i·ENCODED_BITS, with Σ β_k·g_k ≡ value."""
    g = gadget()
    out = 0
    for i, b in enumerate(values):
        extra = int.from_bytes(rng.randbytes(STAT_BITS // 8), "big")
        low = b
        for k in range(STAT_BITS):
            if (extra >> k) & 1:
                low -= g[256 + k]
        low %= _ORDER
        out |= (low | (extra << 256)) << (i * ENCODED_BITS)
    return out


def mta_sender(
    pair: OtPair, values: Sequence[int], rows0: Sequence[bytes], rows1: Sequence[bytes]
) -> tuple[list[int], list[int]]:
    """The MtA sender with inputs a_i: its additive shares α_i and the corrections d (ENCODED_BITS per value)."""
    if len(rows0) != len(values) * ENCODED_BITS or len(rows1) != len(rows0):
        raise ValueError("need ENCODED_BITS extended OTs per value")
    p0, p1 = _pads(pair, rows0), _pads(pair, rows1)
    g, order = gadget(), _ORDER
    alphas: list[int] = []
    corrections: list[int] = []
    for i, a in enumerate(values):
        base = i * ENCODED_BITS
        low = 0
        for k in range(256):
            low += p0[base + k] << k
        acc = low + sum(g[256 + k] * p0[base + 256 + k] for k in range(STAT_BITS))
        alphas.append(-acc % order)
        corrections.extend((p0[base + k] + a - p1[base + k]) % order for k in range(ENCODED_BITS))
    return alphas, corrections


def mta_receiver_finish(pair: OtPair, choices: int, rows: Sequence[bytes], corrections: Sequence[int]) -> list[int]:
    """The MtA receiver: its additive shares β_i from its rows t_j and the sender's corrections."""
    if len(rows) != len(corrections) or len(rows) % ENCODED_BITS:
        raise ValueError("need ENCODED_BITS corrections per value")
    pads = _pads(pair, rows)
    g, order = gadget(), _ORDER
    betas = []
    for i in range(len(rows) // ENCODED_BITS):
        base = i * ENCODED_BITS
        bits = choices >> base
        v = [pads[base + k] + corrections[base + k] if (bits >> k) & 1 else pads[base + k] for k in range(ENCODED_BITS)]
        low = 0
        for k in range(256):
            low += v[k] << k
        acc = low + sum(g[256 + k] * v[256 + k] for k in range(STAT_BITS))
        betas.append(acc % order)
    return betas


def encode_corrections(corrections: Sequence[int]) -> bytes:
    return b"".join(c.to_bytes(32, "big") for c in corrections)


def decode_corrections(data: bytes, count: int, culprit: ParticipantId | None) -> list[int]:
    if len(data) != 32 * count:
        raise MalformedMessageError(f"expected {count} MtA corrections", culprit=culprit)
    out = [int.from_bytes(data[32 * i : 32 * (i + 1)], "big") for i in range(count)]
    if any(c >= _ORDER for c in out):
        raise MalformedMessageError("MtA correction is not below the group order", culprit=culprit)
    return out
