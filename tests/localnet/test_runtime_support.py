"""Shared helpers for the runtime tests: an in-memory `External` (the VM↔chain seam, not a mock
of a real part) and a `VMContext` factory. Contains no tests itself."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import wasmtime

from localnet.runtime import RuntimeConfig, run_function_call
from localnet.runtime.api import PromiseResult, VMContext, VMOutcome

WAT_DIR = Path(__file__).resolve().parent / "wat"
TGAS = 10**12
ED25519_PK = bytes([0]) + bytes(range(32))


class MemoryExternal:
    """Dict-backed storage, deterministic data ids, a set of waiting yields, a validator table."""

    def __init__(self, waiting_yields: set[bytes] | None = None) -> None:
        self.state: dict[bytes, bytes] = {}
        self.waiting_yields = waiting_yields if waiting_yields is not None else set()
        self.data_count = 0
        self.validators = {"alice.near": 10**30, "bob.near": 5 * 10**29}

    def storage_read(self, key: bytes) -> bytes | None:
        return self.state.get(key)

    def storage_write(self, key: bytes, value: bytes) -> bytes | None:
        old = self.state.get(key)
        self.state[key] = value
        return old

    def storage_remove(self, key: bytes) -> bytes | None:
        return self.state.pop(key, None)

    def storage_has_key(self, key: bytes) -> bool:
        return key in self.state

    def generate_data_id(self) -> bytes:
        self.data_count += 1
        return hashlib.sha256(b"action-hash" + self.data_count.to_bytes(8, "little")).digest()

    def yield_is_waiting(self, data_id: bytes) -> bool:
        return data_id in self.waiting_yields

    def validator_stake(self, account_id: str) -> int | None:
        return self.validators.get(account_id)

    def validator_total_stake(self) -> int:
        return sum(self.validators.values())


def make_context(**overrides: Any) -> VMContext:
    base = VMContext(
        current_account_id="contract.near",
        signer_account_id="alice.near",
        signer_account_pk=ED25519_PK,
        predecessor_account_id="alice.near",
        input=b"",
        promise_results=(),
        block_height=100,
        block_timestamp_ns=1_700_000_000_000_000_000,
        epoch_height=7,
        account_balance=10**25,
        account_locked_balance=0,
        storage_usage=1000,
        attached_deposit=0,
        prepaid_gas=300 * TGAS,
        random_seed=bytes(range(32)),
        is_view=False,
    )
    return dataclasses.replace(base, **overrides)


def wat(name: str) -> bytes:
    """Compile tests/localnet/wat/<name>.wat to a binary module."""
    return bytes(wasmtime.wat2wasm((WAT_DIR / f"{name}.wat").read_text()))


def wat_text(text: str) -> bytes:
    return bytes(wasmtime.wat2wasm(text))


def run(
    code: bytes,
    method: str,
    ext: MemoryExternal | None = None,
    config: RuntimeConfig | None = None,
    **ctx: Any,
) -> VMOutcome:
    return run_function_call(code, method, make_context(**ctx), ext or MemoryExternal(), config)


__all__ = ["TGAS", "MemoryExternal", "PromiseResult", "make_context", "run", "wat", "wat_text"]
