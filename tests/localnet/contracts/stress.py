"""Stress: a localnet test contract for the toolchain hazards the project's MicroPython patch fixes.

`keccak({"hex": str, "rounds"?: int})` runs a pure-Python Keccak-f[1600] on 64-bit ints — thousands of
temporary big ints — and returns keccak256 of the input next to the host's `near.keccak256` for
comparison. `allocate({"count": int, "size": int})` keeps `count` live bytearrays of `size` bytes and
returns their checksum. With nearc's stock runtime (32 KiB heap, collector blind to Wasm locals) the
corrupted heap sends these into a runaway loop that ends in an out-of-bounds trap (or runs out of gas first);
with contract/patches/webassembly-near.patch they complete. Allocation is expensive either way: zeroing a
bytearray costs about 30 Wasm operators per byte (1 MB ≈ 27 Tgas).

`yield_id({"gas"?: int})` creates a yield (hazard a) and reports the type of the data id near-sdk-py hands
back: bytes with the patch; the stock port decodes the 32 random bytes as UTF-8 and raises UnicodeError.
The yield is not returned; it times out into `on_yield`.
"""

import json

import near

MASK = (1 << 64) - 1
ROUND_CONSTANTS = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
ROTATIONS = [
    [0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14],
]


def _args():
    raw = near.input()
    return json.loads(raw) if raw else {}


def _rotl(value, shift):
    return ((value << shift) | (value >> (64 - shift))) & MASK if shift else value


def _keccak_f(state, rounds):
    for round_index in range(rounds):
        c = [state[x][0] ^ state[x][1] ^ state[x][2] ^ state[x][3] ^ state[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rotl(c[(x + 1) % 5], 1) for x in range(5)]
        state = [[state[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rotl(state[x][y], ROTATIONS[x][y])
        state = [[b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        state[0][0] ^= ROUND_CONSTANTS[round_index]
    return state


def _keccak256(data, rounds):
    rate = 136
    padded = bytearray(data) + b"\x01" + bytes((-len(data) - 2) % rate) + b"\x80"
    if len(padded) % rate:
        raise ValueError("bad padding")
    state = [[0] * 5 for _ in range(5)]
    for offset in range(0, len(padded), rate):
        block = padded[offset:offset + rate]
        for i in range(rate // 8):
            x, y = i % 5, i // 5
            state[x][y] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        state = _keccak_f(state, rounds)
    out = b""
    for i in range(4):
        out += state[i % 5][i // 5].to_bytes(8, "little")
    return out


@near.export
def keccak():
    """{"hex": str, "rounds"?: int (24)} -> {"python": hex, "host": hex}."""
    args = _args()
    data = bytes.fromhex(args.get("hex", ""))
    rounds = int(args.get("rounds", 24))
    near.value_return(json.dumps({"python": _keccak256(data, rounds).hex(), "host": near.keccak256(data).hex()}))


@near.export
def allocate():
    """{"count": int, "size": int} -> {"checksum": int}; keeps every buffer alive until the end."""
    args = _args()
    buffers = []
    for i in range(int(args["count"])):
        buffer = bytearray(int(args["size"]))  # (`bytearray * int` raises ZeroDivisionError in this MicroPython)
        buffer[0] = i & 0xFF
        buffers.append(buffer)
    near.value_return(json.dumps({"checksum": sum(buf[0] for buf in buffers), "buffers": len(buffers)}))


@near.export
def yield_id():
    """{"gas"?: int (1 Tgas)} -> {"type": type name of the data id, "hex": its hex, "length": n}."""
    gas = int(_args().get("gas", 1_000_000_000_000))
    _, data_id = near.promise_yield_create("on_yield", "{}", gas, 0)
    near.value_return(json.dumps({"type": type(data_id).__name__, "hex": data_id.hex(), "length": len(data_id)}))


@near.export
def on_yield():
    """Callback of `yield_id`'s yield: reports the promise result status."""
    status, _ = near.promise_result(0)
    near.value_return(json.dumps({"status": status}))
