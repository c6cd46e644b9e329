"""MPC nodes on one machine: node accounts, keys and node.toml files, and one `python -m mpc_service run` process
per node (logs in `<home>/node<i>/node.log`, status through `<home>/node<i>/data/status_addr`).

Chain access goes through JSON-RPC with the harness client (`localnet.workspaces.connect`), so it works against any
NEAR RPC whose root account key we hold (the localnet's `validator_key.json`). Used by `SignerNetwork`,
`python -m mpc_service cluster`, the demo and the benchmarks.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from mpc_service.keys import AccountKey, Ed25519KeyPair, write_near_key_file

__all__ = [
    "ClusterSpec",
    "NodeProcesses",
    "NodeSpec",
    "fetch_status",
    "free_port",
    "prepare_cluster",
    "vote_add_domains",
    "wait_for_keys",
]

NEAR = 10**24
# The contract's key event attempt timeout for clusters (init_config): longer than the node's DKG timeout (120 s) at the localnet's
# 100 ms blocks (the contract's default, the reference's 30 blocks, assumes ~1 s blocks).
KEY_EVENT_TIMEOUT_BLOCKS = 1500
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout: `-m mpc_service` resolves to its code


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class NodeSpec:
    index: int
    account_id: str
    home: Path
    p2p_port: int
    p2p_key: Ed25519KeyPair = field(repr=False)  # the mesh's TLS identity only: not an access key of the account
    account_keys: tuple[Ed25519KeyPair, ...] = field(repr=False, default=())  # function-call keys for the signer
    account_key: Ed25519KeyPair | None = field(repr=False, default=None)  # the operator's full-access key

    @property
    def config_path(self) -> Path:
        return self.home / "node.toml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.p2p_port}"


@dataclass(frozen=True)
class ClusterSpec:
    rpc_url: str
    contract_id: str
    threshold: int
    nodes: tuple[NodeSpec, ...]
    standby: tuple[NodeSpec, ...] = ()  # running nodes outside the participant set, with the ids they would get

    def parameters(self) -> dict[str, Any]:
        """`init`'s `parameters` for the participants (not the standby nodes)."""
        return {"threshold": self.threshold, "participants": {
            "next_id": len(self.nodes), "participants": [participant_entry(n) for n in self.nodes]}}

    @property
    def everyone(self) -> tuple[NodeSpec, ...]:
        """Participants and standby nodes; `everyone[i].index == i`."""
        return (*self.nodes, *self.standby)


def participant_entry(node: NodeSpec) -> list[Any]:
    """The contract's `[account_id, participant_id, {"tls_public_key", "url"}]` for a node."""
    return [node.account_id, node.index, {"tls_public_key": node.p2p_key.public_key_str, "url": node.url}]


def _node_toml(node: NodeSpec, spec: ClusterSpec, start_height: int, pools: tuple[int, int]) -> str:
    keys = ", ".join(f'"key{i}.json"' for i in range(len(node.account_keys)))
    return f"""[node]
account_id = "{node.account_id}"
data_dir = "data"
p2p_key_file = "p2p_key.json"
storage_secret_file = "storage.secret"

[network]
listen_port = {node.p2p_port}
keepalive_s = 2.0

[chain]
rpc_url = "{spec.rpc_url}"
contract_id = "{spec.contract_id}"
start_height = {start_height}
poll_interval_s = 0.05

[queue]
retry_after_s = 5.0
check_interval_s = 0.2

[pools]
triples_target = {pools[0]}
presignatures_target = {pools[1]}

[responder]
access_key_files = [{keys}]
gas_tgas = 100
"""


async def prepare_cluster(rpc_url: str, root_key_file: Path, home: Path, *, nodes: int, threshold: int,
                          contract_id: str, responder_keys: int = 3, pools: tuple[int, int] = (16, 8),
                          standby: int = 0) -> ClusterSpec:
    """Create node accounts (sub-accounts of the root key's account) and write every node's files under `home`.
    `standby` more nodes get accounts, keys and configs too (ids `nodes`, `nodes + 1`, …) but are not in the
    participant set: they join when a resharing proposal names them."""
    from localnet.chain.keys import SecretKey
    from localnet.rpc.home import read_validator_key
    from localnet.types import FunctionCallPermission
    from localnet.workspaces import connect

    root = read_validator_key(root_key_file)
    if nodes < 2 or not 1 <= threshold <= nodes:
        raise ValueError(f"need nodes >= 2 and 1 <= threshold <= nodes, got {nodes} nodes, threshold {threshold}")
    worker = connect(rpc_url, root)
    try:
        start_height = await worker.block_height()
        specs: list[NodeSpec] = []
        for i in range(nodes + standby):
            # Three kinds of keys, as the reference separates them: the operator's full-access key (kept beside
            # the node, not used by it), function-call keys for the signer contract (respond and votes), and the
            # p2p TLS key (registered in the contract's participant info, not an access key at all).
            owner, p2p = Ed25519KeyPair.generate(), Ed25519KeyPair.generate()
            extra = tuple(Ed25519KeyPair.generate() for _ in range(responder_keys))
            account_id = f"node{i}.{root.account_id}"
            account = await (worker.root_account().create_subaccount(f"node{i}").initial_balance(20 * NEAR)
                             .keys(SecretKey.from_bytes(owner.seed.expose())).transact())
            batch = account.batch(account_id)
            for key in extra:
                batch = batch.add_key(SecretKey.from_bytes(key.seed.expose()).public_key,
                                      FunctionCallPermission(allowance=None, receiver_id=contract_id))
            (await batch.transact()).into_result()
            specs.append(NodeSpec(i, account_id, home / f"node{i}", free_port(), p2p, extra, owner))
    finally:
        await worker.close()
    spec = ClusterSpec(rpc_url, contract_id, threshold, tuple(specs[:nodes]), tuple(specs[nodes:]))
    for node in specs:
        node.home.mkdir(parents=True, exist_ok=True)
        write_near_key_file(node.home / "p2p_key.json", AccountKey(node.account_id, node.p2p_key))
        assert node.account_key is not None
        write_near_key_file(node.home / "account_key.json", AccountKey(node.account_id, node.account_key))
        for i, key in enumerate(node.account_keys):
            write_near_key_file(node.home / f"key{i}.json", AccountKey(node.account_id, key))
        secret = node.home / "storage.secret"
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(os.urandom(32).hex())
        node.config_path.write_text(_node_toml(node, spec, start_height, pools))
    (home / "cluster.json").write_text(json.dumps({"rpc_url": rpc_url, "contract_id": contract_id,
                                                   "threshold": threshold, "parameters": spec.parameters(),
                                                   "standby": [participant_entry(n) for n in spec.standby]},
                                                  indent=1))
    return spec


async def vote_add_domains(rpc_url: str, spec: ClusterSpec, domains: tuple[str, ...] = ("Secp256k1", "Ed25519"),
                           first_id: int = 0) -> None:
    """Every participant votes to add `domains` (ids first_id, first_id + 1, …: the contract's next_domain_id on);
    the contract then enters Initializing and the nodes run the DKG. Signed with each node's function-call key for
    the signer, as its node would."""
    from localnet.rpc.home import ValidatorKey
    from localnet.workspaces import SecretKey, connect

    proposal = [{"id": first_id + i, "scheme": s} for i, s in enumerate(domains)]
    first = spec.nodes[0]
    worker = connect(rpc_url, ValidatorKey(first.account_id, SecretKey.from_bytes(first.account_keys[0].seed.expose())))
    try:
        for node in spec.nodes:
            account = worker.account(node.account_id, SecretKey.from_bytes(node.account_keys[0].seed.expose()))
            (await account.call(spec.contract_id, "vote_add_domains").args_json({"domains": proposal})
             .gas(300 * 10**12).transact()).into_result()
    finally:
        await worker.close()


class NodeProcesses:
    """One `python -m mpc_service run` subprocess per node; logs go to `<home>/node.log`."""

    def __init__(self, spec: ClusterSpec, env: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.env = env or {}
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, index: int, extra_env: dict[str, str] | None = None) -> None:
        node = self.spec.everyone[index]
        log = open(node.home / "node.log", "ab")  # noqa: SIM115 - owned by the child for its lifetime
        env = {**os.environ, **self.env, **(extra_env or {})}
        self.procs[index] = subprocess.Popen(
            [sys.executable, "-m", "mpc_service", "run", "--config", str(node.config_path)],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_ROOT)
        log.close()

    def start_all(self) -> None:
        """Every participant and standby node."""
        for node in self.spec.everyone:
            self.start(node.index)

    def stop(self, index: int, *, kill: bool = False, timeout_s: float = 10.0) -> int | None:
        proc = self.procs.pop(index, None)
        if proc is None:
            return None
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            return proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def stop_all(self) -> None:
        for index in list(self.procs):
            self.stop(index)

    def alive(self) -> list[int]:
        return [i for i, p in self.procs.items() if p.poll() is None]


async def fetch_status(node: NodeSpec) -> dict[str, Any] | None:
    """The node's /status JSON, or None when it is not up."""
    addr_file = node.home / "data" / "status_addr"
    if not addr_file.exists():
        return None
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session, \
                session.get(addr_file.read_text().strip() + "/status") as resp:
            data: dict[str, Any] = await resp.json()
            return data
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def wait_for_keys(spec: ClusterSpec, domains: int, *, indices: list[int] | None = None,
                        timeout_s: float = 120.0, presignatures: int = 0) -> None:
    """Wait until the nodes hold key shares for `domains` domains (and own `presignatures` presignatures each)."""
    deadline = time.monotonic() + timeout_s
    wanted = indices if indices is not None else [n.index for n in spec.nodes]
    while True:
        statuses = [await fetch_status(spec.nodes[i]) for i in wanted]
        if all(s is not None and len(s["keyshares"]) >= domains
               and s["pools"]["presignatures_owned"] >= presignatures for s in statuses):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"cluster not ready: {json.dumps(statuses)[:2000]}")
        await asyncio.sleep(0.3)
