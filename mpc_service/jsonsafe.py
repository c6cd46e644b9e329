"""JSON from others (peers' control messages, users' `sign` arguments) parsed with bounds checked first.

`json.loads` recurses once per nesting level: deep input raises `RecursionError` (not a `ValueError`), and once
a library has raised Python's recursion limit it overflows the C stack instead. So size and nesting are checked in
one linear pass before parsing, and every failure is a `ValueError`.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["loads_bounded", "nesting_exceeds"]


def nesting_exceeds(data: bytes, limit: int) -> bool:
    """Do brackets outside strings nest deeper than `limit`? One pass, no allocation."""
    depth, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def loads_bounded(data: bytes | str, *, max_bytes: int, max_depth: int) -> Any:
    """`json.loads` for untrusted input: ValueError when larger than `max_bytes`, nested deeper than `max_depth`,
    or not JSON."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise ValueError(f"JSON larger than {max_bytes} bytes")
    if nesting_exceeds(raw, max_depth):
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(raw)
    except RecursionError:  # unreachable after the check; kept so no parse failure escapes as another type
        raise ValueError("JSON nested too deeply") from None
