"""The example caller contract: signs for its users through a cross-contract `sign`, success and timeout."""

from __future__ import annotations

import json
import os

import coincurve

from chainsig.kdf import derive_public_key
from chainsig.keys import Secp256k1PublicKey
from localnet.workspaces import NEAR, TGAS, Worker
from tests.contract.conftest import Deployment, wait_event


async def test_caller_contract_success_and_timeout(worker: Worker, signer: Deployment, caller_wasm: bytes) -> None:
    caller = await worker.dev_deploy(caller_wasm)
    (await caller.call("init").args_json({"signer_id": signer.contract.id}).transact()).into_result()
    user = await worker.dev_create_account(initial_balance=20 * NEAR)
    payload = os.urandom(32)
    before = int((await user.view_account())["amount"])
    pending = await user.call(caller.id, "request_signature").args_json(
        {"path": "wallet", "payload": payload.hex()}).deposit(NEAR).gas(150 * TGAS).transact_async()
    item = await wait_event(pending)
    assert item["caller"] == caller.id
    response = signer.network.respond(item["request"])
    (await signer.participants[0].call(signer.contract.id, "respond").args_json(
        {"request": item["request"], "response": response}).gas(100 * TGAS).transact()).into_result()
    result = await pending.wait()
    sig = result.json()
    rsv = bytes.fromhex(sig["big_r"]["affine_point"])[1:] + bytes.fromhex(sig["s"]["scalar"]) + bytes([sig["recovery_id"]])
    recovered = coincurve.PublicKey.from_signature_and_message(rsv, payload, hasher=None).format(compressed=False)[1:]
    expected = derive_public_key(signer.network.domains()[0]["public_key"], caller.id, f"{user.id}/wallet")
    assert isinstance(expected, Secp256k1PublicKey) and recovered == expected.xy
    assert (await caller.view("last_signature", {"account_id": user.id})).json() == sig
    spent = before - int((await user.view_account())["amount"])
    assert spent < NEAR // 100, "the caller refunds all but the 1 yocto it forwards"

    timed_out = await user.call(caller.id, "request_signature").args_json(
        {"path": "wallet", "payload": os.urandom(32).hex()}).deposit(1).gas(150 * TGAS).transact_async()
    await wait_event(timed_out)
    await worker.fast_forward(200)
    outcome = await timed_out.wait()
    assert outcome.json() == {"error": "signature request failed or timed out"}
    assert "Request has timed out." in json.dumps(outcome.raw)
