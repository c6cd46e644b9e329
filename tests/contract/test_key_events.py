"""Keygen under the key-event attempt model: leader start, votes, timeout -> next attempt, abort, public-key
disagreement, cancel keygen; every transition's NEP-297 event."""

from __future__ import annotations

from typing import Any

from localnet.workspaces import NEAR, Worker
from tests.contract.conftest import deploy_signer, parameters
from tests.contract.governance import TIMEOUT_BLOCKS, emitted, ok, refused, state
from tests.contract.network import Network


def kid(domain: int, attempt: int, epoch: int = 0) -> dict[str, int]:
    return {"epoch_id": epoch, "domain_id": domain, "attempt_id": attempt}


async def test_keygen_attempts_timeout_abort_disagreement_and_cancel(worker: Worker, signer_wasm: bytes) -> None:
    d = await deploy_signer(worker, signer_wasm, None)
    contract, nodes, net = d.contract, d.participants, d.network
    cid = contract.id
    leader, second, third = nodes
    outsider = await worker.dev_create_account()
    keys = net.domains()
    (await contract.call("init").args_json({"parameters": parameters(nodes),
                                            "init_config": {"key_event_timeout_blocks": TIMEOUT_BLOCKS}})
     .transact()).into_result()
    assert (await contract.view("config")).json()["key_event_timeout_blocks"] == TIMEOUT_BLOCKS

    proposal = {"domains": [{"id": 0, "scheme": "Secp256k1"}, {"id": 1, "scheme": "Ed25519"}]}
    assert "doesn't accept deposit" in await refused(leader, cid, "vote_add_domains", proposal, deposit=1)
    for node in nodes[:-1]:
        assert await ok(node, cid, "vote_add_domains", proposal) is False
    result = await third.call(cid, "vote_add_domains").args_json(proposal).transact()
    assert result.json() is True
    (started,) = emitted(result, "keygen_started")
    assert started == {"epoch_id": 0, "domains": proposal["domains"], "leader": leader.id}

    view = await state(contract)
    gen = view["generating_key"]
    assert view["protocol_state"] == "Initializing" and view["next_domain_id"] == 2
    assert gen["key_event_id"] is None and gen["next_attempt_id"] == 0 and gen["leader"] == leader.id
    assert gen["domain_id"] == 0 and gen["scheme"] == "Secp256k1" and gen["queued_domains"] == proposal["domains"][1:]

    # Nothing runs before the leader starts an attempt; only the leader starts, and only the next attempt.
    vote0 = {"key_event_id": kid(0, 0), "public_key": keys[0]["public_key"]}
    assert "no active key event instance" in await refused(second, cid, "vote_pk", vote0)
    assert "not the leader" in await refused(second, cid, "start_keygen_instance", {"key_event_id": kid(0, 0)})
    assert "Caller is not a participant" in await refused(outsider, cid, "start_keygen_instance",
                                                          {"key_event_id": kid(0, 0)})
    assert "Key event Id mismatch" in await refused(leader, cid, "start_keygen_instance", {"key_event_id": kid(0, 1)})
    assert "Invalid key_event_id" in await refused(leader, cid, "start_keygen_instance", {"key_event_id": [0, 0, 0]})
    assert "doesn't accept deposit" in await refused(leader, cid, "start_keygen_instance",
                                                     {"key_event_id": kid(0, 0)}, deposit=NEAR)

    # Attempt 0: one node votes, then the attempt times out (e.g. a node restarted mid-DKG).
    result = await leader.call(cid, "start_keygen_instance").args_json({"key_event_id": kid(0, 0)}).transact()
    (event,) = emitted(result, "key_event_started")
    assert event["kind"] == "keygen" and event["key_event_id"] == kid(0, 0) and event["timed_out"] is None
    assert "still active" in await refused(leader, cid, "start_keygen_instance", {"key_event_id": kid(0, 1)})
    gen = (await state(contract))["generating_key"]
    assert gen["key_event_id"] == kid(0, 0) and gen["next_attempt_id"] == 1
    assert gen["instance"]["expires_on"] == event["expires_on"]
    assert gen["instance"]["expires_on"] - gen["instance"]["started_in"] == TIMEOUT_BLOCKS + 1
    assert "Caller is not a participant" in await refused(outsider, cid, "vote_pk", vote0)
    assert "doesn't accept deposit" in await refused(second, cid, "vote_pk", vote0, deposit=1)
    assert await ok(second, cid, "vote_pk", vote0) == "Initializing"
    assert (await state(contract))["generating_key"]["votes"] == {second.id: keys[0]["public_key"]}
    await worker.fast_forward(TIMEOUT_BLOCKS + 2)
    assert "no active key event instance" in await refused(third, cid, "vote_pk", vote0)
    gen = (await state(contract))["generating_key"]
    assert gen["key_event_id"] is None and gen["instance"]["timed_out"] is True and gen["votes"] == {}

    # The timed-out attempt is noticed by the next start, which begins attempt 1.
    result = await leader.call(cid, "start_keygen_instance").args_json({"key_event_id": kid(0, 1)}).transact()
    (event,) = emitted(result, "key_event_started")
    assert event["key_event_id"] == kid(0, 1) and event["timed_out"] == kid(0, 0)
    vote1 = {"key_event_id": kid(0, 1), "public_key": keys[0]["public_key"]}
    assert "Key event Id mismatch" in await refused(third, cid, "vote_pk", vote0)  # the old attempt's vote

    # Abort by vote: a participant that has not voted success ends attempt 1; one that has cannot.
    await ok(leader, cid, "vote_pk", vote1)
    assert "Vote already casted." in await refused(leader, cid, "vote_abort_key_event_instance",
                                                   {"key_event_id": kid(0, 1)})
    assert "Caller is not a participant" in await refused(outsider, cid, "vote_abort_key_event_instance",
                                                          {"key_event_id": kid(0, 1)})
    result = await second.call(cid, "vote_abort_key_event_instance").args_json({"key_event_id": kid(0, 1)}).transact()
    assert emitted(result, "key_event_aborted") == [{"kind": "keygen", "key_event_id": kid(0, 1), "reason": "vote",
                                                     "by": second.id}]
    gen = (await state(contract))["generating_key"]
    assert gen["key_event_id"] is None and gen["instance"] is None and gen["next_attempt_id"] == 2

    # Attempt 2: two different keys voted -> the attempt aborts (the transaction itself succeeds).
    await ok(leader, cid, "start_keygen_instance", {"key_event_id": kid(0, 2)})
    await ok(leader, cid, "vote_pk", {"key_event_id": kid(0, 2), "public_key": keys[0]["public_key"]})
    other = Network.generate().domains()[0]["public_key"]
    result = await second.call(cid, "vote_pk").args_json({"key_event_id": kid(0, 2), "public_key": other}).transact()
    assert result.json() == "Initializing"
    (aborted,) = emitted(result, "key_event_aborted")
    assert aborted["reason"] == "public_key_disagreement" and aborted["key_event_id"] == kid(0, 2)
    assert (await state(contract))["generating_key"]["instance"] is None

    # Attempt 3 completes: the domain gets the key voted by everyone, keygen moves on to domain 1.
    await ok(leader, cid, "start_keygen_instance", {"key_event_id": kid(0, 3)})
    vote3 = {"key_event_id": kid(0, 3), "public_key": keys[0]["public_key"]}
    await ok(leader, cid, "vote_pk", vote3)
    await ok(leader, cid, "vote_pk", vote3)  # a repeated vote changes nothing
    await ok(second, cid, "vote_pk", vote3)
    result = await third.call(cid, "vote_pk").args_json(vote3).transact()
    assert emitted(result, "key_generated") == [{"key_event_id": kid(0, 3), "public_key": keys[0]["public_key"]}]
    view = await state(contract)
    assert view["domains"] == [keys[0]] and view["generating_key"]["domain_id"] == 1
    assert view["generating_key"]["next_attempt_id"] == 0 and view["generating_key"]["queued_domains"] == []
    assert (await contract.view("public_key", {"domain_id": 0})).json() == keys[0]["public_key"]

    # Cancel keygen: threshold (2) participants; the domain without a key is dropped and its id not reused.
    assert "Next domain ID mismatch" in await refused(leader, cid, "vote_cancel_keygen", {"next_domain_id": 1})
    assert "Caller is not a participant" in await refused(outsider, cid, "vote_cancel_keygen", {"next_domain_id": 2})
    assert "doesn't accept deposit" in await refused(leader, cid, "vote_cancel_keygen", {"next_domain_id": 2},
                                                     deposit=1)
    assert await ok(leader, cid, "vote_cancel_keygen", {"next_domain_id": 2}) is False
    assert await ok(leader, cid, "vote_cancel_keygen", {"next_domain_id": 2}) is False  # counted once
    assert (await state(contract))["cancel_keygen_votes"] == [leader.id]
    result = await second.call(cid, "vote_cancel_keygen").args_json({"next_domain_id": 2}).transact()
    assert result.json() is True
    assert emitted(result, "keygen_cancelled") == [{"epoch_id": 0, "dropped_domains": [1], "next_domain_id": 2}]
    view = await state(contract)
    assert view["protocol_state"] == "Running" and view["domains"] == [keys[0]] and view["next_domain_id"] == 2
    assert "generating_key" not in view and view["epoch"] == 0
    assert b"x" not in await contract.view_state(b"x")
    assert "Protocol state is not initializing" in await refused(leader, cid, "vote_cancel_keygen",
                                                                 {"next_domain_id": 2})
    assert "not initializing, nor resharing" in await refused(leader, cid, "vote_abort_key_event_instance",
                                                              {"key_event_id": kid(1, 0)})
    # Domain ids continue after the dropped one.
    retry: dict[str, Any] = {"domains": [{"id": 1, "scheme": "Ed25519"}]}
    assert "Invalid domain id: expected 2" in await refused(leader, cid, "vote_add_domains", retry)


async def test_update_config_key_event_timeout(worker: Worker, signer_wasm: bytes) -> None:
    d = await deploy_signer(worker, signer_wasm, Network.generate())
    contract = d.contract
    assert (await contract.view("config")).json()["key_event_timeout_blocks"] == 30  # the reference's default
    bad = await contract.call("update_config").args_json({"config": {"key_event_timeout_blocks": 0}}).transact()
    assert bad.is_failure and "key_event_timeout_blocks must be an integer" in str(bad.failure)
    (await contract.call("update_config").args_json({"config": {"key_event_timeout_blocks": 500}})
     .transact()).into_result()
    assert (await contract.view("config")).json()["key_event_timeout_blocks"] == 500
