"""wasmtime engines and the compiled-module cache.

Compiling a 380 KB nearc module with Cranelift takes seconds, so compiled modules are cached
(1) in-process in an LRU keyed by sha256(prepared code), and (2) on disk as wasmtime's serialized
form under `<cache_dir>/<wasmtime version>/<sha256>.cwasm` (wasmtime refuses artifacts from another
version or config; such files are recompiled and replaced).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from importlib import metadata
from pathlib import Path

import wasmtime

from localnet.runtime.config import RuntimeConfig

_WASMTIME_VERSION = metadata.version("wasmtime")
_lock = threading.Lock()
_engines: dict[int, wasmtime.Engine] = {}
_lru: OrderedDict[tuple[int, str], wasmtime.Module] = OrderedDict()


def wasmtime_version() -> str:
    return _WASMTIME_VERSION


def engine_for(config: RuntimeConfig) -> wasmtime.Engine:
    """One engine per stack size: no fuel (operators are counted by `localnet.runtime.meter`); nearcore's feature set (no SIMD, no multi-value,
    no threads, no reference types beyond what bulk memory needs)."""
    key = config.max_wasm_stack_bytes
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            cfg = wasmtime.Config()
            cfg.consume_fuel = False
            cfg.wasm_simd = False
            cfg.wasm_relaxed_simd = False
            cfg.wasm_multi_value = False
            cfg.wasm_threads = False
            cfg.wasm_multi_memory = False
            cfg.wasm_memory64 = False
            cfg.wasm_tail_call = False
            cfg.wasm_gc = False
            cfg.wasm_function_references = False
            cfg.wasm_exceptions = False
            cfg.wasm_bulk_memory = True
            cfg.wasm_reference_types = True  # wasmtime requires it alongside bulk memory's table ops
            cfg.max_wasm_stack = key
            engine = wasmtime.Engine(cfg)
            _engines[key] = engine
        return engine


def compile_module(prepared_code: bytes, config: RuntimeConfig) -> wasmtime.Module:
    """Compile (or fetch from cache) a prepared module. Raises wasmtime.WasmtimeError on invalid code."""
    engine = engine_for(config)
    digest = hashlib.sha256(prepared_code).hexdigest()
    key = (config.max_wasm_stack_bytes, digest)
    with _lock:
        module = _lru.get(key)
        if module is not None:
            _lru.move_to_end(key)
            return module
    module = _load_from_disk(engine, digest, config)
    if module is None:
        module = wasmtime.Module(engine, prepared_code)
        _store_to_disk(module, digest, config)
    with _lock:
        _lru[key] = module
        while len(_lru) > config.lru_size:
            _lru.popitem(last=False)
    return module


def clear_memory_cache() -> None:
    """Drop the in-process LRU (benchmarks use it to measure disk-cache loads)."""
    with _lock:
        _lru.clear()


def _cache_path(digest: str, config: RuntimeConfig) -> Path | None:
    if config.cache_dir is None:
        return None
    return config.cache_dir / f"wasmtime-{_WASMTIME_VERSION}-stack{config.max_wasm_stack_bytes}-nofuel" / f"{digest}.cwasm"


def _load_from_disk(engine: wasmtime.Engine, digest: str, config: RuntimeConfig) -> wasmtime.Module | None:
    path = _cache_path(digest, config)
    if path is None or not path.is_file():
        return None
    try:
        return wasmtime.Module.deserialize_file(engine, str(path))
    except (wasmtime.WasmtimeError, OSError):
        return None  # stale or corrupt artifact: recompile and overwrite


def _store_to_disk(module: wasmtime.Module, digest: str, config: RuntimeConfig) -> None:
    path = _cache_path(digest, config)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(module.serialize()))
        os.replace(tmp, path)
    except OSError:
        pass  # the disk cache is an optimisation; a read-only home must not fail the call
