"""Resharing end to end: five node processes (threshold 3) plus a standby node; the participants vote new parameters
that drop node 0, add the standby and raise the threshold to 4; the nodes reshare the secp256k1, ed25519 and
BLS12-381 (CKD) domains; the keys stay the same, every derived key and CKD app secret stays the same, signing goes on
before, during and after, and with one continuing node stopped the joined node takes part in signing and CKD (4 of
5: the OT-based triple generator makes the ECDSA assets). Then: a keygen
attempt and a reshare attempt that lose a node are retried and complete, and a resharing that cannot finish is
cancelled.

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
NEW_THRESHOLD = 4  # above half of the new set: triples need the dishonest-majority generator
DOMAINS = ("Secp256k1", "Ed25519", "Bls12381")  # ids 0, 1, 2: both signature schemes and a CKD domain
CKD_DOMAIN = 2
STANDBY = NODES  # the sixth node's index and, after the vote, its participant id


class Reshare:
    """The running network (chainsig_sandbox.SignerNetwork) and the checks these tests make."""

    def __init__(self, network: Any) -> None:
        self.network = network
        self.rpc, self.spec, self.procs = network.rpc, network.spec, network.procs

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.run(self.network.view("state", {}))
        return result

    def new_user(self) -> Any:
        return self.network.new_user()

    def sign(self, creds: Any, jobs: list[tuple[str, bytes, int]]) -> None:
        async def go() -> list[Any]:
            return list(await asyncio.gather(*(
                request_signature(self.rpc, CONTRACT_ID, creds,
                                  SignRequest(p, m, DomainId(d), scheme=PayloadScheme.EDDSA if d else PayloadScheme.ECDSA),
                                  timeout_s=90) for p, m, d in jobs)))

        for (path, payload, domain), result in zip(jobs, self.run(go()), strict=True):
            root = self.run(self.network.view("public_key", {"domain_id": domain}))
            key = derive_public_key(root, creds.account_id, path)
            sig = result.signature
            assert isinstance(sig, EcdsaSignature if domain == 0 else Ed25519Signature)
            assert sig.verify(payload, key), f"{path}: signature does not verify under the derived key"

    def app_secret(self, creds: Any, path: str) -> bytes:
        """The CKD app secret of (creds' account, path), decrypted and verified against the domain's key."""
        from chainsig.ckd import request_app_secret
        from chainsig.types import DomainId

        result = self.run(request_app_secret(self.rpc, CONTRACT_ID, creds, path, domain_id=DomainId(CKD_DOMAIN),
                                             timeout_s=90))
        return result.secret.secret.reveal()

    def vote_new_parameters(self, index: int, ballot: dict[str, Any]) -> None:
        """An operator's vote with its node's key: `python -m mpc_service vote-new-parameters`."""
        import json
        import subprocess
        import sys

        node = self.spec.everyone[index]
        ballot_file = node.home / "ballot.json"
        ballot_file.write_text(json.dumps(ballot))
        done = subprocess.run([sys.executable, "-m", "mpc_service", "vote-new-parameters", "--config",
                               str(node.config_path), "--proposal", str(ballot_file)],
                              capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
        assert done.returncode == 0, done.stderr

    def wait(self, what: str, condition: Any, timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.state()}"
            time.sleep(0.3)


@pytest.fixture(scope="module")
def net() -> Iterator[Reshare]:
    from chainsig_sandbox.network import NetworkOptions, SignerNetwork

    network = asyncio.run(SignerNetwork.start(NetworkOptions(nodes=NODES, threshold=THRESHOLD, standby=1,
                                                             pools=(16, 4), ready_timeout_s=300, domains=DOMAINS)))
    try:
        yield Reshare(network)
    finally:
        network.stop()


def test_participants_change_and_every_derived_key_stays(net: Reshare) -> None:
    before = net.state()
    assert before["protocol_state"] == "Running" and before["epoch"] == 0
    keys_before = {d["id"]: d["public_key"] for d in before["domains"]}
    user = net.new_user()
    paths = [f"acct-{i}" for i in range(3)]
    derived_before = {(p, d): str(derive_public_key(keys_before[d], user.account_id, p)) for p in paths for d in (0, 1)}
    net.sign(user, [("before", os.urandom(32), 0), ("before-ed", os.urandom(32), 1)])
    secret_before = net.app_secret(user, "vault")

    standby = net.spec.everyone[STANDBY]
    proposal = {"threshold": NEW_THRESHOLD, "participants": {"next_id": NODES + 1, "participants": [
        *[p for p in before["participants"]["participants"] if p[1] != 0],
        [standby.account_id, STANDBY, {"tls_public_key": standby.p2p_key.public_key_str, "url": standby.url}]]}}

    ballot = {"prospective_epoch_id": 1, "proposal": proposal}
    for index in (1, 2, 3, 4, STANDBY):  # current participants first: a newcomer votes once `threshold` of them did
        net.vote_new_parameters(index, ballot)
    # While resharing (or right after), the previous participants keep answering.
    net.sign(user, [("during", os.urandom(32), 0), ("during-ed", os.urandom(32), 1)])
    net.wait("the new epoch", lambda: (s := net.state())["protocol_state"] == "Running" and s["epoch"] == 1)
    switched = time.monotonic()
    after = net.state()
    assert {d["id"]: d["public_key"] for d in after["domains"]} == keys_before, "the public keys changed"
    assert sorted(p[1] for p in after["participants"]["participants"]) == [1, 2, 3, 4, STANDBY]
    for (path, domain), derived in derived_before.items():
        assert str(derive_public_key(after["domains"][domain]["public_key"], user.account_id, path)) == derived

    from chainsig_sandbox.nodes import fetch_status

    def ready() -> bool:
        statuses = [net.run(fetch_status(net.spec.everyone[i])) for i in (1, 2, 3, 4, STANDBY)]
        return all(s is not None and len(s["keyshares"]) == len(DOMAINS) and s["pools"]["presignatures_owned"] >= 1
                   for s in statuses)

    # Requests made right at the switch are answered by the new set as soon as it has presignatures again.
    net.sign(user, [("at-switch", os.urandom(32), 0), ("at-switch-ed", os.urandom(32), 1)])
    answered = time.monotonic()
    net.wait("the new set's key shares and presignatures", ready)
    refilled = time.monotonic()
    net.sign(user, [("after", os.urandom(32), 0), ("after-ed", os.urandom(32), 1)])
    assert net.app_secret(user, "vault") == secret_before, "the CKD app secret changed with the resharing"
    # The recovery figure in docs/node.md: from seeing the new epoch to the first signatures of the new epoch, and
    # to every new participant owning presignatures again.
    print(f"\nresharing recovery: requests made at the switch answered {answered - switched:.1f} s after the new "
          f"epoch, every new participant's pool refilled {refilled - switched:.1f} s after it")

    # The departed node deleted its key shares.
    db = sqlite3.connect(net.spec.everyone[0].home / "data" / "assets.sqlite")
    try:
        net.wait("node 0 to delete its shares",
                 lambda: db.execute("SELECT COUNT(*) FROM key_shares").fetchone() == (0,), timeout_s=60)
    finally:
        db.close()

    # With a continuing node stopped only four of the new set remain (t = 4): the joined node must take part.
    assert after["threshold"] == NEW_THRESHOLD
    net.procs.stop(1)
    try:
        net.sign(user, [("joined", os.urandom(32), 0), ("joined-ed", os.urandom(32), 1)])
        assert net.app_secret(user, "vault") == secret_before
    finally:
        net.procs.start(1)


def test_a_keygen_attempt_broken_by_a_restart_is_retried_and_completes(net: Reshare) -> None:
    """A participant stops answering while the first DKG attempt runs (paused, then killed and restarted): the
    others end their run (its link drops) and vote the attempt aborted, the leader starts the next attempt, and the
    domain gets its key; the restarted node does not vote a share of the failed attempt."""
    import signal

    from localnet.chain.keys import SecretKey
    from localnet.rpc.home import read_validator_key
    from localnet.workspaces import connect

    state = net.state()
    running = sorted(p[1] for p in state["participants"]["participants"])
    victim = running[2]  # not the leader (the lowest id)
    new_domain = int(state["next_domain_id"])
    marks = _log_marks(net, running)

    async def vote() -> None:
        worker = connect(net.rpc, read_validator_key(net.network.root_key))
        try:
            for index in running:
                node = net.spec.everyone[index]
                account = worker.account(node.account_id, SecretKey.from_bytes(node.account_keys[0].seed.expose()))
                (await account.call(CONTRACT_ID, "vote_add_domains")
                 .args_json({"domains": [{"id": new_domain, "scheme": "Secp256k1"}]}).gas(300 * 10**12)
                 .transact()).into_result()
        finally:
            await worker.close()

    os.kill(net.procs.procs[victim].pid, signal.SIGSTOP)
    try:
        net.run(vote())
        net.wait("the first DKG attempt to fail", lambda: (s := net.state())["protocol_state"] == "Initializing"
                 and s["generating_key"]["next_attempt_id"] >= 2, timeout_s=240)
    finally:
        net.procs.stop(victim, kill=True)
        net.procs.start(victim)
    net.wait("the new domain keyed", lambda: (s := net.state())["protocol_state"] == "Running"
             and any(d["id"] == new_domain and d.get("public_key") for d in s["domains"]), timeout_s=300)
    started = {e["key_event_id"]["attempt_id"] for e in _log_events(net, marks, "keygen starting")}
    assert max(started) >= 1, started
    failed = _log_events(net, marks, f"keygen of domain {new_domain} failed")
    assert any(victim in e.get("waiting_for", []) for e in failed), "no node named the lost participant"


def _log_marks(net: Reshare, indices: list[int]) -> dict[int, int]:
    return {i: len((net.spec.everyone[i].home / "node.log").read_text().splitlines()) for i in indices}


def _log_events(net: Reshare, marks: dict[int, int], msg: str) -> list[dict[str, Any]]:
    """The JSON log records whose message starts with `msg`, written since `marks`."""
    import json

    events = []
    for index, seen in marks.items():
        for line in (net.spec.everyone[index].home / "node.log").read_text().splitlines()[seen:]:
            if line.startswith("{") and str((event := json.loads(line)).get("msg", "")).startswith(msg):
                events.append(event)
    return events


def test_a_node_lost_mid_reshare_fails_the_attempt_and_the_next_attempt_completes(net: Reshare) -> None:
    """A new participant stops answering while the first reshare attempt runs (paused, then killed and restarted):
    the others end their run (its link drops), vote the attempt aborted, the leader starts the next one, and the
    resharing completes with the keys unchanged."""
    import signal

    before = net.state()
    assert before["protocol_state"] == "Running"
    epoch, keys = before["epoch"], {d["id"]: d["public_key"] for d in before["domains"]}
    ids = sorted(p[1] for p in before["participants"]["participants"])
    victim = ids[2]  # not the leader (the lowest id)
    marks = _log_marks(net, ids)
    ballot = {"prospective_epoch_id": epoch + 1,
              "proposal": {"threshold": THRESHOLD, "participants": before["participants"]}}
    os.kill(net.procs.procs[victim].pid, signal.SIGSTOP)
    try:
        for index in ids:  # the paused node's operator votes too (the vote needs only its key)
            net.vote_new_parameters(index, ballot)
        net.wait("the first reshare attempt to fail", lambda: (s := net.state())["protocol_state"] == "Resharing"
                 and s["resharing_key"]["next_attempt_id"] >= 2, timeout_s=240)
    finally:
        net.procs.stop(victim, kill=True)
        net.procs.start(victim)
    net.wait("the new epoch", lambda: (s := net.state())["protocol_state"] == "Running" and s["epoch"] == epoch + 1,
             timeout_s=300)
    assert {d["id"]: d["public_key"] for d in net.state()["domains"]} == keys, "the public keys changed"
    started = {(e["domain"], e["key_event_id"]["attempt_id"]) for e in _log_events(net, marks, "resharing starting")}
    assert any(d == 0 and a >= 1 for d, a in started), started  # (attempt 0 may fail before its run starts)
    failed = _log_events(net, marks, "resharing of domain 0 failed")
    assert any(victim in e.get("waiting_for", []) for e in failed), "no node named the lost participant"


def test_a_resharing_that_cannot_finish_is_cancelled_and_signing_goes_on(net: Reshare) -> None:
    """A proposal whose new participant is down cannot complete; a threshold of the running participants votes
    `vote_cancel_resharing` (the operators' `python -m mpc_service vote-cancel-resharing`): the running epoch is
    back, no share of the cancelled epoch is kept, and requests are answered."""
    import subprocess
    import sys

    before = net.state()
    assert before["protocol_state"] == "Running"
    epoch, ids = before["epoch"], sorted(p[1] for p in before["participants"]["participants"])
    absent = ids[-1]
    net.procs.stop(absent)
    try:
        ballot = {"prospective_epoch_id": epoch + 1,
                  "proposal": {"threshold": before["threshold"] + 1, "participants": before["participants"]}}
        for index in ids:
            net.vote_new_parameters(index, ballot)
        assert net.state()["protocol_state"] == "Resharing"
        for index in ids[:before["threshold"]]:
            done = subprocess.run([sys.executable, "-m", "mpc_service", "vote-cancel-resharing", "--config",
                                   str(net.spec.everyone[index].config_path)],
                                  capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
            assert done.returncode == 0, done.stderr
        after = net.state()
        assert after["protocol_state"] == "Running" and after["epoch"] == epoch
        assert after["previously_cancelled_resharing_epoch_id"] == epoch + 1
        assert after["participants"] == before["participants"] and after["threshold"] == before["threshold"]
        user = net.new_user()
        net.sign(user, [("cancelled", os.urandom(32), 0), ("cancelled-ed", os.urandom(32), 1)])
        for index in ids[:-1]:
            db = sqlite3.connect(net.spec.everyone[index].home / "data" / "assets.sqlite")
            try:
                epochs = {row[0] for row in db.execute("SELECT DISTINCT epoch FROM key_shares")}
            finally:
                db.close()
            assert epochs == {epoch}, f"node {index} keeps key shares of epochs {epochs}"
    finally:
        net.procs.start(absent)
    net.sign(net.new_user(), [("back", os.urandom(32), 0)])
