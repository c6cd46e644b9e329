"""Test contract: the native `_chainsig` functions of the patched runtime, straight through (tests/contract/test_native.py)."""

import _chainsig
import near


def _answer(value):
    near.value_return(b"none" if value is None else value)


@near.export
def sha3_256():
    _answer(_chainsig.sha3_256(near.input()))


@near.export
def precompute():
    _answer(_chainsig.ed25519_precompute(near.input()))


@near.export
def base_add():
    """input: scalar (32 bytes) || optional point (32 bytes) -> scalar*B (+ point)."""
    data = near.input()
    pre = None
    if len(data) > 32:
        pre = _chainsig.ed25519_precompute(data[32:])
        if pre is None:
            _answer(None)
            return
    _answer(_chainsig.ed25519_scalarmult_base_add(data[:32], pre))


@near.export
def add():
    data = near.input()
    _answer(_chainsig.ed25519_add(data[:32], data[32:]))


@near.export
def b58encode():
    near.value_return(_chainsig.b58encode(near.input()))


@near.export
def b58decode():
    raw = _chainsig.b58decode(near.input().decode())
    near.value_return(str(raw) if isinstance(raw, int) else raw)
