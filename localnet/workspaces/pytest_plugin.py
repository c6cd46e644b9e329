"""pytest fixtures for the harness, with state restored between tests.

    # conftest.py at the root of your tests
    pytest_plugins = ["localnet.workspaces.pytest_plugin"]

    async def test_counter(near_worker, wasm):
        contract = await near_worker.dev_deploy(wasm)
        ...

`near_node` (session): one node for the whole run: a real near-sandbox when NEAR_SANDBOX_BIN_PATH is set, else
the embedded localnet (block time `LOCALNET_BLOCK_TIME_MS`, default 20 ms).
`near_worker` (per test): a Worker on that node; on teardown every account the test created through it is deleted
(its balance goes back to the root account), so each test starts from the state the previous one found.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio

from localnet.rpc.node import LocalnetNode, NodeConfig
from localnet.workspaces.backends import Backend, BackgroundNode, NearSandboxProcess, sandbox_binary
from localnet.workspaces.worker import Worker


def start_background_node(backend: str, home: os.PathLike[str] | str, *, block_time_ms: int = 20) -> BackgroundNode:
    """Start `backend` ("embedded" | "near-sandbox" | "auto") in a background thread and wait until it serves."""
    binary = sandbox_binary()
    if backend == "auto":
        backend = "near-sandbox" if binary is not None else "embedded"
    node: Backend
    if backend == "embedded":
        node = LocalnetNode(NodeConfig(home=Path(home), block_time_ms=block_time_ms))
    elif backend == "near-sandbox" and binary is not None:
        node = NearSandboxProcess(binary, Path(home))
    else:
        raise ValueError(f"backend {backend!r} is not available (near-sandbox needs NEAR_SANDBOX_BIN_PATH)")
    background = BackgroundNode(node)
    background.start()
    return background


@pytest.fixture(scope="session")
def near_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundNode]:
    block_time_ms = int(os.environ.get("LOCALNET_BLOCK_TIME_MS", "20"))
    node = start_background_node("auto", tmp_path_factory.mktemp("near-node"), block_time_ms=block_time_ms)
    yield node
    node.stop()


@pytest_asyncio.fixture
async def near_worker(near_node: BackgroundNode) -> AsyncIterator[Worker]:
    async with worker_with_cleanup(near_node) as worker:
        yield worker


@asynccontextmanager
async def worker_with_cleanup(node: BackgroundNode) -> AsyncIterator[Worker]:
    """`async with worker_with_cleanup(node) as w:` a Worker whose dev accounts are deleted on exit."""
    worker = Worker(node.rpc_addr, node.validator)
    try:
        yield worker
        left = await worker.cleanup()
        if left:
            warnings.warn(f"could not delete dev accounts after the test: {left}", stacklevel=2)
    finally:
        await worker.close()
