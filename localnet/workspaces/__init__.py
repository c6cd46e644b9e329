"""A near-workspaces-style test harness that always talks JSON-RPC, so the same tests run on the embedded
localnet and on a real `near-sandbox` (chosen by NEAR_SANDBOX_BIN_PATH).

    from localnet.workspaces import sandbox, NEAR

    async with await sandbox() as worker:
        contract = await worker.dev_deploy(wasm)
        alice = await worker.dev_create_account()
        result = await alice.call(contract.id, "set").args_json({"v": 1}).deposit(1).transact()
        assert result.is_success, result.failures
        assert (await contract.view("get")).json() == 1
"""

from __future__ import annotations

from pathlib import Path

from localnet.chain.keys import SecretKey
from localnet.rpc.home import ValidatorKey
from localnet.rpc.node import LocalnetNode, NodeConfig
from localnet.workspaces.account import (
    DEFAULT_CALL_GAS,
    NEAR,
    TGAS,
    Account,
    CallTransaction,
    Contract,
    CreateAccountTransaction,
    Transaction,
)
from localnet.workspaces.backends import (
    SANDBOX_ENV,
    Backend,
    BackgroundNode,
    NearSandboxProcess,
    remove_home,
    sandbox_binary,
    temporary_home,
)
from localnet.workspaces.client import JsonRpcClient
from localnet.workspaces.errors import (
    BackendError,
    RpcCallError,
    RpcTransportError,
    TransactionFailed,
    ViewFailed,
    WorkspaceError,
)
from localnet.workspaces.results import ExecutionFinalResult, ExecutionOutcome, ViewResult
from localnet.workspaces.sending import PendingTransaction
from localnet.workspaces.worker import Worker

__all__ = [
    "DEFAULT_CALL_GAS",
    "NEAR",
    "SANDBOX_ENV",
    "TGAS",
    "Account",
    "Backend",
    "BackendError",
    "BackgroundNode",
    "CallTransaction",
    "Contract",
    "CreateAccountTransaction",
    "ExecutionFinalResult",
    "ExecutionOutcome",
    "JsonRpcClient",
    "LocalnetNode",
    "NearSandboxProcess",
    "NodeConfig",
    "PendingTransaction",
    "RpcCallError",
    "RpcTransportError",
    "SecretKey",
    "Transaction",
    "TransactionFailed",
    "ValidatorKey",
    "ViewFailed",
    "ViewResult",
    "Worker",
    "WorkspaceError",
    "connect",
    "sandbox",
]


async def sandbox(
    *,
    backend: str = "auto",
    home: Path | None = None,
    block_time_ms: int = 100,
    wait_timeout_s: float = 10.0,
) -> Worker:
    """Start a node and return a Worker that owns it (`await worker.close()` stops it).

    backend: "auto" (near-sandbox when NEAR_SANDBOX_BIN_PATH is set, else embedded), "embedded", "near-sandbox".
    home: state directory (a temporary one, removed on close, when None). `block_time_ms` and `wait_timeout_s`
    apply to the embedded node only.
    """
    binary = sandbox_binary()
    if backend == "auto":
        backend = "near-sandbox" if binary is not None else "embedded"
    owned_home = home is None
    state = home or temporary_home("localnet-" if backend == "embedded" else "near-sandbox-")
    if backend == "embedded":
        node = LocalnetNode(NodeConfig(home=state, block_time_ms=block_time_ms, wait_timeout_s=wait_timeout_s))
        await node.start()
        assert node.validator is not None

        async def stop_node() -> None:
            await node.stop()
            if owned_home:
                remove_home(state)

        return Worker(node.rpc_addr, node.validator, on_close=stop_node)
    if backend == "near-sandbox":
        if binary is None:
            raise BackendError(f"backend 'near-sandbox' needs {SANDBOX_ENV}")
        process = NearSandboxProcess(binary, state)
        try:
            await process.start()
        except BaseException:
            await process.stop()
            raise
        assert process.validator is not None

        async def stop_process() -> None:
            await process.stop()
            if owned_home:
                remove_home(state)

        return Worker(process.rpc_addr, process.validator, on_close=stop_process)
    raise BackendError(f"unknown backend {backend!r}")


def connect(rpc_addr: str, root: ValidatorKey) -> Worker:
    """A Worker for a node that is already running (it does not stop the node on close)."""
    return Worker(rpc_addr, root)
