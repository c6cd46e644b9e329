"""The chain's side of the VM seam: an `External` over chain state and one call into `localnet.runtime`."""

from __future__ import annotations

import hashlib
from typing import Any

from localnet.chain import state as st
from localnet.chain.state import State
from localnet.errors import CodeLoadError
from localnet.runtime.api import ReturnData, ReturnKind, VMContext, VMError, VMOutcome


def data_id_for(action_hash: bytes, block_height: int, data_count: int) -> bytes:
    """nearcore `create_receipt_id_from_action_hash`: sha256(action_hash ‖ height LE ‖ count LE)."""
    return hashlib.sha256(action_hash + block_height.to_bytes(8, "little") + data_count.to_bytes(8, "little")).digest()


class ChainExternal:
    """`External` for one function call on `account_id` (storage reads/writes go straight to the journaled state)."""

    def __init__(
        self, state: State, account_id: str, action_hash: bytes, block_height: int, *, view: bool = False
    ) -> None:
        self._state = state
        self._account_id = account_id
        self._action_hash = action_hash
        self._block_height = block_height
        self._data_count = 0
        self._view = view

    def _key(self, key: bytes) -> st.StateKey:
        return (st.DATA, self._account_id, bytes(key))

    def storage_read(self, key: bytes) -> bytes | None:
        value = self._state.get(self._key(key))
        return None if value is None else bytes(value)

    def storage_write(self, key: bytes, value: bytes) -> bytes | None:
        previous = self.storage_read(key)
        self._state.set(self._key(key), bytes(value))
        return previous

    def storage_remove(self, key: bytes) -> bytes | None:
        previous = self.storage_read(key)
        self._state.delete(self._key(key))
        return previous

    def storage_has_key(self, key: bytes) -> bool:
        return self._key(key) in self._state

    def generate_data_id(self) -> bytes:
        data_id = data_id_for(self._action_hash, self._block_height, self._data_count)
        self._data_count += 1
        return data_id

    def yield_is_waiting(self, data_id: bytes) -> bool:
        return (st.YIELD, self._account_id, bytes(data_id)) in self._state

    def validator_stake(self, account_id: str) -> int | None:
        return None

    def validator_total_stake(self) -> int:
        return 0


def _failed(context: VMContext, kind: tuple[str, ...], message: str, rpc_json: Any, debug: str) -> VMOutcome:
    return VMOutcome(
        balance=context.account_balance,
        storage_usage=context.storage_usage,
        return_data=ReturnData(ReturnKind.NONE),
        burnt_gas=0,
        used_gas=0,
        logs=[],
        receipts=[],
        yield_resumes=[],
        error=VMError(kind, message, rpc_json, debug),
        aborted_before_execution=True,
    )


def run_function_call(code: bytes | None, method: str, context: VMContext, ext: ChainExternal) -> VMOutcome:
    """Run `method` of `code` through the Wasm VM; missing code and unloadable code become VM errors."""
    if code is None:
        return _failed(
            context,
            ("CompilationError", "CodeDoesNotExist"),
            f"cannot find contract code for account {context.current_account_id}",
            {"CompilationError": {"CodeDoesNotExist": {"account_id": context.current_account_id}}},
            f'CompilationError(CodeDoesNotExist {{ account_id: AccountId("{context.current_account_id}") }})',
        )
    from localnet import runtime  # the VM package; imported lazily so the chain works without contracts

    runner = getattr(runtime, "run_function_call", None)
    if runner is None:  # pragma: no cover - only while the VM is being written
        return _failed(
            context, ("VMUnavailable",), "the Wasm VM is not available", {"VMUnavailable": None}, "VMUnavailable"
        )
    try:
        outcome: VMOutcome = runner(code, method, context, ext)
    except CodeLoadError as exc:
        return _failed(
            context,
            ("CompilationError", "PrepareError"),
            str(exc),
            {"CompilationError": {"PrepareError": "Deserialization"}},
            "CompilationError(PrepareError(Deserialization))",
        )
    return outcome
