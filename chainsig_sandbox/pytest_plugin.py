"""pytest fixtures: the localnet, the signer and an MPC network in one line (registered as a pytest11 plugin).

    async def test_my_dapp(signer_sandbox):              # function scope, in the test's event loop
        dapp = await signer_sandbox.deploy(wasm, "init", {"signer_id": signer_sandbox.signer_id})
        ...

`signer_network` (session): one `SignerNetwork` for the whole run (3 nodes, threshold 2, both domains by default;
override the `signer_network_options` fixture to change that). Its synchronous helpers (`new_user`, `status`,
`wait_ready`, `run`) suit synchronous tests. `signer_sandbox` (per test, needs pytest-asyncio): a `Sandbox` with a
root Worker for the test's loop, once every node is keyed and caught up with the chain. Nothing starts unless a test asks for one of them. CHAINSIG_SANDBOX_KEEP=1 keeps
the directory (node logs) after the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chainsig_sandbox.network import NetworkOptions, Sandbox, SignerNetwork

__all__ = ["signer_network", "signer_network_options", "signer_sandbox"]


@pytest.fixture(scope="session")
def signer_network_options() -> NetworkOptions:
    """Override in your conftest.py to change the network (nodes, threshold, signer wasm, …)."""
    return NetworkOptions()


@pytest.fixture(scope="session")
def signer_network(signer_network_options: NetworkOptions) -> Iterator[SignerNetwork]:
    work = Path(tempfile.mkdtemp(prefix="chainsig-sandbox-"))
    try:
        network = asyncio.run(SignerNetwork.start(signer_network_options, work))
        try:
            yield network
        finally:
            network.stop()
    finally:
        if os.environ.get("CHAINSIG_SANDBOX_KEEP") or os.environ.get("E2E_KEEP"):
            print(f"signer network directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - without pytest-asyncio only the synchronous fixture is offered
    pass
else:

    @pytest_asyncio.fixture
    async def signer_sandbox(signer_network: SignerNetwork) -> AsyncIterator[Sandbox]:
        # Each test starts on a ready network: every node keyed and its indexer at the chain head (an earlier test
        # may have restarted nodes); one status round when nothing changed.
        await signer_network.wait_for_keys(caught_up=True, timeout_s=signer_network.options.ready_timeout_s)
        async with signer_network.sandbox() as sandbox:
            yield sandbox
