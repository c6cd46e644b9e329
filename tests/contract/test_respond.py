"""`respond`: only participants calling directly, only valid signatures under the derived key; fan-out; timeout."""

from __future__ import annotations

import json
import os
from typing import Any

import coincurve

from localnet.workspaces import TGAS, Account, Contract, Worker
from mpc_service.chain.events import PendingSignRequest, SignCompletion, parse_event_log
from tests.contract.conftest import Deployment, submit_sign, wait_event
from tests.contract.network import SECP256K1_N, ed25519_sign, events

RESPOND_GAS = 100 * TGAS


async def respond(node: Account, contract_id: str, request: Any, response: Any) -> Any:
    return await node.call(contract_id, "respond").args_json({"request": request, "response": response}) \
        .gas(RESPOND_GAS).transact()


def failure(result: Any) -> str:
    assert result.is_failure, result.status
    return json.dumps(result.failure)


async def test_rejected_responses_leave_the_request_pending(
    worker: Worker, signer: Deployment, cross_wasm: bytes
) -> None:
    user = await worker.dev_create_account()
    payload = os.urandom(32)
    pending = await submit_sign(user, signer.contract.id, {"path": "r", "payload_v2": {"Ecdsa": payload.hex()}})
    item = await wait_event(pending)
    request = item["request"]
    good = signer.network.respond(request)
    cid = signer.contract.id

    outsider = await worker.dev_create_account()
    assert "Caller is not a participant" in failure(await respond(outsider, cid, request, good))

    # Corrupted s; high-s twin of a valid signature; R parity inconsistent with recovery_id; root-key signature.
    assert "The provided signature is invalid." in failure(
        await respond(signer.participants[0], cid, request, signer.network.respond(request, corrupt=True)))
    s = int(good["s"]["scalar"], 16)
    flipped = 1 - good["recovery_id"]
    high_s = {"scheme": "Secp256k1", "big_r": {"affine_point": f"{2 + flipped:02x}" + good["big_r"]["affine_point"][2:]},
              "s": {"scalar": (SECP256K1_N - s).to_bytes(32, "big").hex()}, "recovery_id": flipped}
    assert "The provided signature is invalid." in failure(await respond(signer.participants[0], cid, request, high_s))
    bad_parity = dict(good, recovery_id=flipped)
    assert "The provided signature is invalid." in failure(
        await respond(signer.participants[0], cid, request, bad_parity))
    rsv = coincurve.PrivateKey(signer.network.secp_secret.to_bytes(32, "big")).sign_recoverable(payload, hasher=None)
    root_signed = {"scheme": "Secp256k1", "big_r": {"affine_point": (bytes([2 + rsv[64]]) + rsv[:32]).hex()},
                   "s": {"scalar": rsv[32:64].hex()}, "recovery_id": rsv[64]}
    assert "The provided signature is invalid." in failure(
        await respond(signer.participants[1], cid, request, root_signed))
    ed_shaped = {"scheme": "Ed25519", "signature": [0] * 64}
    assert "Invalid response: expected a Secp256k1 response" in failure(
        await respond(signer.participants[1], cid, request, ed_shaped))
    malformed = dict(good, big_r={"affine_point": "04" + "00" * 32})
    assert "Invalid response.big_r.affine_point" in failure(
        await respond(signer.participants[1], cid, request, malformed))

    # A participant's account calling through a contract (predecessor = participant, signer = someone else).
    proxy_key = signer.participants[2].secret_key
    proxy = Contract(worker, signer.participants[2].id, proxy_key)
    (await proxy.as_account().deploy(cross_wasm)).into_result()
    via_contract = await user.call(proxy.id, "call_other").args_json(
        {"account_id": cid, "method": "respond", "args": {"request": request, "response": good}, "gas_tgas": 60}
    ).gas(150 * TGAS).transact()
    assert "respond must be called directly" in json.dumps(via_contract.raw)

    assert (await signer.contract.view("get_pending_request", {"request": request})).json() is not None
    ok = await respond(signer.participants[0], cid, request, good)
    ok.into_result()
    assert (await pending.wait()).json()["s"]["scalar"].lower() == good["s"]["scalar"]
    assert (await signer.contract.view("get_pending_request", {"request": request})).json() is None
    again = await respond(signer.participants[1], cid, request, good)
    assert "This sign request has timed out, was completed, or never existed." in failure(again)


async def test_invalid_ed25519_response(worker: Worker, signer: Deployment) -> None:
    user = await worker.dev_create_account()
    pending = await submit_sign(user, signer.contract.id, {"path": "e", "payload_v2": {"Eddsa": os.urandom(40).hex()},
                                                           "domain_id": 1})
    request = (await wait_event(pending))["request"]
    cid = signer.contract.id
    bad = signer.network.respond(request, corrupt=True)
    assert "The provided signature is invalid." in failure(await respond(signer.participants[0], cid, request, bad))
    payload = bytes.fromhex(request["payload"]["Eddsa"])
    under_root = {"scheme": "Ed25519", "signature": list(ed25519_sign(signer.network.ed_secret, payload))}
    assert "The provided signature is invalid." in failure(
        await respond(signer.participants[0], cid, request, under_root))
    short = {"scheme": "Ed25519", "signature": [1] * 63}
    assert "expected 64 bytes" in failure(await respond(signer.participants[0], cid, request, short))
    as_ints = dict(request, tweak=list(bytes.fromhex(request["tweak"])))  # the reference's [32 ints] form
    (await respond(signer.participants[2], cid, as_ints, signer.network.respond(request))).into_result()
    assert (await pending.wait()).json()["scheme"] == "Ed25519"


async def test_duplicates_fan_out_to_one_response(worker: Worker, signer: Deployment) -> None:
    user = await worker.dev_create_account()
    request: dict[str, Any] = {"path": "dup", "payload_v2": {"Ecdsa": os.urandom(32).hex()}, "domain_id": 0}
    first = await submit_sign(user, signer.contract.id, request)
    item1 = await wait_event(first)
    second = await submit_sign(user, signer.contract.id, dict(request, payload_v2=None,
                                                             payload=list(bytes.fromhex(request["payload_v2"]["Ecdsa"]))))
    item2 = await wait_event(second)
    assert item1["request"] == item2["request"] and item1["data_id"] != item2["data_id"]
    view = (await signer.contract.view("get_pending_request", {"request": item1["request"]})).json()
    assert view["data_ids"] == [item1["data_id"], item2["data_id"]]
    done = await respond(signer.participants[0], signer.contract.id, item1["request"],
                         signer.network.respond(item1["request"]))
    done.into_result()
    (ev,) = events(done.logs, "sign_response")
    assert ev["data"][0]["data_ids"] == [item1["data_id"], item2["data_id"]]
    assert (await first.wait()).json() == (await second.wait()).json()


async def test_timeout_fails_the_caller_and_cleans_up(worker: Worker, signer: Deployment) -> None:
    user = await worker.dev_create_account()
    pending = await submit_sign(user, signer.contract.id, {"path": "t", "payload_v2": {"Ecdsa": os.urandom(32).hex()}})
    item = await wait_event(pending)
    await worker.fast_forward(200)
    result = await pending.wait()
    assert result.is_failure and "Request has timed out." in json.dumps(result.failure)
    (ev,) = events(result.logs, "sign_timeout")
    assert ev["data"][0] == {"request": item["request"], "data_id": item["data_id"]}
    records = [r for line in result.logs
               for r in parse_event_log(line, block_height=1, block_hash="h", entropy=b"\0" * 32)]
    assert [type(r) for r in records] == [PendingSignRequest, SignCompletion]
    assert records[0].request_id == records[1].request_id and records[1].outcome == "timeout"  # type: ignore[union-attr]
    assert (await signer.contract.view("get_pending_request", {"request": item["request"]})).json() is None
    late = await respond(signer.participants[0], signer.contract.id, item["request"],
                         signer.network.respond(item["request"]))
    assert "This sign request has timed out, was completed, or never existed." in failure(late)



async def test_short_eddsa_payloads_sign(worker: Worker, signer: Deployment) -> None:
    """EdDSA payloads of 0..31 bytes are valid (near/mpc allows 0..1232 since its #3876)."""
    user = await worker.dev_create_account()
    for payload in (b"", b"\x01", os.urandom(31)):
        pending = await submit_sign(user, signer.contract.id, {"path": "short", "payload_v2": {"Eddsa": payload.hex()},
                                                               "domain_id": 1})
        request = (await wait_event(pending))["request"]
        assert request["payload"] == {"Eddsa": payload.hex()}
        (await respond(signer.participants[0], signer.contract.id, request, signer.network.respond(request))) \
            .into_result()
        assert (await pending.wait()).json()["scheme"] == "Ed25519"
