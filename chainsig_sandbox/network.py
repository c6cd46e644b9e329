"""A whole signing network on one machine: the localnet process, the signer contract deployed and initialised
through the deploy script's code path (`chainsig_sandbox.deploy`), and N MPC node processes (threshold t) that ran
the DKG for both domains.

    async with signer_network(NetworkOptions(nodes=3, threshold=2)) as net:
        async with net.sandbox() as sb:                  # a root Worker for this event loop
            alice = await sb.create_account()
            ...

`SignerNetwork` outlives event loops (its parts are processes): synchronous tests call `run`, `status`, `new_user`,
`wait_ready`; async code uses `sandbox()`, `view`, `create_user`, `wait_for_keys`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from chainsig.credentials import NearCredentials
from chainsig.networks import NetworkSettings
from chainsig_sandbox.deploy import DeployPlan, DeployReport, deploy, load_key_file
from chainsig_sandbox.localnet_process import LocalnetProcess, start_localnet
from chainsig_sandbox.nodes import (
    KEY_EVENT_TIMEOUT_BLOCKS,
    PROJECT_ROOT,
    ClusterSpec,
    NodeProcesses,
    fetch_status,
    prepare_cluster,
    vote_add_domains,
    wait_for_keys,
)

__all__ = ["NetworkOptions", "Sandbox", "SignerNetwork", "signer_network", "signer_wasm"]

NEAR = 10**24
T = TypeVar("T")


@dataclass(frozen=True)
class NetworkOptions:
    nodes: int = 3
    threshold: int = 2
    domains: tuple[str, ...] = ("Secp256k1", "Ed25519")
    pools: tuple[int, int] = (16, 6)  # triples_target, presignatures_target of each node
    contract_id: str = "signer.test.near"
    signer_wasm: Path | None = None  # default: build contract/signer (nearc + emscripten, cached)
    standby: int = 0  # more nodes running outside the participant set (to be added by a resharing)
    ready_presignatures: int = 1  # each node owns this many presignatures before the network counts as ready
    ready_timeout_s: float = 180.0
    contract_balance_yocto: int = 50 * NEAR
    # send_tx/tx wait this long for an outcome: a `sign` (directly or through a contract) returns only once the
    # nodes answered, which on a busy machine can take longer than nearcore's 10 s.
    rpc_wait_timeout_s: float = 45.0  # below the harness client's 60 s HTTP timeout


def signer_wasm(path: Path | None = None) -> bytes:
    """`path`'s bytes, or the signer contract built from contract/signer (cached by source hash)."""
    if path is not None:
        return path.read_bytes()
    from contract.build import build_contract

    return build_contract(PROJECT_ROOT / "contract" / "signer").read_bytes()


@dataclass
class SignerNetwork:
    """The running network. `spec` names the nodes; `procs` starts/stops node processes; `chain` is the localnet."""

    work: Path
    localnet: LocalnetProcess
    spec: ClusterSpec
    procs: NodeProcesses
    options: NetworkOptions
    deploy_report: DeployReport
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    # ---- what the e2e tests read -------------------------------------------------------------------------------
    @property
    def rpc(self) -> str:
        return self.localnet.rpc_url

    @property
    def root_key(self) -> Path:
        return self.localnet.root_key

    @property
    def chain(self) -> Any:
        """The localnet's Popen."""
        return self.localnet.proc

    @property
    def signer_id(self) -> str:
        return self.spec.contract_id

    # ---- lifecycle ---------------------------------------------------------------------------------------------
    @classmethod
    async def start(cls, options: NetworkOptions | None = None, work: Path | None = None) -> SignerNetwork:
        """Build (or read) the signer, start the localnet, create node accounts, deploy + init the signer, vote the
        domains, start the nodes and wait until each holds a key share per domain and its presignatures."""
        opts = options or NetworkOptions()
        home = work or Path(tempfile.mkdtemp(prefix="chainsig-sandbox-"))
        wasm = await asyncio.to_thread(signer_wasm, opts.signer_wasm)
        localnet = await asyncio.to_thread(start_localnet, home / "chain", wait_timeout_s=opts.rpc_wait_timeout_s)
        procs: NodeProcesses | None = None
        try:
            spec = await prepare_cluster(localnet.rpc_url, localnet.root_key, home / "cluster", nodes=opts.nodes,
                                         threshold=opts.threshold, contract_id=opts.contract_id, pools=opts.pools,
                                         standby=opts.standby)
            report = await deploy(DeployPlan(
                network=NetworkSettings(name="localnet", chain_id="localnet", rpc_url=localnet.rpc_url),
                rpc_url=localnet.rpc_url, payer=load_key_file(localnet.root_key), contract_id=opts.contract_id,
                wasm=wasm, parameters=spec.parameters(), initial_balance_yocto=opts.contract_balance_yocto,
                init_config={"key_event_timeout_blocks": KEY_EVENT_TIMEOUT_BLOCKS}))
            if opts.domains:
                await vote_add_domains(localnet.rpc_url, spec, opts.domains)
            procs = NodeProcesses(spec)
            procs.start_all()
            network = cls(home, localnet, spec, procs, opts, report)
            await network.wait_for_keys(presignatures=opts.ready_presignatures, timeout_s=opts.ready_timeout_s,
                                        caught_up=True)
            return network
        except BaseException:
            if procs is not None:
                procs.stop_all()
            localnet.stop()
            raise

    def stop(self) -> None:
        self.procs.stop_all()
        self.localnet.stop()

    # ---- async helpers -----------------------------------------------------------------------------------------
    def connect(self) -> Any:
        """A `localnet.workspaces.Worker` signing as the root account (test.near); `await worker.close()`."""
        from localnet.rpc.home import read_validator_key
        from localnet.workspaces import connect

        return connect(self.rpc, read_validator_key(self.root_key))

    @asynccontextmanager
    async def sandbox(self) -> AsyncIterator[Sandbox]:
        worker = self.connect()
        try:
            yield Sandbox(self, worker)
        finally:
            await worker.close()

    async def view(self, method: str, args: dict[str, Any] | None = None) -> Any:
        """A view of the signer contract."""
        from mpc_service.chain.rpc import JsonRpc

        async with JsonRpc(self.rpc) as rpc:
            return await rpc.view(self.signer_id, method, args or {})

    async def create_user(self, prefix: str | None = None, balance_yocto: int = 20 * NEAR) -> NearCredentials:
        """A fresh funded account `<prefix>.test.near` (default user<n>); chainsig credentials for it."""
        from localnet.workspaces import SecretKey

        name = prefix or f"user{next(self._names)}"
        key = SecretKey.generate()
        worker = self.connect()
        try:
            account = await (worker.root_account().create_subaccount(name).initial_balance(balance_yocto).keys(key)
                             .transact())
        finally:
            await worker.close()
        return NearCredentials.from_json(json.dumps({"account_id": account.id, "secret_key": key.to_near_string()}))

    async def wait_for_keys(self, indices: list[int] | None = None, *, presignatures: int = 0,
                            timeout_s: float = 120.0, caught_up: bool = False) -> None:
        """Wait until the nodes hold a key share per domain and `presignatures` each, and with `caught_up` until
        their indexers are within 3 blocks of the chain head (a request made then is seen at once)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        await wait_for_keys(self.spec, len(self.options.domains), indices=indices, presignatures=presignatures,
                            timeout_s=timeout_s)
        if not caught_up:
            return
        wanted = indices if indices is not None else [n.index for n in self.spec.nodes]
        while True:
            head = await self._head()
            statuses = [await self.node_status(i) for i in wanted]
            if all(s is not None and int(s["height"]["processed"]) >= head - 3 for s in statuses):
                return
            if loop.time() > deadline:
                heights = [s["height"] if s else None for s in statuses]
                raise TimeoutError(f"node indexers behind the chain head {head}: {heights}")
            await asyncio.sleep(0.2)

    async def add_domain(self, scheme: str, timeout_s: float = 180.0) -> int:
        """Every participant votes one new domain of `scheme` ("Secp256k1", "Ed25519", "Bls12381") with the next
        free id; returns the id once every node holds its key share."""
        state = await self.view("state")
        domain_id = int(state["next_domain_id"])
        await vote_add_domains(self.rpc, self.spec, (scheme,), first_id=domain_id)
        await wait_for_keys(self.spec, len(state["domains"]) + 1, timeout_s=timeout_s)
        return domain_id

    async def _head(self) -> int:
        from mpc_service.chain.rpc import JsonRpc

        async with JsonRpc(self.rpc) as rpc:
            status = await rpc.call("status", [])
        return int(status["sync_info"]["latest_block_height"])

    async def node_status(self, index: int) -> dict[str, Any] | None:
        return await fetch_status(self.spec.nodes[index])

    # ---- synchronous helpers (for synchronous tests: each runs its own event loop) -----------------------------
    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run(coro)

    def status(self, index: int) -> dict[str, Any] | None:
        """Node `index`'s /status JSON, or None while it is down."""
        return self.run(self.node_status(index))

    def logs(self, index: int) -> list[dict[str, Any]]:
        """Node `index`'s JSON log records."""
        out = []
        for line in (self.spec.nodes[index].home / "node.log").read_text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def new_user(self) -> NearCredentials:
        return self.run(self.create_user())

    def wait_ready(self, indices: list[int], presignatures: int = 1, timeout_s: float = 120) -> None:
        self.run(self.wait_for_keys(indices, presignatures=presignatures, timeout_s=timeout_s))


class Sandbox:
    """The network seen from one event loop: a root Worker plus near-workspaces-style helpers for a dApp's tests."""

    def __init__(self, network: SignerNetwork, worker: Any) -> None:
        self.network = network
        self.worker = worker
        self._names = itertools.count(1)

    @property
    def signer_id(self) -> str:
        return self.network.signer_id

    @property
    def rpc(self) -> str:
        return self.network.rpc

    @property
    def root(self) -> Any:
        return self.worker.root_account()

    async def create_account(self, prefix: str | None = None, balance_yocto: int = 10 * NEAR) -> Any:
        """A funded `localnet.workspaces.Account` with its own key (a fresh dev account when `prefix` is None)."""
        if prefix is None:
            return await self.worker.dev_create_account(balance_yocto)
        return await self.root.create_subaccount(prefix).initial_balance(balance_yocto).transact()

    async def deploy(self, wasm: bytes, init_method: str | None = None, init_args: Any = None, *,
                     balance_yocto: int = 20 * NEAR) -> Any:
        """Deploy `wasm` to a fresh account and optionally call its init method (as itself); returns a Contract."""
        from localnet.workspaces import TGAS

        contract = await self.worker.dev_deploy(wasm, balance_yocto)
        if init_method is not None:
            done = await contract.call(init_method).args_json(init_args or {}).gas(100 * TGAS).transact()
            done.into_result()
        return contract

    async def public_key(self, domain_id: int = 0) -> str:
        return str(await self.network.view("public_key", {"domain_id": domain_id}))

    async def verify(self, response: dict[str, Any], *, predecessor: str, path: str, payload: bytes,
                     domain_id: int = 0) -> Any:
        """Check a `sign` response against the key the contract derives for (predecessor, path); return the
        parsed signature, or raise AssertionError."""
        from chainsig.kdf import derive_public_key
        from chainsig.signatures import parse_signature_response

        if not isinstance(response, dict) or "scheme" not in response:
            raise AssertionError(f"not a signature response: {response!r}")
        key = derive_public_key(await self.public_key(domain_id), predecessor, path)
        signature = parse_signature_response(response)
        if not signature.verify(payload, key):  # type: ignore[arg-type]
            raise AssertionError(f"the signature does not verify under the key derived for {predecessor} / {path}")
        return signature


@asynccontextmanager
async def signer_network(options: NetworkOptions | None = None, work: Path | None = None, *,
                         keep: bool = False) -> AsyncIterator[SignerNetwork]:
    """Start a `SignerNetwork`, stop it on exit; its directory is removed unless `keep` or `work` was given."""
    home = work or Path(tempfile.mkdtemp(prefix="chainsig-sandbox-"))
    try:
        network = await SignerNetwork.start(options, home)
        try:
            yield network
        finally:
            network.stop()
    finally:
        if not keep and work is None and not os.environ.get("CHAINSIG_SANDBOX_KEEP"):
            shutil.rmtree(home, ignore_errors=True)
