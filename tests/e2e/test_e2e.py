"""End-to-end: the signer contract on the localnet, five node processes, requests through py-near.

Tests share one cluster and run in file order: plain requests first, then faults (a malicious node, two nodes
killed, a full restart with requests issued while every node is down). Each test leaves all five nodes running.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from chainsig.kdf import derive_public_key
from chainsig.keys import Ed25519PublicKey, Secp256k1PublicKey
from chainsig.sign import DomainId, PayloadScheme, SignatureResult, SignRequest, request_signature
from chainsig.signatures import EcdsaSignature, Ed25519Signature

if TYPE_CHECKING:
    from tests.e2e.conftest import E2ECluster

CONTRACT_ID = "signer.test.near"  # as in conftest (not imported: works without `tests` on sys.path)
NODES = 5
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


async def _sign(env: E2ECluster, creds: Any, path: str, payload: bytes, domain: int) -> SignatureResult:
    scheme = PayloadScheme.EDDSA if domain == 1 else PayloadScheme.ECDSA  # domain 2: a second secp256k1 key
    return await request_signature(env.rpc, CONTRACT_ID, creds,
                                   SignRequest(path, payload, DomainId(domain), scheme=scheme), timeout_s=60)


def _check(env: E2ECluster, result: SignatureResult, account: str, path: str, payload: bytes, domain: int) -> None:
    root = env.run(env.view("public_key", {"domain_id": domain}))
    key = derive_public_key(root, account, path)
    if domain != 1:
        assert isinstance(result.signature, EcdsaSignature) and isinstance(key, Secp256k1PublicKey)
        assert result.signature.is_low_s
        assert result.signature.verify(payload, key), "signature does not verify under the derived key"
        assert result.signature.recover(payload) == key
    else:
        assert isinstance(result.signature, Ed25519Signature) and isinstance(key, Ed25519PublicKey)
        assert result.signature.verify(payload, key), "signature does not verify under the derived key"


def _sign_many(env: E2ECluster, creds: Any, jobs: list[tuple[str, bytes, int]]) -> list[SignatureResult]:
    async def go() -> list[SignatureResult]:
        return list(await asyncio.gather(*(_sign(env, creds, p, m, d) for p, m, d in jobs)))

    results = env.run(go())
    for (path, payload, domain), result in zip(jobs, results, strict=True):
        _check(env, result, creds.account_id, path, payload, domain)
    return results


def test_secp256k1_request_is_answered(cluster: E2ECluster) -> None:
    creds = cluster.new_user()
    payload = os.urandom(32)
    started = time.monotonic()
    [result] = _sign_many(cluster, creds, [("ethereum-1", payload, 0)])
    assert result.response["scheme"] == "Secp256k1"
    assert time.monotonic() - started < 30
    served = sum(cluster.status(i)["requests"]["requests_served"] for i in range(NODES))  # type: ignore[index]
    assert served >= 1


def test_ed25519_request_is_answered(cluster: E2ECluster) -> None:
    creds = cluster.new_user()
    message = b"solana transaction message bytes " + os.urandom(16)
    [result] = _sign_many(cluster, creds, [("solana-1", message, 1)])
    assert result.response["scheme"] == "Ed25519"


def test_malformed_requests_are_rejected_by_the_contract_and_nodes_keep_serving(cluster: E2ECluster) -> None:
    from localnet.chain.keys import SecretKey
    from localnet.rpc.home import read_validator_key
    from localnet.workspaces import connect

    creds = cluster.new_user()

    async def bad_calls() -> list[Any]:
        worker = connect(cluster.rpc, read_validator_key(cluster.root_key))
        try:
            user = worker.account(creds.account_id, SecretKey.from_string(creds.secret_key.reveal()))
            outcomes = []
            for request in ({"path": "p", "payload_v2": {"Ecdsa": "00" * 31}, "domain_id": 0},
                            {"path": "p", "payload_v2": {"Ecdsa": "ff" * 32}, "domain_id": 0},
                            {"path": "p", "payload_v2": {"Ecdsa": "11" * 32}, "domain_id": 7}):
                outcomes.append(await user.call(CONTRACT_ID, "sign").args_json({"request": request}).deposit(1)
                                .gas(100 * 10**12).transact())
            return outcomes
        finally:
            await worker.close()

    for outcome in cluster.run(bad_calls()):
        assert not outcome.is_success
    _sign_many(cluster, creds, [("after-bad", os.urandom(32), 0)])
    assert all(cluster.procs.procs[i].poll() is None for i in range(NODES)), "a node exited"
    metrics = cluster.run(_metrics(cluster))
    assert "mpc_requests_requests_served" in metrics and "mpc_pools_presignatures" in metrics


async def _metrics(env: E2ECluster) -> str:
    import aiohttp

    url = (env.spec.nodes[0].home / "data" / "status_addr").read_text().strip()
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as resp:
        return await resp.text()


def test_chainsig_sign_cli_prints_the_contracts_response(cluster: E2ECluster) -> None:
    import json
    import subprocess
    import sys

    creds = cluster.new_user()
    message = os.urandom(48)
    env = {**os.environ, "ALICE_KEY": json.dumps({"account_id": creds.account_id,
                                                  "secret_key": creds.secret_key.reveal()})}
    out = subprocess.run([sys.executable, "-m", "chainsig.cli", "sign", "--rpc", cluster.rpc, "--contract", CONTRACT_ID,
                          "--account", creds.account_id, "--key", "ALICE_KEY", "--path", "sol-cli",
                          "--payload", message.hex(), "--domain", "1"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    response = json.loads(out.stdout)
    assert response["scheme"] == "Ed25519"
    root = cluster.run(cluster.view("public_key", {"domain_id": 1}))
    key = derive_public_key(root, creds.account_id, "sol-cli")
    assert isinstance(key, Ed25519PublicKey) and Ed25519Signature.from_response(response).verify(message, key)


def test_concurrent_mixed_requests(cluster: E2ECluster) -> None:
    creds = cluster.new_user()
    jobs = [(f"path-{i}", os.urandom(32), 0) for i in range(4)] + [(f"ed-{i}", os.urandom(40), 1) for i in range(2)]
    _sign_many(cluster, creds, jobs)


def test_the_same_request_asked_again_after_its_answer_is_answered_again(cluster: E2ECluster) -> None:
    """Identity is the on-chain instance: repeating a request (same account, path and payload) is served again."""
    creds = cluster.new_user()
    payload = os.urandom(32)
    first = _sign_many(cluster, creds, [("again", payload, 0)])[0]
    second = _sign_many(cluster, creds, [("again", payload, 0)])[0]
    assert first.signature is not None and second.signature is not None
    ed_message = os.urandom(40)
    _sign_many(cluster, creds, [("again-ed", ed_message, 1)])
    _sign_many(cluster, creds, [("again-ed", ed_message, 1)])


def test_a_nodes_p2p_key_is_not_an_access_key_of_its_account(cluster: E2ECluster) -> None:
    """Keys are separated as in the reference: the p2p TLS key only identifies the node on the mesh; the node signs
    transactions with function-call keys that can call the signer contract and nothing else."""
    from mpc_service.chain.rpc import JsonRpc

    async def keys(account_id: str) -> list[dict[str, Any]]:
        async with JsonRpc(cluster.rpc) as rpc:
            result = await rpc.call("query", {"request_type": "view_access_key_list", "finality": "final",
                                              "account_id": account_id})
        listed: list[dict[str, Any]] = result["keys"]
        return listed

    for node in cluster.spec.nodes:
        listed = {k["public_key"]: k["access_key"]["permission"] for k in cluster.run(keys(node.account_id))}
        assert node.p2p_key.public_key_str not in listed
        for key in node.account_keys:
            permission = listed[key.public_key_str]
            assert isinstance(permission, dict) and permission["FunctionCall"]["receiver_id"] == CONTRACT_ID


def test_a_second_secp256k1_domain_signs_with_its_own_presignatures(cluster: E2ECluster) -> None:
    """Presignatures are per domain key: a domain added later gets its own pool and signs under its own key."""
    domain_id = cluster.run(cluster.add_domain("Secp256k1"))

    def own_pool() -> bool:
        statuses = [cluster.status(i) for i in range(NODES)]
        return all(s is not None and s["pools"]["presignatures_owned_by_domain"].get(str(domain_id), 0) >= 1
                   for s in statuses)

    deadline = time.monotonic() + 180
    while not own_pool():  # every node makes presignatures for the new domain's key
        assert time.monotonic() < deadline, "no presignatures for the new domain"
        time.sleep(0.3)
    root0 = cluster.run(cluster.view("public_key", {"domain_id": 0}))
    root2 = cluster.run(cluster.view("public_key", {"domain_id": domain_id}))
    assert root0 != root2
    creds = cluster.new_user()
    _sign_many(cluster, creds, [("second-domain", os.urandom(32), domain_id), ("first-domain", os.urandom(32), 0)])


def _start_double(env: E2ECluster, index: int, behaviour: str) -> None:
    """Replace node `index` by a test double of a misbehaving participant (tests/e2e/malicious_node.py)."""
    import subprocess
    import sys

    env.procs.stop(index)
    node = env.spec.nodes[index]
    with open(node.home / "node.log", "ab") as log:
        env.procs.procs[index] = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.malicious_node", "--config", str(node.config_path),
             "--behaviour", behaviour], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def test_a_malicious_leader_gets_no_ecdsa_signature_for_an_ed25519_request(cluster: E2ECluster) -> None:
    """A participant running the honest node plus one attack (tests/e2e/malicious_node.py) leads ECDSA signings of
    an Ed25519 request's payload, naming the request's domain and then a secp256k1 domain. Honest followers check
    the task against their own copy of the request and the domain's scheme and refuse before taking their
    presignature share; no signature results."""
    bad = NODES - 1
    _start_double(cluster, bad, "cross-scheme")
    try:
        cluster.wait_ready([bad], presignatures=2)
        creds = cluster.new_user()
        _sign_many(cluster, creds, [("victim-ed", os.urandom(32), 1)])  # the honest flow still answers it
        deadline = time.monotonic() + 90
        while len(ends := [r for r in cluster.logs(bad) if r.get("msg") in ("attack failed", "attack succeeded")]) < 2:
            assert time.monotonic() < deadline, "the attack did not run"
            time.sleep(0.3)
        assert not [r for r in ends if r["msg"] == "attack succeeded"], ends
        started = [r for r in cluster.logs(bad) if r.get("msg") == "attack started"]
        assert len(started) >= 2
        for attack in started[:2]:
            for follower in attack["participants"]:
                if follower == bad:
                    continue
                refused = [r for r in cluster.logs(follower)
                           if "refused" in str(r.get("msg")) and f"follower of {bad}" in str(r.get("msg"))]
                assert refused, f"participant {follower} did not refuse the attack"
                db = sqlite3.connect(cluster.spec.nodes[follower].home / "data" / "assets.sqlite")
                try:
                    kept = db.execute("SELECT COUNT(*) FROM assets WHERE id = ?", (attack["presignature"],)).fetchone()
                finally:
                    db.close()
                assert kept == (1,), f"participant {follower} took its presignature share before refusing"
        refusers = {f for attack in started[:2] for f in attack["participants"] if f != bad}
        for follower in refusers:  # attributed on /status too, naming the leader that asked
            status = cluster.status(follower)
            assert status is not None and status["misbehaviour"][str(bad)]["tasks_refused"] >= 1, status
    finally:
        _restart(cluster, bad)
        cluster.wait_ready([bad], presignatures=0)


def _restart(env: E2ECluster, index: int) -> None:
    env.procs.stop(index)
    env.procs.start(index)


def test_malicious_node_cannot_make_a_request_succeed_wrongly_and_is_named(cluster: E2ECluster) -> None:
    bad = NODES - 1
    _start_double(cluster, bad, "bad-shares")
    cluster.wait_ready([bad], presignatures=0)
    creds = cluster.new_user()
    named = False
    for round_ in range(6):
        _sign_many(cluster, creds, [(f"m-{round_}-{i}", os.urandom(32), 0) for i in range(3)]
                   + [(f"me-{round_}", os.urandom(32), 1)])
        blame = [rec for i in range(NODES - 1) for rec in cluster.logs(i) if rec.get("culprit") == bad]
        if blame:
            named = True
            break
    assert named, "no honest node named the malicious participant"
    rejected = [rec for rec in cluster.logs(bad) if rec.get("msg") == "malicious respond sent"]
    assert rejected and not any(rec["ok"] for rec in rejected), "a forged respond was accepted by the contract"
    _restart(cluster, bad)
    cluster.wait_ready([bad], presignatures=0)


def test_signing_goes_on_with_two_of_five_nodes_killed(cluster: E2ECluster) -> None:
    for index in (3, 4):
        cluster.procs.stop(index, kill=True)
    try:
        creds = cluster.new_user()
        _sign_many(cluster, creds, [("k-0", os.urandom(32), 0), ("k-1", os.urandom(32), 0),
                                    ("k-ed", os.urandom(32), 1)])
    finally:
        for index in (3, 4):
            cluster.procs.start(index)
    cluster.wait_ready([3, 4], presignatures=0)


async def _wait_pending(env: E2ECluster, account: str, path: str, payload: bytes, domain: int,
                        timeout_s: float = 60) -> None:
    """Until the contract holds the request (its `sign` receipt executed and yielded)."""
    from chainsig.kdf import derive_tweak

    kind = "Eddsa" if domain == 1 else "Ecdsa"
    request = {"tweak": derive_tweak(account, path).hex(), "payload": {kind: payload.hex()}, "domain_id": domain}
    deadline = time.monotonic() + timeout_s
    while await env.view("get_pending_request", {"request": request}) is None:
        assert time.monotonic() < deadline, f"request {path} never became pending"
        await asyncio.sleep(0.1)


def test_a_paused_node_does_not_stop_signing(cluster: E2ECluster) -> None:
    """SIGSTOP one node (its links stay open but it answers nothing): requests are still answered."""
    import signal

    paused = 2
    cluster.procs.procs[paused].send_signal(signal.SIGSTOP)
    try:
        creds = cluster.new_user()
        _sign_many(cluster, creds, [("p-0", os.urandom(32), 0), ("p-1", os.urandom(32), 0),
                                    ("p-ed", os.urandom(32), 1)])
    finally:
        cluster.procs.procs[paused].send_signal(signal.SIGCONT)
    cluster.wait_ready([paused], presignatures=0)


def test_the_leader_killed_as_its_request_lands_is_replaced(cluster: E2ECluster) -> None:
    """Kill the request's leader (the reference's hash order) as soon as the request is pending on chain."""
    from chainsig.kdf import derive_tweak
    from mpc_service.chain.events import request_id_of
    from mpc_service.queue import leader_order
    from mpc_service.types import ParticipantId

    creds = cluster.new_user()
    path, payload = "leader-killed", os.urandom(32)
    rid = request_id_of(0, derive_tweak(creds.account_id, path), "Ecdsa", payload)
    leader = int(leader_order([ParticipantId(i) for i in range(NODES)], rid)[0])

    async def go() -> SignatureResult:
        task = asyncio.create_task(_sign(cluster, creds, path, payload, 0))
        await _wait_pending(cluster, creds.account_id, path, payload, 0)
        cluster.procs.stop(leader, kill=True)
        return await task

    try:
        result = cluster.run(go())
        _check(cluster, result, creds.account_id, path, payload, 0)
    finally:
        cluster.procs.start(leader)
    cluster.wait_ready([leader], presignatures=0)


def test_requests_issued_while_all_nodes_are_down_are_answered_after_restart(cluster: E2ECluster) -> None:
    creds = cluster.new_user()
    before = [cluster.status(i)["height"]["processed"] for i in range(NODES)]  # type: ignore[index]
    cluster.procs.stop_all()

    async def go() -> list[SignatureResult]:
        jobs = [(f"r-{i}", os.urandom(32), 0) for i in range(2)] + [("r-ed", os.urandom(32), 1)]
        tasks = [asyncio.create_task(_sign(cluster, creds, p, m, d)) for p, m, d in jobs]
        for path, payload, domain in jobs:  # the requests are on chain and pending while no node runs
            await _wait_pending(cluster, creds.account_id, path, payload, domain)
        assert not any(t.done() for t in tasks)
        cluster.procs.start_all()
        return list(await asyncio.gather(*tasks))

    results = cluster.run(go())
    for result in results:
        assert result.signature is not None
    # The restarted nodes resumed from their persisted height and caught up with the chain.
    after = [cluster.status(i)["height"]["processed"] for i in range(NODES)]  # type: ignore[index]
    assert all(a > b for a, b in zip(after, before, strict=True))
    cluster.wait_ready(list(range(NODES)), presignatures=0)


def test_no_presignature_is_ever_used_twice(cluster: E2ECluster) -> None:
    """Each node uses its share of a presignature at most once, and only after its store took it durably.

    Two leaders of the same presignature set may both pick one presignature (a leader without a fitting one of its
    own borrows another owner's); each then holds only its own share, the followers' stores let only one of them have
    theirs, and no share is ever used for two messages — which is what reuse would take to leak the key.
    """
    used: dict[tuple[int, str], str] = {}
    for i in range(NODES):
        for rec in cluster.logs(i):
            if rec.get("msg") == "presignature used":
                key = (i, rec["presignature"])
                assert key not in used, f"node {i} used presignature {rec['presignature']} twice"
                used[key] = rec["request"]
    assert used, "no presignature was used at all"
    for i in range(NODES):
        db = sqlite3.connect(cluster.spec.nodes[i].home / "data" / "assets.sqlite")
        try:
            taken = {r[0] for r in db.execute("SELECT id FROM taken WHERE kind = 'presignature'")}
            stored = {r[0] for r in db.execute("SELECT id FROM assets WHERE kind = 'presignature'")}
        finally:
            db.close()
        assert not taken & stored, f"node {i}: a taken presignature is still stored"
        for node, aid in used:
            if node == i:
                assert aid in taken, f"node {i} led with presignature {aid} but its store never took it"
