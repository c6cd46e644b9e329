"""Views, the reference's derivation vectors, and governance (init, vote_add_domains, start_keygen_instance, vote_pk)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from chainsig.kdf import derive_public_key
from localnet.workspaces import NEAR, TGAS, Worker
from tests.contract.conftest import Deployment, deploy_signer, parameters, submit_sign, wait_event

VECTORS = json.loads((Path(__file__).resolve().parent.parent / "vectors" / "near_kdf.json").read_text())
GOV_GAS = 300 * TGAS
KEY_EVENT_CONFIG = {"key_event_timeout_blocks": 100_000}  # attempts outlive the test (20 ms blocks)


def failure(result: Any) -> str:
    assert result.is_failure, result.status
    return json.dumps(result.failure)


async def test_views(worker: Worker, signer: Deployment) -> None:
    view = signer.contract.view
    domains = signer.network.domains()
    assert (await view("public_key")).json() == domains[0]["public_key"]
    assert (await view("public_key", {"domain_id": 1})).json() == domains[1]["public_key"]
    for domain in (0, 1):
        got = (await view("derived_public_key", {"path": "view-path", "predecessor": "alice.near",
                                                 "domain_id": domain})).json()
        assert got == str(derive_public_key(domains[domain]["public_key"], "alice.near", "view-path"))
    user = await worker.dev_create_account()
    own = await user.call(signer.contract.id, "derived_public_key").args_json({"path": "mine"}).transact()
    assert own.json() == str(derive_public_key(domains[0]["public_key"], user.id, "mine"))  # predecessor by default
    assert (await view("latest_key_version")).json() == 0
    assert (await view("latest_key_version", {"signature_scheme": "Ed25519"})).json() == 1
    state = (await view("state")).json()
    assert state["protocol_state"] == "Running" and state["threshold"] == 2
    assert [p[0] for p in state["participants"]["participants"]] == [a.id for a in signer.participants]
    assert state["domains"] == domains and state["next_domain_id"] == 2
    config = (await view("config")).json()
    assert set(config) == {"sign_call_gas_attachment_requirement_tera_gas",
                           "return_signature_and_clean_state_on_success_call_tera_gas", "fail_on_timeout_tera_gas",
                           "ckd_call_gas_attachment_requirement_tera_gas",
                           "return_ck_and_clean_state_on_success_call_tera_gas", "key_event_timeout_blocks"}
    assert isinstance((await view("version")).json(), str)
    with pytest.raises(Exception, match="was not found"):
        await view("public_key", {"domain_id": 9})


async def test_derived_keys_match_the_reference_vectors(worker: Worker, signer_wasm: bytes) -> None:
    contract = await worker.dev_deploy(signer_wasm)
    nodes = [await worker.dev_create_account() for _ in range(2)]
    roots = [{"id": i, "scheme": "Secp256k1" if v["root"].startswith("secp256k1:") else "Ed25519",
              "public_key": v["root"]} for i, v in enumerate(VECTORS["derived"])]
    (await contract.call("init_running").args_json({"parameters": parameters(nodes), "domains": roots})
     .gas(GOV_GAS).transact()).into_result()
    for domain, vector in enumerate(VECTORS["derived"]):
        got = await contract.view("derived_public_key", {"path": vector["path"], "predecessor": vector["predecessor"],
                                                         "domain_id": domain})
        assert got.json() == vector["public_key"]


async def test_governance_init_add_domains_and_keygen_votes(worker: Worker, signer_wasm: bytes) -> None:
    d = await deploy_signer(worker, signer_wasm, None)
    contract, nodes, net = d.contract, d.participants, d.network
    outsider = await worker.dev_create_account()

    bad_params: list[tuple[dict[str, Any], str]] = [
        (parameters(nodes, threshold=1), "below 60%"),
        (parameters(nodes, threshold=4), "exceeds"),
        (parameters(nodes[:1], threshold=1), "at least 2 participants"),
        ({"threshold": 2, "participants": {"next_id": 1, "participants": parameters(nodes)["participants"]
                                           ["participants"]}}, "must be below next_id"),
    ]
    for params, expected in bad_params:
        assert expected in failure(await contract.call("init").args_json({"parameters": params}).transact())
    not_owner = await outsider.call(contract.id, "init").args_json({"parameters": parameters(nodes)}).transact()
    assert "Method is private" in failure(not_owner)
    (await contract.call("init").args_json({"parameters": parameters(nodes), "init_config": KEY_EVENT_CONFIG})
     .transact()).into_result()
    again = await contract.call("init").args_json({"parameters": parameters(nodes)}).transact()
    assert "already initialized" in failure(again)
    state = (await contract.view("state")).json()
    assert state["protocol_state"] == "Running" and state["domains"] == []

    user = await worker.dev_create_account()
    no_domain = await user.call(contract.id, "sign").args_json(
        {"request": {"path": "p", "payload_v2": {"Ecdsa": os.urandom(32).hex()}, "domain_id": 0}}) \
        .deposit(1).gas(50 * TGAS).transact()
    assert "The provided domain ID, 0, was not found." in failure(no_domain)

    proposal = {"domains": [{"id": 0, "scheme": "Secp256k1"}, {"id": 1, "scheme": "Ed25519"}]}
    assert "not a participant" in failure(await outsider.call(contract.id, "vote_add_domains")
                                          .args_json(proposal).transact())
    wrong_id = {"domains": [{"id": 5, "scheme": "Secp256k1"}]}
    assert "Invalid domain id" in failure(await nodes[0].call(contract.id, "vote_add_domains")
                                          .args_json(wrong_id).transact())
    for i, node in enumerate(nodes):
        result = await node.call(contract.id, "vote_add_domains").args_json(proposal).transact()
        assert result.json() is (i == len(nodes) - 1)
    again_vote = await nodes[0].call(contract.id, "vote_add_domains").args_json(proposal).transact()
    assert "not Running" in failure(again_vote)
    state = (await contract.view("state")).json()
    assert state["protocol_state"] == "Initializing"
    assert state["generating_key"]["key_event_id"] is None  # the leader starts attempt 0 first
    assert state["generating_key"]["next_attempt_id"] == 0 and state["generating_key"]["domain_id"] == 0
    assert state["next_domain_id"] == 2

    keys = net.domains()
    next_id = {"epoch_id": 0, "domain_id": 0, "attempt_id": 0}
    not_started = {"key_event_id": next_id, "public_key": keys[0]["public_key"]}
    assert "no active key event instance" in failure(await nodes[0].call(contract.id, "vote_pk")
                                                     .args_json(not_started).gas(GOV_GAS).transact())
    assert state["generating_key"]["leader"] == nodes[0].id
    (await nodes[0].call(contract.id, "start_keygen_instance").args_json({"key_event_id": next_id})
     .transact()).into_result()
    event_id = (await contract.view("state")).json()["generating_key"]["key_event_id"]
    assert event_id == next_id
    wrong_event = {"key_event_id": dict(event_id, domain_id=1), "public_key": keys[0]["public_key"]}
    assert "Key event Id mismatch" in failure(await nodes[0].call(contract.id, "vote_pk").args_json(wrong_event)
                                              .gas(GOV_GAS).transact())
    vote = {"key_event_id": event_id, "public_key": keys[0]["public_key"]}
    (await nodes[0].call(contract.id, "vote_pk").args_json(vote).gas(GOV_GAS).transact()).into_result()
    (await nodes[0].call(contract.id, "vote_pk").args_json(vote).gas(GOV_GAS).transact()).into_result()  # idempotent
    bad_key = await nodes[1].call(contract.id, "vote_pk").args_json(dict(vote, public_key="secp256k1:abc")) \
        .gas(GOV_GAS).transact()
    assert "Invalid public key for Secp256k1" in failure(bad_key)
    for node in nodes[1:]:
        (await node.call(contract.id, "vote_pk").args_json(vote).gas(GOV_GAS).transact()).into_result()
    state = (await contract.view("state")).json()
    assert state["protocol_state"] == "Initializing" and state["domains"] == [keys[0]]
    assert state["generating_key"]["key_event_id"] is None and state["generating_key"]["domain_id"] == 1
    event_id = {"epoch_id": 0, "domain_id": 1, "attempt_id": 0}
    (await nodes[0].call(contract.id, "start_keygen_instance").args_json({"key_event_id": event_id})
     .transact()).into_result()
    for node in nodes:
        result = await node.call(contract.id, "vote_pk").args_json(
            {"key_event_id": event_id, "public_key": keys[1]["public_key"]}).gas(GOV_GAS).transact()
        result.into_result()
    state = (await contract.view("state")).json()
    assert state["protocol_state"] == "Running" and state["domains"] == keys and "generating_key" not in state
    assert (await contract.view("public_key", {"domain_id": 1})).json() == keys[1]["public_key"]

    # The voted key signs: a full round trip on the new domain.
    pending = await submit_sign(user, contract.id, {"path": "gov", "payload_v2": {"Ecdsa": os.urandom(32).hex()}})
    request = (await wait_event(pending))["request"]
    (await nodes[1].call(contract.id, "respond").args_json({"request": request, "response": net.respond(request)})
     .gas(100 * TGAS).transact()).into_result()
    assert (await pending.wait()).json()["scheme"] == "Secp256k1"

    # Configurable minimum gas.
    (await contract.call("update_config").args_json(
        {"config": {"sign_call_gas_attachment_requirement_tera_gas": 40}}).transact()).into_result()
    assert (await contract.view("config")).json()["sign_call_gas_attachment_requirement_tera_gas"] == 40
    low = await user.call(contract.id, "sign").args_json(
        {"request": {"path": "p", "payload_v2": {"Ecdsa": os.urandom(32).hex()}}}).deposit(NEAR).gas(35 * TGAS).transact()
    assert f"required: {40 * TGAS}" in failure(low)
