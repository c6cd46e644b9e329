"""Resharing: vote_new_parameters (who may vote, every malformed proposal), the Resharing state per domain,
signing throughout (old participants answer while Resharing, requests pending at the switch are answered by
the new ones), cancel, re-proposal, abort and timeout of reshare attempts, and the events of each step."""

from __future__ import annotations

import os
from typing import Any

from localnet.workspaces import Account, Contract, Worker
from tests.contract.conftest import deploy_signer, parameters, submit_sign, wait_event
from tests.contract.governance import TIMEOUT_BLOCKS, emitted, ok, participant_entry, refused, state
from tests.contract.network import Network


def kid(epoch: int, domain: int, attempt: int) -> dict[str, int]:
    return {"epoch_id": epoch, "domain_id": domain, "attempt_id": attempt}


def proposal_of(threshold: int, next_id: int, entries: list[list[Any]]) -> dict[str, Any]:
    return {"threshold": threshold, "participants": {"next_id": next_id, "participants": entries}}


async def running_signer(worker: Worker, wasm: bytes, net: Network | None) -> tuple[Contract, list[Account]]:
    """A fresh signer, Running with 3 participants (threshold 2) and, given `net`, its two domains."""
    d = await deploy_signer(worker, wasm, None)
    args: dict[str, Any] = {"parameters": parameters(d.participants),
                            "init_config": {"key_event_timeout_blocks": TIMEOUT_BLOCKS}}
    if net is not None:
        args["domains"] = net.domains()
    (await d.contract.call("init_running" if net is not None else "init").args_json(args).gas(300 * 10**12)
     .transact()).into_result()
    return d.contract, d.participants


async def sign_request(user: Account, contract_id: str) -> tuple[Any, dict[str, Any]]:
    pending = await submit_sign(user, contract_id, {"path": "reshare", "payload_v2": {"Ecdsa": os.urandom(32).hex()}})
    return pending, (await wait_event(pending))["request"]


async def test_full_reshare(worker: Worker, signer_wasm: bytes) -> None:
    net = Network.generate()
    contract, nodes = await running_signer(worker, signer_wasm, net)
    cid = contract.id
    n0, n1, n2 = nodes
    newcomer, outsider, user = [await worker.dev_create_account() for _ in range(3)]
    old = parameters(nodes)["participants"]["participants"]  # ids 0, 1, 2; next_id 3; threshold 2
    # n2 leaves, newcomer joins with the next id, the threshold goes from 2 to 3.
    proposal = proposal_of(3, 4, [old[0], old[1], participant_entry(newcomer, 3)])
    vote = {"prospective_epoch_id": 1, "proposal": proposal}

    changed_info = [old[0], [n1.id, 1, {"tls_public_key": old[1][2]["tls_public_key"], "url": "http://127.0.0.1:1"}]]
    malformed: list[tuple[dict[str, Any], str]] = [
        ({"prospective_epoch_id": 0, "proposal": proposal}, "Provided Epoch Id, 0, does not match expected, 1."),
        ({"prospective_epoch_id": 2, "proposal": proposal}, "Provided Epoch Id, 2, does not match expected, 1."),
        ({"prospective_epoch_id": 1.0, "proposal": proposal}, "Provided Epoch Id, 1.0, does not match expected, 1."),
        ({"prospective_epoch_id": 1, "proposal": [proposal]}, "Invalid proposal"),
        ({"prospective_epoch_id": 1, "proposal": dict(proposal, threshold=1)}, "below 60%"),
        ({"prospective_epoch_id": 1, "proposal": dict(proposal, threshold=4)}, "exceeds the 3 participants"),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(1, 3, [old[0]])}, "at least 2 participants"),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(3, 5, [old[0], old[1], participant_entry(newcomer, 3),
                                                                    participant_entry(newcomer, 4)])},
         "Duplicate participant account: " + newcomer.id),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(3, 4, [old[0], old[1], participant_entry(newcomer, 3),
                                                                    participant_entry(outsider, 3)])},
         "Duplicate participant id: 3"),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(3, 5, [old[0], [n1.id, 4, old[1][2]],
                                                                    participant_entry(newcomer, 3)])},
         f"Existing participant {n1.id} changed ID from 1 to 4."),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(2, 3, changed_info)}, "changed info (url or tls_public_key)"),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(2, 4, [old[0], old[1], [newcomer.id, 3,
                                                                                     {"tls_public_key": "abc",
                                                                                      "url": "http://x:1"}]])},
         "tls_public_key must be an ed25519:<base58 32 bytes> key"),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(2, 4, [old[0], old[1], [newcomer.id, 3, {"url": "u"}]])},
         "Invalid participant info for " + newcomer.id),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(2, 4, [old[0], old[1], newcomer.id])},
         "Invalid participant entry"),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(2, 3, [old[0], old[1], participant_entry(newcomer, 2)])},
         f"New participant {newcomer.id} reuses ID 2 already assigned to existing participant {n2.id}."),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(3, 5, [old[0], old[1], participant_entry(newcomer, 4)])},
         "New Participant ids need to be unique and contiguous, starting at next_id 3."),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(3, 6, [old[0], old[1], participant_entry(newcomer, 3)])},
         "New Participant ids need to not skip any unused participant ids"),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(3, 3, [old[0], old[1], participant_entry(newcomer, 3)])},
         "must be below next_id"),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(2, 4, [old[0], participant_entry(newcomer, 3)])},
         "must contain at least `threshold` old participants (threshold 2, found 1)"),
        ({"prospective_epoch_id": 1, "proposal": proposal_of(2, 2, [old[0], old[1]])}, "next_id: it must not decrease"),
    ]
    for args, expected in malformed:
        assert expected in await refused(n0, cid, "vote_new_parameters", args), expected
    assert "neither a participant nor named in the proposal" in await refused(outsider, cid, "vote_new_parameters",
                                                                              vote)
    assert "doesn't accept deposit" in await refused(n0, cid, "vote_new_parameters", vote, deposit=1)
    assert "Candidates can only cast a vote after `threshold` participants" in await refused(
        newcomer, cid, "vote_new_parameters", vote)

    # Current participants admit the candidate; the leaving participant may vote too.
    assert await ok(n0, cid, "vote_new_parameters", vote) is False
    view = await state(contract)
    assert view["parameters_votes"] == {n0.id: vote} and view["protocol_state"] == "Running"
    assert "Candidates can only cast a vote" in await refused(newcomer, cid, "vote_new_parameters", vote)
    assert await ok(n1, cid, "vote_new_parameters", vote) is False
    assert await ok(n2, cid, "vote_new_parameters", vote) is False
    result = await newcomer.call(cid, "vote_new_parameters").args_json(vote).transact()
    assert result.json() is True
    assert emitted(result, "resharing_started") == [{"epoch_id": 0, "prospective_epoch_id": 1, "proposal": proposal,
                                                     "leader": n0.id, "replaces_previous_proposal": False}]

    view = await state(contract)
    assert view["protocol_state"] == "Resharing" and view["epoch"] == 0 and view["prospective_epoch_id"] == 1
    assert view["proposal"] == proposal and view["threshold"] == 2
    assert view["participants"] == parameters(nodes)["participants"]  # the running (old) set signs meanwhile
    assert view["domain_progress"] == [{"domain_id": 0, "status": "resharing"}, {"domain_id": 1, "status": "pending"}]
    key = view["resharing_key"]
    assert key["leader"] == n0.id and key["key_event_id"] is None and key["epoch_id"] == 1 and key["domain_id"] == 0
    assert view["parameters_votes"] == {} and view["domains"] == net.domains()
    assert "The protocol is not Running." in await refused(n0, cid, "vote_add_domains",
                                                           {"domains": [{"id": 2, "scheme": "Ed25519"}]})
    assert "Protocol state is not initializing." in await refused(n0, cid, "start_keygen_instance",
                                                                  {"key_event_id": kid(0, 2, 0)})

    # Signing goes on: a leaving (old) participant answers with the old shares; a newcomer cannot yet.
    pending, request = await sign_request(user, cid)
    assert "Caller is not a participant: " + newcomer.id in await refused(
        newcomer, cid, "respond", {"request": request, "response": net.respond(request)})
    await ok(n2, cid, "respond", {"request": request, "response": net.respond(request)})
    assert (await pending.wait()).json()["scheme"] == "Secp256k1"

    # Domain 0: the new set's leader starts, every new participant votes.
    assert "not the leader" in await refused(newcomer, cid, "start_reshare_instance", {"key_event_id": kid(1, 0, 0)})
    assert "Caller is not a participant: " + n2.id in await refused(n2, cid, "start_reshare_instance",
                                                                     {"key_event_id": kid(1, 0, 0)})
    assert "Key event Id mismatch" in await refused(n0, cid, "start_reshare_instance", {"key_event_id": kid(0, 0, 0)})
    assert "doesn't accept deposit" in await refused(n0, cid, "start_reshare_instance",
                                                     {"key_event_id": kid(1, 0, 0)}, deposit=1)
    result = await n0.call(cid, "start_reshare_instance").args_json({"key_event_id": kid(1, 0, 0)}).transact()
    (started,) = emitted(result, "key_event_started")
    assert started["kind"] == "reshare" and started["key_event_id"] == kid(1, 0, 0)
    assert (await state(contract))["resharing_key"]["key_event_id"] == kid(1, 0, 0)
    for account in (n2, outsider):
        assert "Caller is not a participant: " + account.id in await refused(account, cid, "vote_reshared",
                                                                            {"key_event_id": kid(1, 0, 0)})
    assert "doesn't accept deposit" in await refused(n0, cid, "vote_reshared", {"key_event_id": kid(1, 0, 0)},
                                                     deposit=1)
    assert await ok(n0, cid, "vote_reshared", {"key_event_id": kid(1, 0, 0)}) == "Resharing"
    assert await ok(n1, cid, "vote_reshared", {"key_event_id": kid(1, 0, 0)}) == "Resharing"
    result = await newcomer.call(cid, "vote_reshared").args_json({"key_event_id": kid(1, 0, 0)}).transact()
    assert emitted(result, "domain_reshared") == [{"key_event_id": kid(1, 0, 0),
                                                   "public_key": net.domains()[0]["public_key"]}]
    view = await state(contract)
    assert view["protocol_state"] == "Resharing"
    assert view["domain_progress"] == [{"domain_id": 0, "status": "reshared"}, {"domain_id": 1, "status": "resharing"}]
    assert view["resharing_key"]["domain_id"] == 1 and view["resharing_key"]["key_event_id"] is None
    assert view["resharing_key"]["next_attempt_id"] == 0

    # Domain 1; a request is pending when the new epoch starts.
    await ok(n0, cid, "start_reshare_instance", {"key_event_id": kid(1, 1, 0)})
    await ok(n0, cid, "vote_reshared", {"key_event_id": kid(1, 1, 0)})
    await ok(n1, cid, "vote_reshared", {"key_event_id": kid(1, 1, 0)})
    pending, request = await sign_request(user, cid)
    result = await newcomer.call(cid, "vote_reshared").args_json({"key_event_id": kid(1, 1, 0)}).transact()
    assert result.json() == "Running"
    assert len(emitted(result, "domain_reshared")) == 1
    assert emitted(result, "resharing_completed") == [{"previous_epoch_id": 0, "epoch_id": 1, "threshold": 3,
                                                       "participants": proposal["participants"]}]
    # The new participants answer the request that was pending at the switch; the one that left cannot.
    assert "Caller is not a participant: " + n2.id in await refused(
        n2, cid, "respond", {"request": request, "response": net.respond(request)})
    await ok(newcomer, cid, "respond", {"request": request, "response": net.respond(request)})
    assert (await pending.wait()).json()["scheme"] == "Secp256k1"

    view = await state(contract)
    assert view["protocol_state"] == "Running" and view["epoch"] == 1 and view["threshold"] == 3
    assert view["participants"] == proposal["participants"]
    assert view["domains"] == net.domains()  # public keys unchanged
    assert "prospective_epoch_id" not in view and "resharing_key" not in view
    for domain in (0, 1):
        assert (await contract.view("public_key", {"domain_id": domain})).json() == net.domains()[domain]["public_key"]
    assert await contract.view_state(b"x") == {} and await contract.view_state(b"v") == {}
    assert "Protocol state is not resharing." in await refused(n0, cid, "vote_reshared", {"key_event_id": kid(1, 1, 0)})
    assert "does not match expected, 2." in await refused(n0, cid, "vote_new_parameters", vote)


async def test_cancel_reproposal_abort_and_timeout(worker: Worker, signer_wasm: bytes) -> None:
    net = Network.generate()
    contract, nodes = await running_signer(worker, signer_wasm, net)
    cid = contract.id
    n0, n1, n2 = nodes
    newcomer, user = [await worker.dev_create_account() for _ in range(2)]
    old = parameters(nodes)["participants"]["participants"]
    grow = {"prospective_epoch_id": 1, "proposal": proposal_of(3, 4, [*old, participant_entry(newcomer, 3)])}
    for account in (n0, n1, newcomer):
        assert await ok(account, cid, "vote_new_parameters", grow) is False  # n2, a proposed participant, is missing
    assert await ok(n2, cid, "vote_new_parameters", grow) is True
    assert (await state(contract))["prospective_epoch_id"] == 1

    # A re-proposal while Resharing (for prospective epoch + 1) replaces the running one.
    assert "does not match expected, 2." in await refused(n0, cid, "vote_new_parameters", grow)
    same_set = {"prospective_epoch_id": 2, "proposal": proposal_of(3, 3, old)}
    assert "neither a participant nor named in the proposal" in await refused(newcomer, cid, "vote_new_parameters",
                                                                              same_set)
    await ok(n0, cid, "vote_new_parameters", same_set)
    await ok(n1, cid, "vote_new_parameters", same_set)
    result = await n2.call(cid, "vote_new_parameters").args_json(same_set).transact()
    assert result.json() is True
    (started,) = emitted(result, "resharing_started")
    assert started["prospective_epoch_id"] == 2 and started["replaces_previous_proposal"] is True
    view = await state(contract)
    assert view["prospective_epoch_id"] == 2 and view["proposal"] == same_set["proposal"]
    assert view["resharing_key"]["epoch_id"] == 2 and view["epoch"] == 0

    # Abort by vote, then a timed-out attempt; each time the leader starts the next attempt.
    await ok(n0, cid, "start_reshare_instance", {"key_event_id": kid(2, 0, 0)})
    result = await n1.call(cid, "vote_abort_key_event_instance").args_json({"key_event_id": kid(2, 0, 0)}).transact()
    assert emitted(result, "key_event_aborted") == [{"kind": "reshare", "key_event_id": kid(2, 0, 0),
                                                     "reason": "vote", "by": n1.id}]
    assert (await state(contract))["resharing_key"]["instance"] is None
    await ok(n0, cid, "start_reshare_instance", {"key_event_id": kid(2, 0, 1)})
    await ok(n1, cid, "vote_reshared", {"key_event_id": kid(2, 0, 1)})
    await worker.fast_forward(TIMEOUT_BLOCKS + 2)
    assert "no active key event instance" in await refused(n2, cid, "vote_reshared", {"key_event_id": kid(2, 0, 1)})
    assert (await state(contract))["resharing_key"]["instance"]["timed_out"] is True
    result = await n0.call(cid, "start_reshare_instance").args_json({"key_event_id": kid(2, 0, 2)}).transact()
    (started,) = emitted(result, "key_event_started")
    assert started["timed_out"] == kid(2, 0, 1) and started["key_event_id"] == kid(2, 0, 2)

    # Cancel: threshold (2) participants of the running epoch go back to it; the epoch id 2 is spent.
    assert "Caller is not a participant: " + newcomer.id in await refused(newcomer, cid, "vote_cancel_resharing")
    assert "doesn't accept deposit" in await refused(n0, cid, "vote_cancel_resharing", deposit=1)
    assert await ok(n0, cid, "vote_cancel_resharing") is False
    assert await ok(n0, cid, "vote_cancel_resharing") is False  # counted once
    assert (await state(contract))["cancel_resharing_votes"] == [n0.id]
    result = await n1.call(cid, "vote_cancel_resharing").args_json({}).transact()
    assert result.json() is True
    assert emitted(result, "resharing_cancelled") == [{"epoch_id": 0, "cancelled_epoch_id": 2}]
    view = await state(contract)
    assert view["protocol_state"] == "Running" and view["epoch"] == 0 and view["threshold"] == 2
    assert view["participants"] == parameters(nodes)["participants"] and view["domains"] == net.domains()
    assert view["previously_cancelled_resharing_epoch_id"] == 2 and "proposal" not in view
    assert "Protocol state is not resharing." in await refused(n0, cid, "vote_cancel_resharing")
    assert "does not match expected, 3." in await refused(n0, cid, "vote_new_parameters", grow)

    # And signing still works.
    pending, request = await sign_request(user, cid)
    await ok(n0, cid, "respond", {"request": request, "response": net.respond(request)})
    assert (await pending.wait()).json()["scheme"] == "Secp256k1"


async def test_new_parameters_without_domains_take_effect_at_once(worker: Worker, signer_wasm: bytes) -> None:
    contract, nodes = await running_signer(worker, signer_wasm, None)
    newcomer = await worker.dev_create_account()
    old = parameters(nodes)["participants"]["participants"]
    vote = {"prospective_epoch_id": 1, "proposal": proposal_of(3, 4, [*old, participant_entry(newcomer, 3)])}
    for account in nodes:
        assert await ok(account, contract.id, "vote_new_parameters", vote) is False
    result = await newcomer.call(contract.id, "vote_new_parameters").args_json(vote).transact()
    assert result.json() is True
    assert emitted(result, "resharing_completed") == [{"previous_epoch_id": 0, "epoch_id": 1, "threshold": 3,
                                                       "participants": vote["proposal"]["participants"]}]
    view = await state(contract)
    assert view["protocol_state"] == "Running" and view["epoch"] == 1
    assert view["participants"] == vote["proposal"]["participants"] and view["domains"] == []
