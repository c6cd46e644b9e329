"""Resharing end to end: five node processes (threshold 3) plus a standby node; the participants vote new parameters
that drop node 0 and add the standby; the nodes reshare both domains; the keys stay the same, every derived key stays
valid, signing goes on before, during and after, and the joined node takes part in signing.

Its own cluster (the shared one in conftest keeps its participant set for the other tests).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainsig.kdf import derive_public_key
from chainsig.sign import DomainId, PayloadScheme, SignRequest, request_signature
from chainsig.signatures import EcdsaSignature, Ed25519Signature

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_ID = "signer.test.near"
NODES, THRESHOLD = 5, 3
STANDBY = NODES  # the sixth node's index and, after the vote, its participant id


class Reshare:
    def __init__(self, work: Path, rpc: str, root_key: Path, spec: Any, procs: Any) -> None:
        self.work, self.rpc, self.root_key, self.spec, self.procs = work, rpc, root_key, spec, procs
        self.users = 0

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)

    async def view(self, method: str, args: dict[str, Any]) -> Any:
        from mpc_service.chain.rpc import JsonRpc

        async with JsonRpc(self.rpc) as rpc:
            return await rpc.view(CONTRACT_ID, method, args)

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.run(self.view("state", {}))
        return result

    def new_user(self) -> Any:
        import json

        from chainsig.credentials import NearCredentials
        from localnet.chain.keys import SecretKey
        from localnet.rpc.home import read_validator_key
        from localnet.workspaces import NEAR, connect

        self.users += 1
        key = SecretKey.generate()

        async def create() -> None:
            worker = connect(self.rpc, read_validator_key(self.root_key))
            try:
                await worker.root_account().create_subaccount(f"r{self.users}").initial_balance(20 * NEAR).keys(
                    key).transact()
            finally:
                await worker.close()

        self.run(create())
        return NearCredentials.from_json(json.dumps({"account_id": f"r{self.users}.test.near",
                                                     "secret_key": key.to_near_string()}))

    def sign(self, creds: Any, jobs: list[tuple[str, bytes, int]]) -> None:
        async def go() -> list[Any]:
            return list(await asyncio.gather(*(
                request_signature(self.rpc, CONTRACT_ID, creds,
                                  SignRequest(p, m, DomainId(d), scheme=PayloadScheme.EDDSA if d else PayloadScheme.ECDSA),
                                  timeout_s=90) for p, m, d in jobs)))

        for (path, payload, domain), result in zip(jobs, self.run(go()), strict=True):
            root = self.run(self.view("public_key", {"domain_id": domain}))
            key = derive_public_key(root, creds.account_id, path)
            sig = result.signature
            assert isinstance(sig, EcdsaSignature if domain == 0 else Ed25519Signature)
            assert sig.verify(payload, key), f"{path}: signature does not verify under the derived key"

    def wait(self, what: str, condition: Any, timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.state()}"
            time.sleep(0.3)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reshare]:
    from contract.build import build_contract
    from mpc_service.cluster import ClusterSpec, NodeProcesses, deploy_signer, prepare_cluster, wait_for_keys
    from tests.e2e.conftest import _start_localnet

    wasm = build_contract(ROOT / "contract" / "signer").read_bytes()
    work = tmp_path_factory.mktemp("reshare")
    chain, rpc = _start_localnet(work / "chain")
    procs = None
    try:
        root_key = work / "chain" / "validator_key.json"
        everyone = asyncio.run(prepare_cluster(rpc, root_key, work / "cluster", nodes=NODES + 1, threshold=THRESHOLD,
                                               contract_id=CONTRACT_ID, pools=(16, 4)))
        initial = ClusterSpec(rpc, CONTRACT_ID, THRESHOLD, everyone.nodes[:NODES])
        asyncio.run(deploy_signer(rpc, root_key, initial, wasm))
        procs = NodeProcesses(everyone)
        procs.start_all()  # the standby runs too: it waits until a proposal names it
        asyncio.run(wait_for_keys(initial, 2, presignatures=1, timeout_s=240))
        yield Reshare(work, rpc, root_key, everyone, procs)
    finally:
        if procs is not None:
            procs.stop_all()
        chain.terminate()
        chain.wait(10)


def test_participants_change_and_every_derived_key_stays(net: Reshare) -> None:
    from localnet.chain.keys import SecretKey
    from localnet.rpc.home import read_validator_key
    from localnet.workspaces import connect

    before = net.state()
    assert before["protocol_state"] == "Running" and before["epoch"] == 0
    keys_before = {d["id"]: d["public_key"] for d in before["domains"]}
    user = net.new_user()
    paths = [f"acct-{i}" for i in range(3)]
    derived_before = {(p, d): str(derive_public_key(keys_before[d], user.account_id, p)) for p in paths for d in (0, 1)}
    net.sign(user, [("before", os.urandom(32), 0), ("before-ed", os.urandom(32), 1)])

    standby = net.spec.nodes[STANDBY]
    proposal = {"threshold": THRESHOLD, "participants": {"next_id": NODES + 1, "participants": [
        *[p for p in before["participants"]["participants"] if p[1] != 0],
        [standby.account_id, STANDBY, {"tls_public_key": standby.p2p_key.public_key_str, "url": standby.url}]]}}

    async def vote() -> None:
        worker = connect(net.rpc, read_validator_key(net.root_key))
        try:
            # Current participants first (a proposed newcomer may vote once `threshold` of them did).
            for index in (1, 2, 3, 4, STANDBY):
                node = net.spec.nodes[index]
                account = worker.account(node.account_id, SecretKey.from_bytes(node.p2p_key.seed.expose()))
                (await account.call(CONTRACT_ID, "vote_new_parameters")
                 .args_json({"prospective_epoch_id": 1, "proposal": proposal}).gas(300 * 10**12).transact()
                 ).into_result()
        finally:
            await worker.close()

    net.run(vote())
    # While resharing (or right after), the previous participants keep answering.
    net.sign(user, [("during", os.urandom(32), 0), ("during-ed", os.urandom(32), 1)])
    net.wait("the new epoch", lambda: (s := net.state())["protocol_state"] == "Running" and s["epoch"] == 1)
    after = net.state()
    assert {d["id"]: d["public_key"] for d in after["domains"]} == keys_before, "the public keys changed"
    assert sorted(p[1] for p in after["participants"]["participants"]) == [1, 2, 3, 4, STANDBY]
    for (path, domain), derived in derived_before.items():
        assert str(derive_public_key(after["domains"][domain]["public_key"], user.account_id, path)) == derived

    from mpc_service.cluster import ClusterSpec, fetch_status

    new_set = ClusterSpec(net.rpc, CONTRACT_ID, THRESHOLD, tuple(net.spec.nodes[i] for i in (1, 2, 3, 4, STANDBY)))

    def ready() -> bool:
        statuses = [net.run(fetch_status(n)) for n in new_set.nodes]
        return all(s is not None and len(s["keyshares"]) == 2 and s["pools"]["presignatures_owned"] >= 1
                   for s in statuses)

    net.wait("the new set's key shares and presignatures", ready)
    net.sign(user, [("after", os.urandom(32), 0), ("after-ed", os.urandom(32), 1)])

    # The departed node deleted its key shares.
    db = sqlite3.connect(net.spec.nodes[0].home / "data" / "assets.sqlite")
    try:
        net.wait("node 0 to delete its shares",
                 lambda: db.execute("SELECT COUNT(*) FROM key_shares").fetchone() == (0,), timeout_s=60)
    finally:
        db.close()

    # With two continuing nodes stopped only three of the new set remain: the joined node must take part.
    for index in (1, 2):
        net.procs.stop(index)
    try:
        net.sign(user, [("joined-ed", os.urandom(32), 1)])
    finally:
        for index in (1, 2):
            net.procs.start(index)


def test_a_keygen_attempt_broken_by_a_restart_is_retried_and_completes(net: Reshare) -> None:
    """A node killed mid-DKG: the attempt fails (aborted by the others' votes or timed out), the leader starts the
    next attempt, and the domain gets its key; the restarted node does not vote a share of the failed attempt."""
    import json

    from localnet.chain.keys import SecretKey
    from localnet.rpc.home import read_validator_key
    from localnet.workspaces import connect

    running = [p[1] for p in net.state()["participants"]["participants"]]
    victim = running[2]
    log_file = net.spec.nodes[victim].home / "node.log"
    seen_lines = len(log_file.read_text().splitlines())

    async def vote() -> None:
        worker = connect(net.rpc, read_validator_key(net.root_key))
        try:
            for index in running:
                node = net.spec.nodes[index]
                account = worker.account(node.account_id, SecretKey.from_bytes(node.p2p_key.seed.expose()))
                (await account.call(CONTRACT_ID, "vote_add_domains")
                 .args_json({"domains": [{"id": 2, "scheme": "Secp256k1"}]}).gas(300 * 10**12).transact()).into_result()
        finally:
            await worker.close()

    net.run(vote())

    def dkg_started() -> bool:
        lines = log_file.read_text().splitlines()[seen_lines:]
        return any('"keygen starting"' in line and '"domain": 2' in line for line in lines)

    net.wait("the victim's DKG to start", dkg_started, timeout_s=120)
    net.procs.stop(victim, kill=True)
    net.procs.start(victim)
    net.wait("domain 2 keyed", lambda: (s := net.state())["protocol_state"] == "Running"
             and any(d["id"] == 2 and d.get("public_key") for d in s["domains"]), timeout_s=300)
    events = [json.loads(line) for line in log_file.read_text().splitlines()[seen_lines:] if line.startswith("{")]
    attempts = {json.dumps(e.get("key_event_id"), sort_keys=True) for e in events if e.get("msg") == "keygen starting"}
    assert len(attempts) >= 2, "the domain was keyed without a second attempt"
