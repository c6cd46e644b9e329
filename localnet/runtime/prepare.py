"""Contract preparation like nearcore's `prepare/prepare_v2.rs`.

The module's own memory section is dropped and the import section gains `env.memory` with
limits initial..max pages (1,024–2,048); a memory export keeps pointing at memory 0, which is now
the import. Imports must come from `env` and be functions (a table/global import or a non-env
module → PrepareError::Instantiate, an imported memory → PrepareError::Memory). Function, local,
table and table-element limits are applied; custom sections are discarded. Anything that does
not parse → PrepareError::Deserialization. Full validation of function bodies is left to
wasmtime at compile time (a failure there is reported as Deserialization too).

Written by hand (no maintained Python Wasm binary rewriter exists on PyPI); it only walks the
section headers and the import/table/code-local declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

from localnet.runtime.fees import VMLimits

_MAGIC = b"\x00asm\x01\x00\x00\x00"
_CUSTOM, _TYPE, _IMPORT, _FUNCTION, _TABLE, _MEMORY = 0, 1, 2, 3, 4, 5
_EXPORT, _CODE, _DATACOUNT = 7, 10, 12
# Canonical section order (id → rank); datacount (12) sits between element (9) and code (10).
_ORDER = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}


class PrepareFailure(Exception):
    """Preparation failed with nearcore's PrepareError `variant`."""

    def __init__(self, variant: str) -> None:
        super().__init__(variant)
        self.variant = variant


@dataclass(frozen=True)
class PreparedModule:
    code: bytes
    imported_functions: tuple[str, ...]


class _Reader:
    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise PrepareFailure("Deserialization")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self, max_bits: int = 32) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift >= max_bits + 7:
                raise PrepareFailure("Deserialization")
        if result >= 1 << max_bits:
            raise PrepareFailure("Deserialization")
        return result

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise PrepareFailure("Deserialization")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def name(self) -> str:
        raw = self.take(self.uleb())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PrepareFailure("Deserialization") from exc

    def limits(self) -> tuple[int, int | None]:
        flag = self.byte()
        if flag not in (0, 1):
            raise PrepareFailure("Deserialization")
        minimum = self.uleb()
        return minimum, (self.uleb() if flag == 1 else None)

    def at_end(self) -> bool:
        return self.pos >= self.end


def _uleb_encode(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _name_encode(text: str) -> bytes:
    raw = text.encode()
    return _uleb_encode(len(raw)) + raw


def _section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + _uleb_encode(len(payload)) + payload


def _memory_import(limits: VMLimits) -> bytes:
    return (
        _name_encode("env")
        + _name_encode("memory")
        + b"\x02\x01"
        + _uleb_encode(limits.initial_memory_pages)
        + _uleb_encode(limits.max_memory_pages)
    )


def prepare_contract(code: bytes, limits: VMLimits) -> PreparedModule:
    """Rewrite `code` as nearcore does before compilation; raises PrepareFailure."""
    if not code.startswith(_MAGIC):
        raise PrepareFailure("Deserialization")
    reader = _Reader(code, len(_MAGIC))
    out = bytearray(_MAGIC)
    function_budget = limits.max_functions_number_per_contract
    local_budget = limits.max_locals_per_contract
    imported: list[str] = []
    import_written = False
    last_rank = 0
    while not reader.at_end():
        section_id = reader.byte()
        size = reader.uleb()
        start = reader.pos
        body = reader.take(size)
        if section_id != _CUSTOM:
            rank = _ORDER.get(section_id)
            if rank is None or rank <= last_rank:
                raise PrepareFailure("Deserialization")
            last_rank = rank
        if section_id > _IMPORT and section_id != _CUSTOM and not import_written:
            out += _section(_IMPORT, _uleb_encode(1) + _memory_import(limits))
            import_written = True
        if section_id == _CUSTOM:
            continue  # discard_custom_sections
        if section_id == _IMPORT:
            payload, names = _transform_imports(_Reader(code, start, start + size), limits)
            function_budget -= len(names)
            if function_budget < 0:
                raise PrepareFailure("TooManyFunctions")
            imported.extend(names)
            out += _section(_IMPORT, payload)
            import_written = True
        elif section_id == _MEMORY:
            continue  # replaced by the imported env.memory
        elif section_id == _TABLE:
            _check_tables(_Reader(code, start, start + size), limits)
            out += _section(section_id, body)
        elif section_id == _CODE:
            count, locals_total = _count_code(_Reader(code, start, start + size))
            function_budget -= count
            if function_budget < 0:
                raise PrepareFailure("TooManyFunctions")
            if locals_total > local_budget:
                raise PrepareFailure("TooManyLocals")
            out += _section(section_id, body)
        else:
            out += _section(section_id, body)
    if not import_written:
        out += _section(_IMPORT, _uleb_encode(1) + _memory_import(limits))
    return PreparedModule(bytes(out), tuple(imported))


def _transform_imports(reader: _Reader, limits: VMLimits) -> tuple[bytes, list[str]]:
    count = reader.uleb()
    entries = bytearray()
    names: list[str] = []
    for _ in range(count):
        entry_start = reader.pos
        module = reader.name()
        name = reader.name()
        kind = reader.byte()
        if kind == 0x00:
            reader.uleb()
        elif kind == 0x01:
            reader.byte()
            reader.limits()
        elif kind == 0x02:
            reader.limits()
        elif kind == 0x03:
            reader.byte()
            reader.byte()
        else:
            raise PrepareFailure("Deserialization")
        if module != "env":
            raise PrepareFailure("Instantiate")
        if kind == 0x02:
            raise PrepareFailure("Memory")
        if kind != 0x00:
            raise PrepareFailure("Instantiate")
        names.append(name)
        entries += reader.data[entry_start : reader.pos]
    if not reader.at_end():
        raise PrepareFailure("Deserialization")
    entries += _memory_import(limits)
    return _uleb_encode(count + 1) + bytes(entries), names


def _check_tables(reader: _Reader, limits: VMLimits) -> None:
    count = reader.uleb()
    if count > limits.max_tables_per_contract:
        raise PrepareFailure("Instantiate")
    for _ in range(count):
        reader.byte()  # element type
        minimum, _maximum = reader.limits()
        if minimum > limits.max_elements_per_contract_table:
            raise PrepareFailure("Instantiate")


def _count_code(reader: _Reader) -> tuple[int, int]:
    count = reader.uleb()
    total_locals = 0
    for _ in range(count):
        body_size = reader.uleb()
        body_end = reader.pos + body_size
        groups = reader.uleb()
        for _ in range(groups):
            total_locals += reader.uleb()
            reader.byte()
        reader.pos = body_end
    return count, total_locals
