"""Host functions linked once per engine instead of once per call.

A `wasmtime.Linker` per engine holds the `env` host functions as store-independent definitions; each one
dispatches to the `HostCall` running on this thread. A call clones that linker (one C call), adds its own
memory and instantiates. Creating ~60 `wasmtime.Func` objects (and closures) for every call cost more than
running a small view, and fed the cyclic garbage collector.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import wasmtime
from wasmtime import _ffi

from localnet.runtime.gas import U64_MAX
from localnet.runtime.imports import HOST_FUNCTIONS, func_type, to_wasm

__all__ = ["HostCall", "active", "instantiate"]


class HostCall:
    """The host side of one running call: `logic`'s methods, with `before`/`after` around each (operator meter)."""

    __slots__ = ("after", "before", "logic")

    def __init__(self, logic: object, before: Callable[[], None], after: Callable[[], None]) -> None:
        self.logic, self.before, self.after = logic, before, after


_local = threading.local()
_lock = threading.Lock()
_base: dict[int, tuple[wasmtime.Engine, wasmtime.Linker]] = {}


def _stack() -> list[HostCall]:
    stack: list[HostCall] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


@contextlib.contextmanager
def active(call: HostCall) -> Iterator[None]:
    """Route host calls made on this thread to `call` while the block runs (instantiation and the method)."""
    stack = _stack()
    stack.append(call)
    try:
        yield
    finally:
        stack.pop()


def _dispatcher(name: str, result: str | None) -> Callable[..., int | None]:
    def host(*args: int) -> int | None:
        call = _local.stack[-1]
        call.before()
        try:
            value = getattr(call.logic, name)(*[a & U64_MAX for a in args])
        finally:
            call.after()
        return to_wasm(value, result) if result is not None else None

    return host


def _define_all(linker: wasmtime.Linker) -> None:
    for name, (_, result) in HOST_FUNCTIONS.items():
        linker.define_func("env", name, func_type(name), _dispatcher(name, result))


def _base_linker(engine: wasmtime.Engine) -> wasmtime.Linker:
    with _lock:
        hit = _base.get(id(engine))
        if hit is None or hit[0] is not engine:
            linker = wasmtime.Linker(engine)
            _define_all(linker)
            hit = _base[id(engine)] = (engine, linker)
        return hit[1]


def _clone(base: wasmtime.Linker) -> wasmtime.Linker:
    try:
        ptr: Any = _ffi.wasmtime_linker_clone(base.ptr())
        linker = wasmtime.Linker.__new__(wasmtime.Linker)
        linker._set_ptr(ptr)
        linker.engine = base.engine
        return linker
    except AttributeError:  # pragma: no cover - another wasmtime-py layout: define everything again
        linker = wasmtime.Linker(base.engine)
        _define_all(linker)
        return linker


def instantiate(store: wasmtime.Store, engine: wasmtime.Engine, module: wasmtime.Module,
                memory: wasmtime.Memory) -> wasmtime.Instance:
    """Instantiate `module` in `store` with the host functions and `memory` as `env.memory`. Call inside
    `active(...)`: a start function may already call the host."""
    linker = _clone(_base_linker(engine))
    try:
        linker.define(store, "env", "memory", memory)
        return linker.instantiate(store, module)
    finally:
        linker.close()

