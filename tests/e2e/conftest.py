"""One real cluster per session: a `python -m localnet` process, the signer contract built and deployed, and five
`python -m mpc_service run` processes (threshold 3) that run the DKG through the contract. Tests drive it through
JSON-RPC (py-near for `sign`) and inspect the nodes' logs, status endpoints and SQLite stores.

Fixtures are synchronous (each test runs its own `asyncio.run`), so processes outlive event loops safely.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_ID = "signer.test.near"
NODES, THRESHOLD = 5, 3


@dataclass
class E2ECluster:
    work: Path
    rpc: str
    root_key: Path
    spec: Any  # mpc_service.cluster.ClusterSpec
    procs: Any  # mpc_service.cluster.NodeProcesses
    chain: subprocess.Popen[bytes]
    users: int = 0

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)

    def status(self, index: int) -> dict[str, Any] | None:
        from mpc_service.cluster import fetch_status

        result: dict[str, Any] | None = self.run(fetch_status(self.spec.nodes[index]))
        return result

    def logs(self, index: int) -> list[dict[str, Any]]:
        out = []
        for line in (self.spec.nodes[index].home / "node.log").read_text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def new_user(self) -> Any:
        """A fresh funded account; returns chainsig credentials for it."""
        from chainsig.credentials import NearCredentials
        from localnet.chain.keys import SecretKey
        from localnet.rpc.home import read_validator_key
        from localnet.workspaces import NEAR, connect

        self.users += 1
        name = f"user{self.users}"
        key = SecretKey.generate()

        async def create() -> None:
            worker = connect(self.rpc, read_validator_key(self.root_key))
            try:
                await worker.root_account().create_subaccount(name).initial_balance(20 * NEAR).keys(key).transact()
            finally:
                await worker.close()

        self.run(create())
        return NearCredentials.from_json(json.dumps({"account_id": f"{name}.test.near",
                                                     "secret_key": key.to_near_string()}))

    async def view(self, method: str, args: dict[str, Any]) -> Any:
        from mpc_service.chain.rpc import JsonRpc

        async with JsonRpc(self.rpc) as rpc:
            return await rpc.view(CONTRACT_ID, method, args)

    def wait_ready(self, indices: list[int], presignatures: int = 1, timeout_s: float = 120) -> None:
        from mpc_service.cluster import wait_for_keys

        self.run(wait_for_keys(self.spec, 2, indices=indices, presignatures=presignatures, timeout_s=timeout_s))


def _start_localnet(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    home.mkdir(parents=True)
    log = open(home / "localnet.log", "wb")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen([sys.executable, "-m", "localnet", "--home", str(home), "--port", "0"],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    log.close()
    deadline = time.monotonic() + 60
    while not (home / "rpc_addr").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"localnet did not start: {(home / 'localnet.log').read_text()[-2000:]}")
        time.sleep(0.05)
    return proc, (home / "rpc_addr").read_text().strip()


@pytest.fixture(scope="session")
def cluster() -> Iterator[E2ECluster]:
    if not (ROOT / "contract" / "signer" / "contract.py").exists():
        pytest.skip("the signer contract (contract/signer/contract.py) does not exist yet")
    from contract.build import build_contract
    from mpc_service.cluster import NodeProcesses, deploy_signer, prepare_cluster

    wasm = build_contract(ROOT / "contract" / "signer").read_bytes()
    work = Path(tempfile.mkdtemp(prefix="chainsig-e2e-"))
    chain, rpc = _start_localnet(work / "chain")
    procs = None
    try:
        root_key = work / "chain" / "validator_key.json"
        spec = asyncio.run(prepare_cluster(rpc, root_key, work / "cluster", nodes=NODES, threshold=THRESHOLD,
                                           contract_id=CONTRACT_ID, pools=(16, 6)))
        asyncio.run(deploy_signer(rpc, root_key, spec, wasm))
        procs = NodeProcesses(spec)
        procs.start_all()
        env = E2ECluster(work, rpc, root_key, spec, procs, chain)
        env.wait_ready(list(range(NODES)), presignatures=2, timeout_s=180)
        yield env
    finally:
        if procs is not None:
            procs.stop_all()
        chain.terminate()
        chain.wait(10)
        if os.environ.get("E2E_KEEP"):
            print(f"e2e work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
