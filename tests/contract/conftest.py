"""Fixtures for the signer/caller contract tests on the embedded localnet.

Compiled once per session (contract.build caches by source hash); one node per session; a shared signer
(init_running with keys the test's `Network` holds) for tests that only add requests, and fresh deployments
for tests that need a clean state. Contract calls run MicroPython in wasmtime: each costs real CPU, so the
tests share deployments and keep the number of calls small.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chainsig_sandbox import standin
from contract.build import PROJECT_CONTRACTS, build_contract
from localnet.rpc.node import LocalnetNode, NodeConfig
from localnet.workspaces import TGAS, Account, BackgroundNode, Contract, PendingTransaction, Worker, connect
from tests.contract.network import Network

SIGN_GAS = 50 * TGAS
PARTICIPANTS = 3


# The sources of this checkout: under pytest, `contract` can name this package (tests/contract) and
# `contract.build` then comes from wherever the project is installed, whose PROJECT_CONTRACTS may be another tree.
SOURCES = Path(__file__).resolve().parents[2] / "contract"


@pytest.fixture(scope="session")
def signer_wasm() -> bytes:
    return build_contract(SOURCES / PROJECT_CONTRACTS["signer"].name, "signer").read_bytes()


@pytest.fixture(scope="session")
def caller_wasm() -> bytes:
    return build_contract(SOURCES / PROJECT_CONTRACTS["caller"].name, "caller").read_bytes()


@pytest.fixture(scope="session")
def cross_wasm() -> bytes:
    """The localnet's cross-contract test contract (used as a proxy that calls `respond`)."""
    return build_contract(Path(__file__).resolve().parent.parent / "localnet" / "contracts" / "cross.py").read_bytes()


@pytest.fixture(scope="session")
def contract_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundNode]:
    node = BackgroundNode(LocalnetNode(NodeConfig(home=tmp_path_factory.mktemp("contract-node"), block_time_ms=20,
                                                  wait_timeout_s=10.0)))
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def network() -> Network:
    return Network.generate()


@pytest.fixture
async def worker(contract_node: BackgroundNode) -> AsyncIterator[Worker]:
    w = connect(contract_node.rpc_addr, contract_node.validator)
    yield w
    await w.close()


parameters = standin.participant_parameters  # init parameters naming accounts as participants


@dataclass
class Deployment:
    """A deployed signer, its participants (MPC node accounts) and the network key it was given."""

    contract: Contract
    participants: list[Account]
    network: Network


async def deploy_signer(worker: Worker, wasm: bytes, network: Network | None, n: int = PARTICIPANTS) -> Deployment:
    contract = await worker.dev_deploy(wasm)
    participants = list(await asyncio.gather(*(worker.dev_create_account() for _ in range(n))))
    net = network or Network.generate()
    if network is not None:
        args = {"parameters": parameters(participants), "domains": network.domains()}
        (await contract.call("init_running").args_json(args).gas(300 * TGAS).transact()).into_result()
    return Deployment(contract, participants, net)


_shared: dict[str, tuple[str, Any, list[tuple[str, Any]]]] = {}


@pytest.fixture
async def signer(worker: Worker, signer_wasm: bytes, network: Network) -> Deployment:
    """The session's shared running signer (re-attached to this test's worker)."""
    if "signer" not in _shared:
        d = await deploy_signer(worker, signer_wasm, network)
        _shared["signer"] = (d.contract.id, d.contract.secret_key, [(p.id, p.secret_key) for p in d.participants])
    cid, ckey, parts = _shared["signer"]
    return Deployment(Contract(worker, cid, ckey), [worker.account(a, k) for a, k in parts], network)


async def submit_sign(account: Account, contract_id: str, request: dict[str, Any], *, deposit: int = 1,
                      gas: int = SIGN_GAS) -> PendingTransaction:
    return await standin.submit_sign(account, contract_id, request, deposit=deposit, gas=gas)


async def wait_event(pending: PendingTransaction, name: str = "sign_request", timeout_s: float = 30.0) -> dict[str, Any]:
    """The event `name`'s single data item (chainsig_sandbox.standin.wait_event); a test failure otherwise."""
    try:
        return await standin.wait_event(pending, name, timeout_s)
    except (RuntimeError, TimeoutError) as exc:
        pytest.fail(str(exc))
