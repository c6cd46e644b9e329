"""Errors of the near-workspaces-style harness.

    LocalnetError
    └── WorkspaceError             root of everything raised by `localnet.workspaces`
        ├── RpcCallError           the node answered with a JSON-RPC error (name, cause, info, data, code)
        ├── RpcTransportError      no usable HTTP answer (connection refused, non-JSON body)
        ├── TransactionFailed      `into_result()` on a transaction whose status is a Failure
        ├── ViewFailed             a view call whose contract panicked
        └── BackendError           a backend (embedded node, near-sandbox process) could not start
"""

from __future__ import annotations

from typing import Any

from localnet.errors import LocalnetError


class WorkspaceError(LocalnetError):
    """Root of all harness errors."""


class RpcCallError(WorkspaceError):
    """A JSON-RPC error answer. `cause_name` is nearcore's `error.cause.name` (e.g. UNKNOWN_ACCOUNT)."""

    def __init__(self, method: str, error: dict[str, Any], http_status: int) -> None:
        cause = error.get("cause") or {}
        self.method = method
        self.name: str = str(error.get("name", ""))
        self.cause_name: str = str(cause.get("name", ""))
        self.info: dict[str, Any] = cause.get("info") or {}
        self.code: int | None = error.get("code")
        self.data: Any = error.get("data")
        self.http_status = http_status
        self.error = error
        super().__init__(f"{method}: {self.name}/{self.cause_name}: {self.data}")


class RpcTransportError(WorkspaceError):
    """The RPC endpoint could not be reached or did not answer JSON."""


class TransactionFailed(WorkspaceError):
    def __init__(self, failure: Any, logs: list[str]) -> None:
        self.failure = failure
        self.logs = logs
        super().__init__(f"transaction failed: {failure}")


class ViewFailed(WorkspaceError):
    def __init__(self, message: str, logs: list[str]) -> None:
        self.logs = logs
        super().__init__(message)


class BackendError(WorkspaceError):
    """A node backend could not be started or stopped."""
