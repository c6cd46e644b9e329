"""Errors of the embedded localnet.

    LocalnetError                      root of everything raised by `localnet`
    ├── RpcError(name, info, data)     maps 1:1 to nearcore's JSON-RPC error envelope
    │   ├── UnknownBlock               UNKNOWN_BLOCK
    │   ├── GarbageCollectedBlock      GARBAGE_COLLECTED_BLOCK (state of a block older than the kept history)
    │   ├── UnknownEpoch               UNKNOWN_EPOCH
    │   ├── UnknownAccount             UNKNOWN_ACCOUNT
    │   ├── InvalidAccount             INVALID_ACCOUNT
    │   ├── NoContractCode             NO_CONTRACT_CODE
    │   ├── UnknownAccessKey           UNKNOWN_ACCESS_KEY
    │   ├── UnknownTransaction         UNKNOWN_TRANSACTION
    │   ├── UnknownReceipt             UNKNOWN_RECEIPT
    │   ├── UnknownChunk               UNKNOWN_CHUNK
    │   ├── InvalidTransaction         INVALID_TRANSACTION  (info: {"TxExecutionError": {"InvalidTxError": ...}})
    │   ├── ContractExecutionError     CONTRACT_EXECUTION_ERROR (view call failed)
    │   └── TimeoutError_              TIMEOUT_ERROR
    └── CodeLoadError                  a contract that cannot be compiled / prepared

`RpcError.cause_name` is the `error.cause.name` field; `handler` is "HANDLER_ERROR" (or "REQUEST_VALIDATION_ERROR").
"""

from __future__ import annotations

from typing import Any


class LocalnetError(Exception):
    """Root of all localnet errors."""


class RpcError(LocalnetError):
    cause_name: str = "INTERNAL_ERROR"
    handler: str = "HANDLER_ERROR"

    def __init__(self, message: str, info: dict[str, Any] | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.info: dict[str, Any] = info or {}
        self.data: Any = data if data is not None else message


class UnknownBlock(RpcError):
    cause_name = "UNKNOWN_BLOCK"


class GarbageCollectedBlock(RpcError):
    cause_name = "GARBAGE_COLLECTED_BLOCK"


class UnknownEpoch(RpcError):
    cause_name = "UNKNOWN_EPOCH"


class UnknownAccount(RpcError):
    cause_name = "UNKNOWN_ACCOUNT"


class InvalidAccount(RpcError):
    cause_name = "INVALID_ACCOUNT"


class NoContractCode(RpcError):
    cause_name = "NO_CONTRACT_CODE"


class UnknownAccessKey(RpcError):
    cause_name = "UNKNOWN_ACCESS_KEY"


class UnknownTransaction(RpcError):
    cause_name = "UNKNOWN_TRANSACTION"


class UnknownReceipt(RpcError):
    cause_name = "UNKNOWN_RECEIPT"


class UnknownChunk(RpcError):
    cause_name = "UNKNOWN_CHUNK"


class InvalidTransaction(RpcError):
    """A transaction rejected before execution. `info`/`data` carry {"TxExecutionError": {"InvalidTxError": {...}}}."""

    cause_name = "INVALID_TRANSACTION"


class ContractExecutionError(RpcError):
    cause_name = "CONTRACT_EXECUTION_ERROR"


class TimeoutError_(RpcError):  # noqa: N801 - avoid shadowing the builtin
    cause_name = "TIMEOUT_ERROR"


class CodeLoadError(LocalnetError):
    """Contract code that cannot be prepared (bad Wasm, forbidden imports, limits)."""
