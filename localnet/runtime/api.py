"""The seam between the Wasm VM (`localnet.runtime`) and the chain (`localnet.chain`).

The chain builds a `VMContext` and an `External` for one FunctionCall action and calls
`localnet.runtime.run_function_call(code, method, context, ext)`; the VM executes the method
with nearcore's host functions and gas, and returns a `VMOutcome`. The VM never touches chain
state except through `External`; the chain applies the outcome (storage is written through
`External` as the method runs, and the chain rolls it back if the outcome carries an error).

This mirrors nearcore's `VMLogic` / `External` / `ReceiptManager` split
(`runtime/near-vm-runner/src/logic/{logic,dependencies}.rs`, `runtime/runtime/src/receipt_manager.rs`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from localnet.types import Action


class PromiseResultStatus(enum.IntEnum):
    """What `promise_result` returns to the contract: 0 not ready, 1 success, 2 failed."""

    NOT_READY = 0
    SUCCESS = 1
    FAILED = 2


@dataclass(frozen=True)
class PromiseResult:
    status: PromiseResultStatus
    data: bytes = b""


@dataclass(frozen=True)
class VMContext:
    """Everything a contract can read about the call it is in (nearcore's `VMContext`)."""

    current_account_id: str
    signer_account_id: str
    signer_account_pk: bytes  # borsh PublicKey (tag + key)
    predecessor_account_id: str
    input: bytes
    promise_results: tuple[PromiseResult, ...]
    block_height: int
    block_timestamp_ns: int
    epoch_height: int
    account_balance: int  # yocto, already includes attached_deposit
    account_locked_balance: int
    storage_usage: int
    attached_deposit: int
    prepaid_gas: int
    random_seed: bytes  # 32 bytes
    is_view: bool
    # Pre-charged gas that counts as burnt before the VM starts (e.g. nothing for views).
    # Loading fees and the function-call action's exec fees are charged by the chain, not here.
    output_data_receivers: tuple[str, ...] = ()  # receiver ids of this receipt's output data (for promise_return)


class External(Protocol):
    """The chain-side services a running contract reaches (nearcore's `External` trait)."""

    def storage_read(self, key: bytes) -> bytes | None: ...

    def storage_write(self, key: bytes, value: bytes) -> bytes | None:
        """Write and return the previous value (None if the key was new)."""
        ...

    def storage_remove(self, key: bytes) -> bytes | None:
        """Remove and return the previous value (None if the key was absent)."""
        ...

    def storage_has_key(self, key: bytes) -> bool: ...

    def generate_data_id(self) -> bytes:
        """A fresh 32-byte data id, derived as nearcore does from this receipt's action hash."""
        ...

    def yield_is_waiting(self, data_id: bytes) -> bool:
        """True when a yield of the *current account* with this data id exists and has not been resumed or timed out."""
        ...

    def validator_stake(self, account_id: str) -> int | None: ...

    def validator_total_stake(self) -> int: ...


@dataclass
class ReceiptPlan:
    """A receipt the contract created (promise index = position in `VMOutcome.receipts`).

    `input_data_ids` are the data ids this receipt waits for (from promise_then dependencies, or the
    single data id of a yield). `output_data_receivers` are (data_id, receiver_id) pairs that receive
    this receipt's result. For a yield (`is_promise_yield`), the receipt is the callback to the current
    account and waits for one data id that `promise_yield_resume` or the 200-block timeout provides.
    """

    receiver_id: str
    actions: list[Action] = field(default_factory=list)
    input_data_ids: list[bytes] = field(default_factory=list)
    output_data_receivers: list[tuple[bytes, str]] = field(default_factory=list)
    is_promise_yield: bool = False


class ReturnKind(enum.Enum):
    NONE = "None"
    VALUE = "Value"
    RECEIPT_INDEX = "ReceiptIndex"


@dataclass(frozen=True)
class ReturnData:
    kind: ReturnKind
    value: bytes = b""
    receipt_index: int = -1


@dataclass(frozen=True)
class VMError:
    """A failed call, as nearcore reports it.

    `kind` is the nearcore error path, e.g. ("FunctionCallError", "ExecutionError") for a panic,
    ("FunctionCallError", "HostError", "GasExceeded"), ("FunctionCallError", "MethodResolveError",
    "MethodNotFound"), ("FunctionCallError", "WasmTrap", "Unreachable"). `message` is nearcore's
    Display text, e.g. "Smart contract panicked: explicit guest panic", "Exceeded the prepaid gas.".
    `rpc_json` is the value that goes inside {"ActionError":{"kind":{"FunctionCallError": ...}}}.
    """

    kind: tuple[str, ...]
    message: str
    rpc_json: object
    # Rust's `{:?}` of nearcore's VM FunctionCallError, e.g. `HostError(GuestPanic { panic_msg: "boom" })`:
    # what a failing view call reports ("wasm execution failed with error: <debug>").
    debug: str = ""


@dataclass
class VMOutcome:
    """The result of one function call (nearcore's `VMOutcome`)."""

    balance: int
    storage_usage: int
    return_data: ReturnData
    burnt_gas: int
    used_gas: int  # burnt + gas reserved for the receipts it created (incl. distributed weights)
    logs: list[str]
    receipts: list[ReceiptPlan]
    # (data_id, payload) of every successful promise_yield_resume, in call order.
    yield_resumes: list[tuple[bytes, bytes]]
    error: VMError | None = None
    # Wasm operators counted (nearcore's model: per basic block, block/else/end free), for benchmarks.
    wasm_ops: int = 0
    # True when the error happened before the contract ran (method missing, bad code): only the contract
    # loading fee is burnt (nothing for an empty method name or missing code).
    aborted_before_execution: bool = False
