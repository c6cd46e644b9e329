"""Every malformed `sign` gets the reference's panic message, its deposit back, and leaves no pending state."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from chainsig.kdf import derive_tweak
from localnet.workspaces import NEAR, TGAS, Account, Worker
from tests.contract.conftest import SIGN_GAS, Deployment, submit_sign, wait_event

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
GOOD = os.urandom(32).hex()

CASES: list[tuple[str, Any, str]] = [
    ("both payload forms", {"path": "p", "payload_v2": {"Ecdsa": GOOD}, "payload": [1] * 32, "domain_id": 0},
     "payload_v2 and payload are mutually exclusive"),
    ("both domain forms", {"path": "p", "payload_v2": {"Ecdsa": GOOD}, "domain_id": 0, "key_version": 0},
     "domain_id and key_version are mutually exclusive"),
    ("ecdsa payload too short", {"path": "p", "payload_v2": {"Ecdsa": "ab" * 31}, "domain_id": 0},
     "Malformed payload. Ecdsa payload must be exactly 32 bytes, got 31."),
    ("ecdsa payload not below n", {"path": "p", "payload_v2": {"Ecdsa": SECP256K1_N.to_bytes(32, "big").hex()},
                                   "domain_id": 0}, "Payload hash cannot be converted to a secp256k1 scalar"),
    ("ecdsa payload zero", {"path": "p", "payload_v2": {"Ecdsa": "00" * 32}, "domain_id": 0},
     "Malformed payload. Ecdsa payload must not be zero"),
    ("legacy payload zero", {"path": "p", "payload": [0] * 32}, "Malformed payload. Ecdsa payload must not be zero"),
    ("legacy payload of 33 bytes", {"path": "p", "payload": [7] * 33, "key_version": 0},
     "Ecdsa payload must be exactly 32 bytes, got 33."),
    ("legacy payload not bytes", {"path": "p", "payload": [256] * 32}, "Invalid request.payload: expected a list"),
    ("eddsa payload too long", {"path": "p", "payload_v2": {"Eddsa": "00" * 1233}, "domain_id": 1},
     "Malformed payload. Eddsa payload must be at most 1232 bytes, got 1233."),
    ("payload type vs domain", {"path": "p", "payload_v2": {"Eddsa": GOOD}, "domain_id": 0},
     "Payload type Eddsa does not match the Secp256k1 scheme of domain 0."),
    ("unknown domain", {"path": "p", "payload_v2": {"Ecdsa": GOOD}, "domain_id": 7},
     "The provided domain ID, 7, was not found."),
    ("unknown payload type", {"path": "p", "payload_v2": {"Rsa": GOOD}, "domain_id": 0}, "unknown payload type"),
    ("payload not hex", {"path": "p", "payload_v2": {"Ecdsa": "zz" * 32}, "domain_id": 0},
     "Invalid request.payload_v2.Ecdsa: not a hex string"),
    ("no payload", {"path": "p", "domain_id": 0}, "Missing payload"),
    ("path not a string", {"path": 5, "payload_v2": {"Ecdsa": GOOD}}, "Invalid request.path"),
    ("negative domain", {"path": "p", "payload_v2": {"Ecdsa": GOOD}, "domain_id": -1}, "Invalid request.domain_id"),
    ("no request object", None, "Invalid sign arguments"),
]


async def balance(account: Account) -> int:
    return int((await account.view_account())["amount"])


def failure_text(result: Any) -> str:
    return json.dumps(result.failure)


@pytest.fixture
async def user(worker: Worker) -> Account:
    return await worker.dev_create_account(initial_balance=20 * NEAR)


async def test_bad_sign_arguments_fail_refund_and_leave_nothing(worker: Worker, signer: Deployment, user: Account) -> None:
    state_before = await signer.contract.view_state(b"p")
    for label, request, expected in CASES:
        before = await balance(user)
        args = {} if request is None else {"request": request}
        result = await user.call(signer.contract.id, "sign").args_json(args).deposit(NEAR).gas(SIGN_GAS).transact()
        assert result.is_failure, label
        assert expected in failure_text(result), (label, result.failure)
        assert before - await balance(user) < NEAR // 100, f"{label}: the 1 NEAR deposit did not come back"
    raw = await user.call(signer.contract.id, "sign").args(b"not json").deposit(1).gas(SIGN_GAS).transact()
    assert "Failed to deserialize input from JSON." in failure_text(raw)
    assert await signer.contract.view_state(b"p") == state_before  # no pending queue was written


async def test_deposit_and_gas_requirements(worker: Worker, signer: Deployment, user: Account) -> None:
    request = {"path": "p", "payload_v2": {"Ecdsa": GOOD}, "domain_id": 0}
    no_deposit = await user.call(signer.contract.id, "sign").args_json({"request": request}).gas(SIGN_GAS).transact()
    assert "Attached deposit is lower than required. Attached: 0, required: 1" in failure_text(no_deposit)
    required = (await signer.contract.view("config")).json()["sign_call_gas_attachment_requirement_tera_gas"] * TGAS
    low_gas = await user.call(signer.contract.id, "sign").args_json({"request": request}).deposit(1) \
        .gas(required - TGAS).transact()
    assert (f"Provided gas is lower than required. Provided: {required - TGAS}, required: {required}"
            in failure_text(low_gas))
    tweak = derive_tweak(user.id, "p").hex()
    pending = await signer.contract.view("get_pending_request", {"request": {
        "tweak": tweak, "payload": {"Ecdsa": GOOD}, "domain_id": 0}})
    assert pending.json() is None


async def test_fan_out_cap(worker: Worker, signer: Deployment, user: Account) -> None:
    """A queue already holding 128 yields (written with sandbox_patch_state) refuses a 129th request."""
    payload = os.urandom(32)
    request = {"tweak": derive_tweak(user.id, "cap").hex(), "payload": {"Ecdsa": payload.hex()}, "domain_id": 0}
    rid = bytes.fromhex(_request_id(request))
    queue = [[os.urandom(32).hex(), 10_000 + i] for i in range(128)]
    await worker.patch_state(signer.contract.id, b"p" + rid, json.dumps(queue).encode())
    result = await user.call(signer.contract.id, "sign").args_json(
        {"request": {"path": "cap", "payload_v2": {"Ecdsa": payload.hex()}, "domain_id": 0}}).deposit(1) \
        .gas(SIGN_GAS).transact()
    assert "Pending-request queue is full for this request key (limit: 128)." in failure_text(result)
    view = (await signer.contract.view("get_pending_request", {"request": request})).json()
    assert len(view["data_ids"]) == 128


def _request_id(request: dict[str, Any]) -> str:
    from mpc_service.chain.events import request_id_of

    ((kind, payload),) = request["payload"].items()
    return bytes(request_id_of(request["domain_id"], bytes.fromhex(request["tweak"]), kind,
                               bytes.fromhex(payload))).hex()


async def test_long_paths_need_gas_for_each_sha3_block(worker: Worker, signer: Deployment, user: Account) -> None:
    path = "m/44'/60'/0'/0/" + "x" * 200
    extra_blocks = (44 + len(user.id) + 1 + len(path)) // 136
    base = (await signer.contract.view("config")).json()["sign_call_gas_attachment_requirement_tera_gas"]
    required = (base + extra_blocks) * TGAS  # SHA3_BLOCK_TERA_GAS (1) per extra block
    request = {"path": path, "payload_v2": {"Ecdsa": GOOD}, "domain_id": 0}
    short = await user.call(signer.contract.id, "sign").args_json({"request": request}).deposit(1) \
        .gas(required - TGAS).transact()
    assert f"required: {required}" in failure_text(short)
    pending = await submit_sign(user, signer.contract.id, request, gas=required)
    item = await wait_event(pending)
    assert item["request"]["tweak"] == derive_tweak(user.id, path).hex()  # multi-block SHA3 on chain


@pytest.mark.parametrize(("domain", "kind", "size"), [(0, "Ecdsa", 32), (1, "Eddsa", 1232)])
async def test_the_configured_minimum_gas_is_enough(
    worker: Worker, signer: Deployment, user: Account, domain: int, kind: str, size: int
) -> None:
    """The largest payload signs with exactly the default minimum attached (and then times out cleanly)."""
    base = (await signer.contract.view("config")).json()["sign_call_gas_attachment_requirement_tera_gas"]
    required = (base + 2 * (size // 300)) * TGAS  # sign adds 1 Tgas per 300 payload bytes, twice (sign + callback)
    short = await user.call(signer.contract.id, "sign").args_json({"request": {
        "path": "min-gas", "payload_v2": {kind: os.urandom(size).hex()}, "domain_id": domain}}).deposit(1) \
        .gas(required - TGAS).transact()
    assert f"required: {required}" in failure_text(short)
    request = {"path": "min-gas", "payload_v2": {kind: os.urandom(size).hex()}, "domain_id": domain}
    pending = await submit_sign(user, signer.contract.id, request, deposit=NEAR, gas=required)
    item = await wait_event(pending)
    await worker.fast_forward(200)
    result = await pending.wait()
    assert "Request has timed out." in failure_text(result)  # not "Exceeded the prepaid gas."
    assert (await signer.contract.view("get_pending_request", {"request": item["request"]})).json() is None
