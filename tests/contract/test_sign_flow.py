"""sign -> respond -> the caller's transaction returns the signature (secp256k1 and Ed25519)."""

from __future__ import annotations

import os

import coincurve
from nacl.signing import VerifyKey

from chainsig.kdf import derive_public_key, derive_tweak
from chainsig.keys import Ed25519PublicKey, Secp256k1PublicKey
from localnet.workspaces import NEAR, Worker
from mpc_service.chain.events import PendingSignRequest, parse_event_log
from tests.contract.conftest import Deployment, submit_sign, wait_event
from tests.contract.network import events


async def test_secp256k1_sign_respond(worker: Worker, signer: Deployment) -> None:
    user = await worker.dev_create_account(initial_balance=20 * NEAR)
    before = int((await user.view_account())["amount"])
    payload = os.urandom(32)
    pending = await submit_sign(user, signer.contract.id, {"path": "eth-1", "payload_v2": {"Ecdsa": payload.hex()},
                                                           "domain_id": 0}, deposit=NEAR)
    item = await wait_event(pending)
    assert item["caller"] == user.id and len(bytes.fromhex(item["data_id"])) == 32
    assert item["request"] == {"tweak": derive_tweak(user.id, "eth-1").hex(), "payload": {"Ecdsa": payload.hex()},
                               "domain_id": 0}
    # The MPC node's own parser reads the event into the request it will answer.
    status = await pending.status()
    logs = [line for o in status["receipts_outcome"] for line in o["outcome"]["logs"]]
    assert f"refund {NEAR - 1} to {user.id}" in logs
    (parsed,) = [r for line in logs for r in parse_event_log(line, block_height=1, block_hash="h", entropy=bytes(32))]
    assert isinstance(parsed, PendingSignRequest) and parsed.respond_request() == item["request"]
    assert parsed.caller == user.id and parsed.data_id == item["data_id"]
    response = signer.network.respond(item["request"])
    node = signer.participants[0]
    done = await node.call(signer.contract.id, "respond").args_json(
        {"request": item["request"], "response": response}).gas(100 * 10**12).transact()
    done.into_result()
    (ev,) = events(done.logs, "sign_response")
    assert ev["data"][0]["request"] == item["request"]
    result = await pending.wait()
    sig = result.json()
    assert sig["scheme"] == "Secp256k1" and sig["recovery_id"] == response["recovery_id"]
    big_r = bytes.fromhex(sig["big_r"]["affine_point"])
    rsv = big_r[1:] + bytes.fromhex(sig["s"]["scalar"]) + bytes([sig["recovery_id"]])
    recovered = coincurve.PublicKey.from_signature_and_message(rsv, payload, hasher=None)
    expected = derive_public_key(signer.network.domains()[0]["public_key"], user.id, "eth-1")
    assert isinstance(expected, Secp256k1PublicKey) and recovered.format(compressed=False)[1:] == expected.xy
    spent = before - int((await user.view_account())["amount"])
    assert 0 < spent < NEAR // 100, "all but 1 yoctoNEAR of the deposit is refunded in the same call"



async def test_ed25519_sign_respond(worker: Worker, signer: Deployment) -> None:
    user = await worker.dev_create_account()
    message = os.urandom(77)
    pending = await submit_sign(user, signer.contract.id, {"path": "sol-1", "payload_v2": {"Eddsa": message.hex()},
                                                           "domain_id": 1})
    item = await wait_event(pending)
    response = signer.network.respond(item["request"])
    done = await signer.participants[1].call(signer.contract.id, "respond").args_json(
        {"request": item["request"], "response": response}).gas(300 * 10**12).transact()
    done.into_result()
    sig = (await pending.wait()).json()
    assert sig == {"scheme": "Ed25519", "signature": response["signature"]}
    expected = derive_public_key(signer.network.domains()[1]["public_key"], user.id, "sol-1")
    assert isinstance(expected, Ed25519PublicKey)
    VerifyKey(expected.data).verify(message, bytes(sig["signature"]))

