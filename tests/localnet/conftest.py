"""Fixtures for the localnet RPC and conformance tests.

State between tests: one node per backend per session (started in a background thread); every test works on
fresh dev accounts (`worker.dev_create_account()` / `dev_deploy`), and the `worker` fixtures delete those accounts
after the test (`Worker.cleanup`), so tests never see each other's state and the same tests run unchanged on a
real near-sandbox, which has no snapshot hook.

Contracts: tiny hand-written WAT contracts (compiled with wasmtime's wat2wasm) so the RPC tests do not depend
on the nearc toolchain and each call costs a few Tgas.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import wasmtime

from localnet.workspaces import BackgroundNode, Worker, sandbox_binary
from localnet.workspaces.pytest_plugin import start_background_node, worker_with_cleanup

BACKENDS = ["embedded", "near-sandbox"]

# A key/value contract: set(input) stores the raw input under "k", logs "stored", returns the input;
# get() returns the stored bytes (or null); pay() panics unless a deposit is attached and returns true;
# fail() panics with "boom"; wait() parks a yield whose callback on_resume returns "resumed".
KV_WAT = r"""
(module
 (import "env" "input" (func $input (param i64)))
 (import "env" "register_len" (func $register_len (param i64) (result i64)))
 (import "env" "read_register" (func $read_register (param i64 i64)))
 (import "env" "storage_write" (func $storage_write (param i64 i64 i64 i64 i64) (result i64)))
 (import "env" "storage_read" (func $storage_read (param i64 i64 i64) (result i64)))
 (import "env" "value_return" (func $value_return (param i64 i64)))
 (import "env" "log_utf8" (func $log_utf8 (param i64 i64)))
 (import "env" "panic_utf8" (func $panic_utf8 (param i64 i64)))
 (import "env" "attached_deposit" (func $attached_deposit (param i64)))
 (import "env" "promise_yield_create"
   (func $promise_yield_create (param i64 i64 i64 i64 i64 i64 i64) (result i64)))
 (import "env" "promise_return" (func $promise_return (param i64)))
 (memory 1)
 (data (i32.const 0) "k")
 (data (i32.const 16) "stored")
 (data (i32.const 32) "boom")
 (data (i32.const 48) "null")
 (data (i32.const 64) "true")
 (data (i32.const 80) "on_resume")
 (data (i32.const 96) "\"resumed\"")
 (func (export "set")
   (call $input (i64.const 0))
   (call $read_register (i64.const 0) (i64.const 1024))
   (drop (call $storage_write (i64.const 1) (i64.const 0)
     (call $register_len (i64.const 0)) (i64.const 1024) (i64.const 1)))
   (call $log_utf8 (i64.const 6) (i64.const 16))
   (call $value_return (call $register_len (i64.const 0)) (i64.const 1024)))
 (func (export "get")
   (if (i64.eq (call $storage_read (i64.const 1) (i64.const 0) (i64.const 0)) (i64.const 1))
     (then
       (call $read_register (i64.const 0) (i64.const 1024))
       (call $value_return (call $register_len (i64.const 0)) (i64.const 1024)))
     (else (call $value_return (i64.const 4) (i64.const 48)))))
 (func (export "pay")
   (call $attached_deposit (i64.const 128))
   (if (i64.eqz (i64.or (i64.load (i32.const 128)) (i64.load (i32.const 136))))
     (then (call $panic_utf8 (i64.const 4) (i64.const 32))))
   (call $value_return (i64.const 4) (i64.const 64)))
 (func (export "fail")
   (call $panic_utf8 (i64.const 4) (i64.const 32)))
 (func (export "wait")
   (call $promise_return
     (call $promise_yield_create (i64.const 9) (i64.const 80) (i64.const 0) (i64.const 0)
       (i64.const 10000000000000) (i64.const 0) (i64.const 0))))
 (func (export "on_resume")
   (call $value_return (i64.const 9) (i64.const 96))))
"""


@pytest.fixture(scope="session")
def kv_wasm() -> bytes:
    return bytes(wasmtime.wat2wasm(KV_WAT))


def _start_backend(name: str, home: Path) -> BackgroundNode:
    if name == "near-sandbox" and sandbox_binary() is None:
        pytest.skip("NEAR_SANDBOX_BIN_PATH is not set: no near-sandbox binary on this machine")
    return start_background_node(name, home, block_time_ms=20)


@pytest.fixture(scope="session", params=BACKENDS)
def backend_node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundNode]:
    """One running node per backend for the whole session."""
    node = _start_backend(request.param, tmp_path_factory.mktemp(f"node-{request.param}"))
    yield node
    node.stop()


@pytest.fixture(scope="session")
def embedded_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundNode]:
    """The embedded node alone (for tests of our RPC's own behaviour)."""
    node = _start_backend("embedded", tmp_path_factory.mktemp("node-embedded-only"))
    yield node
    node.stop()


@pytest.fixture
async def worker(embedded_node: BackgroundNode) -> AsyncIterator[Worker]:
    """A Worker on the shared embedded node; the dev accounts a test creates are deleted after it."""
    async with worker_with_cleanup(embedded_node) as w:
        yield w


@pytest.fixture
async def backend_worker(backend_node: BackgroundNode) -> AsyncIterator[Worker]:
    async with worker_with_cleanup(backend_node) as w:
        yield w
