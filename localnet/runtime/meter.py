"""Gas instrumentation: count Wasm operators per basic block inside the module, as nearcore does.

nearcore charges `regular_op_cost` per operator for each basic block up front (`block`, `else` and `end` are
free). wasmtime's own fuel counts operators similarly, but keeps the running count in a register and only
stores it at calls, so a trap deep inside a loop loses everything counted since the last call (a runaway
loop that ends in an out-of-bounds trap was charged 3 million operators instead of 358 million). This pass
makes the count exact and always visible to the host:

- two globals are appended and exported: `__localnet_ops` (operators executed so far, i64) and
  `__localnet_ops_limit` (the most operators the call may run, set by the runner before it starts and after
  every host call);
- at the start of every basic block with cost c (function entry, after `block`/`loop`/`if`/`else`/`end`,
  after `br`/`br_if`/`br_table`/`return`/`unreachable` and after each `call`/`call_indirect`) it inserts
  `ops += c; if ops > limit: unreachable`.

The runner reads `__localnet_ops` at every host call and after a trap; an `unreachable` trap with
ops > limit is gas exhaustion. Blocks end at calls so that a host call which ends the execution (a panic,
running out of gas) is charged only for the operators before it.
"""

from __future__ import annotations

from localnet.runtime.prepare import PrepareFailure, _Reader, _section, _uleb_encode

OPS_GLOBAL = "__localnet_ops"
LIMIT_GLOBAL = "__localnet_ops_limit"

_GLOBAL, _EXPORT, _CODE = 6, 7, 10
_GLOBAL_RANK_AFTER = {1, 2, 3, 4, 5, 13}  # sections that come before the global section
_FREE = {0x02, 0x05, 0x0B}  # block, else, end
# A new basic block starts after these (the instruction itself belongs to the block it ends).
_ENDS_BLOCK = {0x02, 0x03, 0x04, 0x05, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x00, 0x10, 0x11}
_MEMARG = set(range(0x28, 0x3F))
_ONE_INDEX = {0x0C, 0x0D, 0x10, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xD2}


def _sleb(reader: _Reader, max_bits: int) -> None:
    for _ in range((max_bits + 6) // 7):
        if not reader.byte() & 0x80:
            return
    raise PrepareFailure("Deserialization")


def _block_type(reader: _Reader) -> None:
    first = reader.data[reader.pos] if reader.pos < reader.end else -1
    if first == 0x40 or first in (0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F):
        reader.byte()
    else:
        _sleb(reader, 33)  # a type index


def _skip_immediates(reader: _Reader, op: int) -> None:
    if op in (0x02, 0x03, 0x04):
        _block_type(reader)
    elif op in _ONE_INDEX:
        reader.uleb()
    elif op == 0x0E:
        for _ in range(reader.uleb()):
            reader.uleb()
        reader.uleb()
    elif op == 0x11 or op in _MEMARG:
        reader.uleb()
        reader.uleb()
    elif op in (0x3F, 0x40):
        reader.byte()
    elif op == 0x41:
        _sleb(reader, 32)
    elif op == 0x42:
        _sleb(reader, 64)
    elif op == 0x43:
        reader.take(4)
    elif op == 0x44:
        reader.take(8)
    elif op == 0x1C:
        for _ in range(reader.uleb()):
            reader.byte()
    elif op == 0xD0:
        reader.byte()
    elif op == 0xFC:
        _skip_prefixed(reader)
    elif op in (0x00, 0x01, 0x05, 0x0B, 0x0F, 0x1A, 0x1B, 0xD1) or 0x45 <= op <= 0xC4:
        pass
    else:
        raise PrepareFailure("Deserialization")  # SIMD, threads, exceptions, … are off in nearcore


def _skip_prefixed(reader: _Reader) -> None:
    sub = reader.uleb()
    if sub <= 7:  # saturating float-to-int
        return
    if sub == 8:  # memory.init data, mem
        reader.uleb()
        reader.byte()
    elif sub in (9, 13, 15, 16, 17):  # data.drop, elem.drop, table.grow/size/fill
        reader.uleb()
    elif sub == 10:  # memory.copy
        reader.byte()
        reader.byte()
    elif sub == 11:  # memory.fill
        reader.byte()
    elif sub in (12, 14):  # table.init, table.copy
        reader.uleb()
        reader.uleb()
    else:
        raise PrepareFailure("Deserialization")


def _charge(cost: int, ops_index: bytes, limit_index: bytes) -> bytes:
    """ops += cost; if ops > limit: unreachable."""
    return (
        b"\x23"
        + ops_index
        + b"\x42"
        + _sleb_encode(cost)
        + b"\x7c\x24"
        + ops_index
        + b"\x23"
        + ops_index
        + b"\x23"
        + limit_index
        + b"\x56\x04\x40\x00\x0b"
    )


def _sleb_encode(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if (value == 0 and not b & 0x40) or (value == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def _instrument_body(reader: _Reader, end: int, ops_index: bytes, limit_index: bytes) -> bytes:
    """One function body (after its size): locals copied, a charge inserted at each basic block."""
    locals_start = reader.pos
    for _ in range(reader.uleb()):
        reader.uleb()
        reader.byte()
    out = bytearray(reader.data[locals_start : reader.pos])
    pending = bytearray()  # instructions of the current block, not yet written
    cost = 0
    while reader.pos < end:
        start = reader.pos
        op = reader.byte()
        _skip_immediates(reader, op)
        pending += reader.data[start : reader.pos]
        if op not in _FREE:
            cost += 1
        if op in _ENDS_BLOCK:
            if cost:
                out += _charge(cost, ops_index, limit_index)
            out += pending
            pending.clear()
            cost = 0
    if reader.pos != end or pending:
        raise PrepareFailure("Deserialization")
    return bytes(out)


def _instrument_code(body: bytes, ops_index: bytes, limit_index: bytes) -> bytes:
    reader = _Reader(body)
    count = reader.uleb()
    out = bytearray(_uleb_encode(count))
    for _ in range(count):
        size = reader.uleb()
        end = reader.pos + size
        if end > reader.end:
            raise PrepareFailure("Deserialization")
        new_body = _instrument_body(_Reader(reader.data, reader.pos, end), end, ops_index, limit_index)
        out += _uleb_encode(len(new_body)) + new_body
        reader.pos = end
    if not reader.at_end():
        raise PrepareFailure("Deserialization")
    return bytes(out)


def _global_count(body: bytes) -> tuple[int, bytes]:
    reader = _Reader(body)
    count = reader.uleb()
    return count, body[reader.pos :]


def _new_globals(initial_limit: int) -> bytes:
    ops = b"\x7e\x01\x42\x00\x0b"  # (mut i64) (i64.const 0)
    limit = b"\x7e\x01\x42" + _sleb_encode(initial_limit) + b"\x0b"
    return ops + limit


def _export(name: str, global_index: int) -> bytes:
    raw = name.encode()
    return _uleb_encode(len(raw)) + raw + b"\x03" + _uleb_encode(global_index)


def instrument(prepared: bytes, initial_limit: int) -> bytes:
    """Add the operator-counting globals, exports and per-block charges to a prepared module.

    `initial_limit` bounds operators run before the runner sets the limit (a start function).
    """
    reader = _Reader(prepared, 8)
    sections: list[tuple[int, bytes]] = []
    while not reader.at_end():
        section_id = reader.byte()
        sections.append((section_id, reader.take(reader.uleb())))
    existing_globals = 0
    for section_id, body in sections:
        if section_id == _GLOBAL:
            existing_globals, _ = _global_count(body)
    ops_at, limit_at = existing_globals, existing_globals + 1
    ops_index, limit_index = _uleb_encode(ops_at), _uleb_encode(limit_at)
    exports = _export(OPS_GLOBAL, ops_at) + _export(LIMIT_GLOBAL, limit_at)

    out = bytearray(prepared[:8])
    wrote_global = wrote_export = False
    for section_id, body in sections:
        if not wrote_global and section_id not in _GLOBAL_RANK_AFTER and section_id != _GLOBAL and section_id != 0:
            out += _section(_GLOBAL, _uleb_encode(2) + _new_globals(initial_limit))
            wrote_global = True
        if not wrote_export and section_id not in _GLOBAL_RANK_AFTER and section_id not in (_GLOBAL, _EXPORT, 0):
            out += _section(_EXPORT, _uleb_encode(2) + exports)
            wrote_export = True
        if section_id == _GLOBAL:
            count, rest = _global_count(body)
            out += _section(_GLOBAL, _uleb_encode(count + 2) + rest + _new_globals(initial_limit))
            wrote_global = True
        elif section_id == _EXPORT:
            export_reader = _Reader(body)
            count = export_reader.uleb()
            out += _section(_EXPORT, _uleb_encode(count + 2) + body[export_reader.pos :] + exports)
            wrote_export = True
        elif section_id == _CODE:
            out += _section(_CODE, _instrument_code(body, ops_index, limit_index))
        else:
            out += _section(section_id, body)
    if not wrote_global:
        out += _section(_GLOBAL, _uleb_encode(2) + _new_globals(initial_limit))
    if not wrote_export:
        out += _section(_EXPORT, _uleb_encode(2) + exports)
    return bytes(out)
