"""Confidential key derivation on the signer: request_app_private_key → pending view → respond_ckd → the caller gets
{"big_y", "big_c"}; responses built by the CKD protocol (mpc_service/protocol/ckd.py) over a master key from the
project's DKG over G2 (chainsig_sandbox.standin_ckd); refusals with clear errors; timeouts; the gated example."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import secrets
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from py_arkworks_bls12381 import G1Point, G2Point

from chainsig_sandbox.standin_ckd import (
    G1_PREFIX,
    G2_PREFIX,
    StandInCkdKeys,
    app_id,
    app_public_key,
    decode_point,
    decrypt_response,
    encode_point,
)
from contract.build import PROJECT_CONTRACTS, build_contract
from localnet.runtime import bls12381 as host
from localnet.workspaces import NEAR, TGAS, Account, Contract, Worker
from mpc_service.protocol.ckd import CkdRequesterKey, hash_app_id
from mpc_service.protocol.groups import BLS12381_G1, BLS12381_G2
from tests.contract.conftest import SOURCES, Deployment, deploy_signer, parameters, wait_event
from tests.contract.governance import TIMEOUT_BLOCKS
from tests.contract.network import Network, events

CKD_DOMAIN_ID = 2
CKD_GAS = 50 * TGAS
RESPOND_GAS = 100 * TGAS
SIGNER_DIR = Path(__file__).resolve().parents[2] / "contract" / "signer"


# ---- the contract's BLS code in CPython, on the localnet's host-function cores ---------------------------


def _contract_bls(monkeypatch: pytest.MonkeyPatch) -> Any:
    """contract/signer/bls.py with `near` and `_chainsig` standing in for the host (the localnet's cores)."""
    near = types.ModuleType("near")
    near.sha256 = lambda data: hashlib.sha256(data).digest()  # type: ignore[attr-defined]
    chainsig = types.ModuleType("_chainsig")
    for name in ("p1_decompress", "p2_decompress", "map_fp_to_g1", "p1_sum", "g1_multiexp", "g2_multiexp"):
        setattr(chainsig, "bls12381_" + name, getattr(host, name))
    chainsig.bls12381_pairing_check = host.pairing_check  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "near", near)
    monkeypatch.setitem(sys.modules, "_chainsig", chainsig)
    spec = importlib.util.spec_from_file_location("contract_signer_bls", SIGNER_DIR / "bls.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def off_curve_g1() -> bytes:
    """A compressed G1 encoding whose x is on no curve point (x^3 + 4 is not a square)."""
    for x in range(1, 256):
        candidate = b"\x80" + bytes(46) + bytes([x])
        if host.p1_decompress(candidate) is None:
            return candidate
    raise AssertionError("no x off the curve below 256")


def _uncompressed_g1(point: bytes) -> bytes:
    out = host.p1_decompress(point)
    assert out is not None
    return out


def test_contract_hash_app_id_matches_the_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract's hash_to_field + map_fp_to_g1 + p1_sum is ckd.hash_app_id (RFC 9380 hash_to_curve)."""
    bls = _contract_bls(monkeypatch)
    for k in (1, 12345, secrets.randbelow(BLS12381_G2.order - 1) + 1):
        mvk = BLS12381_G2.base_mul(k)
        for ident in (bytes(32), app_id("alice.near", "ckd/path"), secrets.token_bytes(32)):
            assert bls.hash_app_id(bytes(mvk), ident) == _uncompressed_g1(hash_app_id(mvk, ident))
    other = bls.hash_app_id(bytes(BLS12381_G2.base_mul(2)), bytes(32))
    assert other != bls.hash_app_id(bytes(BLS12381_G2.base_mul(1)), bytes(32))


def test_contract_constants_and_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    bls = _contract_bls(monkeypatch)
    assert bls.G1_GENERATOR == _uncompressed_g1(bytes(G1Point().to_compressed_bytes()))
    assert bls.MINUS_G2_GENERATOR == host.p2_decompress(bytes((-G2Point()).to_compressed_bytes()))
    keys = StandInCkdKeys.generate()
    requester = CkdRequesterKey.generate(secrets.SystemRandom())
    pk1 = _uncompressed_g1(requester.public_key)
    pk2 = host.p2_decompress(requester.public_key_g2)
    assert bls.app_key_pair_ok(pk1, pk2)
    other = CkdRequesterKey.generate(secrets.SystemRandom())
    assert not bls.app_key_pair_ok(pk1, host.p2_decompress(other.public_key_g2))
    ident = app_id("alice.near", "p")
    request = {"app_public_key": app_public_key(requester, verifiable=True), "app_id": ident.hex(), "domain_id": 2}
    response = keys.respond(request)
    big_y = _uncompressed_g1(decode_point(response["big_y"], G1_PREFIX))
    big_c = _uncompressed_g1(decode_point(response["big_c"], G1_PREFIX))
    mvk = bls.check_master_key(bytes(keys.master_public_key))
    h = bls.hash_app_id(bytes(keys.master_public_key), ident)
    assert bls.ckd_output_ok(big_c, big_y, pk2, h, mvk)
    assert not bls.ckd_output_ok(big_y, big_c, pk2, h, mvk)
    with pytest.raises(bls.PointError, match="identity"):
        bls.check_master_key(bytes(BLS12381_G2.identity))


# ---- on chain --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ckd_keys() -> StandInCkdKeys:
    return StandInCkdKeys.generate()


async def _deploy(worker: Worker, wasm: bytes, network: Network, keys: StandInCkdKeys) -> Deployment:
    d = await deploy_signer(worker, wasm, None)
    # Key-event attempts outlive the test's flow (20 ms blocks), as in tests/contract/governance.py.
    args = {"parameters": parameters(d.participants), "domains": [*network.domains(), keys.domain(CKD_DOMAIN_ID)],
            "init_config": {"key_event_timeout_blocks": TIMEOUT_BLOCKS}}
    (await d.contract.call("init_running").args_json(args).gas(300 * TGAS).transact()).into_result()
    return Deployment(d.contract, d.participants, network)


_shared: dict[str, tuple[str, Any, list[tuple[str, Any]]]] = {}


@pytest.fixture
async def ckd_signer(worker: Worker, signer_wasm: bytes, network: Network, ckd_keys: StandInCkdKeys) -> Deployment:
    """A running signer with domains 0 (secp256k1), 1 (Ed25519) and 2 (Bls12381, `ckd_keys`), shared by the module."""
    if "signer" not in _shared:
        d = await _deploy(worker, signer_wasm, network, ckd_keys)
        _shared["signer"] = (d.contract.id, d.contract.secret_key, [(p.id, p.secret_key) for p in d.participants])
    cid, ckey, parts = _shared["signer"]
    return Deployment(Contract(worker, cid, ckey), [worker.account(a, k) for a, k in parts], network)


def requester_key() -> CkdRequesterKey:
    return CkdRequesterKey.generate(secrets.SystemRandom())


async def submit_ckd(account: Account, contract_id: str, request: dict[str, Any], *, deposit: int = 1,
                     gas: int = CKD_GAS) -> Any:
    return await account.call(contract_id, "request_app_private_key").args_json({"request": request}) \
        .deposit(deposit).gas(gas).transact_async()


async def respond_ckd(node: Account, contract_id: str, request: Any, response: Any) -> Any:
    return await node.call(contract_id, "respond_ckd").args_json({"request": request, "response": response}) \
        .gas(RESPOND_GAS).transact()


def failure(result: Any) -> str:
    assert result.is_failure, result.status
    return json.dumps(result.failure)


async def pending_view(contract: Contract, request: Any) -> Any:
    return (await contract.view("get_pending_ckd_request", {"request": request})).json()


@pytest.mark.parametrize("verifiable", [True, False])
async def test_request_respond_and_decrypt(worker: Worker, ckd_signer: Deployment, ckd_keys: StandInCkdKeys,
                                           verifiable: bool) -> None:
    user = await worker.dev_create_account()
    requester = requester_key()
    key = app_public_key(requester, verifiable=verifiable)
    path = "ckd/" + secrets.token_hex(4)
    cid = ckd_signer.contract.id
    before = int((await user.view_account())["amount"])
    pending = await submit_ckd(user, cid, {"derivation_path": path, "app_public_key": key,
                                           "domain_id": CKD_DOMAIN_ID}, deposit=NEAR // 10)
    item = await wait_event(pending, "ckd_request")
    ident = app_id(user.id, path)
    request = item["request"]
    assert request == {"app_public_key": key, "app_id": ident.hex(), "domain_id": CKD_DOMAIN_ID}
    assert item["caller"] == user.id
    view = await pending_view(ckd_signer.contract, request)
    assert view["data_ids"] == [item["data_id"]]

    good = ckd_keys.respond(request)
    # Responses that fail the checks leave the request pending.
    outsider = await worker.dev_create_account()
    assert "Caller is not a participant" in failure(await respond_ckd(outsider, cid, request, good))
    swapped = {"big_y": good["big_c"], "big_c": good["big_y"]}
    other_app = ckd_keys.respond(dict(request, app_id=app_id(user.id, path + "x").hex()))
    identity_y = {"big_y": encode_point(BLS12381_G1.identity, G1_PREFIX), "big_c": good["big_c"]}
    assert "big_y is the identity point" in failure(await respond_ckd(ckd_signer.participants[0], cid, request,
                                                                      identity_y))
    not_a_point = {"big_y": good["big_y"], "big_c": encode_point(off_curve_g1(), G1_PREFIX)}
    assert "must be points of the BLS12-381 G1 curve" in failure(
        await respond_ckd(ckd_signer.participants[0], cid, request, not_a_point))
    assert "Invalid response.big_c" in failure(await respond_ckd(ckd_signer.participants[0], cid, request,
                                                                 {"big_y": good["big_y"], "big_c": "ed25519:1"}))
    if verifiable:
        for bad in (swapped, other_app):
            assert "The provided CKD response is invalid" in failure(
                await respond_ckd(ckd_signer.participants[0], cid, request, bad))
    assert await pending_view(ckd_signer.contract, request) is not None

    done = await respond_ckd(ckd_signer.participants[1], cid, request, good)
    done.into_result()
    (event,) = events(done.logs, "ckd_response")
    assert event["data"][0]["data_ids"] == [item["data_id"]] and event["data"][0]["response"] == good
    result = await pending.wait()
    assert result.json() == good
    signature = decrypt_response(result.json(), requester, ckd_keys.master_public_key, ident)
    assert signature == BLS12381_G1.sub(decode_point(good["big_c"], G1_PREFIX),
                                        BLS12381_G1.mul(decode_point(good["big_y"], G1_PREFIX),
                                                        requester.secret.as_int()))
    assert await pending_view(ckd_signer.contract, request) is None
    late = await respond_ckd(ckd_signer.participants[0], cid, request, good)
    assert "This CKD request has timed out, was completed, or never existed." in failure(late)
    burnt = sum(o.tokens_burnt for o in result.outcomes)
    assert before - int((await user.view_account())["amount"]) == burnt + 1  # the excess deposit came back


async def test_identical_requests_fan_out_to_one_response(worker: Worker, ckd_signer: Deployment,
                                                          ckd_keys: StandInCkdKeys) -> None:
    user = await worker.dev_create_account()
    request_args = {"derivation_path": "dup", "app_public_key": app_public_key(requester_key(), verifiable=True),
                    "domain_id": CKD_DOMAIN_ID}
    first = await submit_ckd(user, ckd_signer.contract.id, request_args)
    item1 = await wait_event(first, "ckd_request")
    second = await submit_ckd(user, ckd_signer.contract.id, request_args)
    item2 = await wait_event(second, "ckd_request")
    assert item1["request"] == item2["request"] and item1["data_id"] != item2["data_id"]
    view = await pending_view(ckd_signer.contract, item1["request"])
    assert view["data_ids"] == [item1["data_id"], item2["data_id"]]
    good = ckd_keys.respond(item1["request"])
    (await respond_ckd(ckd_signer.participants[2], ckd_signer.contract.id, item1["request"], good)).into_result()
    assert (await first.wait()).json() == good == (await second.wait()).json()


async def test_refusals_are_clear(worker: Worker, ckd_signer: Deployment) -> None:
    user = await worker.dev_create_account()
    cid = ckd_signer.contract.id
    requester = requester_key()
    good = {"derivation_path": "r", "app_public_key": app_public_key(requester, verifiable=True),
            "domain_id": CKD_DOMAIN_ID}

    async def refused(request: dict[str, Any], *, deposit: int = 1, gas: int = CKD_GAS) -> str:
        result = await (await submit_ckd(user, cid, request, deposit=deposit, gas=gas)).wait()
        return failure(result)

    assert "is a Secp256k1 signing domain: confidential key derivation needs a Bls12381 domain" in \
        await refused(dict(good, domain_id=0))
    assert "The provided domain ID, 7, was not found." in await refused(dict(good, domain_id=7))
    assert "Attached deposit is lower than required. Attached: 0, required: 1" in await refused(good, deposit=0)
    assert "Provided gas is lower than required" in await refused(good, gas=5 * TGAS)
    pk1 = encode_point(requester.public_key, G1_PREFIX)
    mismatched = {"pk1": pk1, "pk2": encode_point(requester_key().public_key_g2, G2_PREFIX)}
    assert "app public key check failed" in await refused(dict(good, app_public_key=mismatched))
    malformed = {
        "ed25519:" + pk1[len(G1_PREFIX):]: "must start with bls12381g1:",
        encode_point(bytes(requester.public_key)[:47], G1_PREFIX): "expected 48 bytes",
        encode_point(BLS12381_G1.identity, G1_PREFIX): "pk1 is the identity point",
        encode_point(off_curve_g1(), G1_PREFIX): "not a point of the BLS12-381 G1 curve",
    }
    for key, message in malformed.items():
        assert message in await refused(dict(good, app_public_key=key)), key
    assert "Invalid request.app_public_key: expected" in await refused(dict(good, app_public_key={"pk1": pk1}))
    assert "Invalid request.derivation_path" in await refused({"app_public_key": pk1, "domain_id": CKD_DOMAIN_ID})
    # Signing on the CKD domain, and the signing views on it.
    sign = await user.call(cid, "sign").args_json(
        {"request": {"path": "x", "payload_v2": {"Ecdsa": "11" * 32}, "domain_id": CKD_DOMAIN_ID}}) \
        .deposit(1).gas(CKD_GAS).transact()
    assert "is a Bls12381 domain for confidential key derivation: it does not sign" in failure(sign)
    derived = await user.call(cid, "derived_public_key").args_json({"path": "x", "domain_id": CKD_DOMAIN_ID}) \
        .gas(CKD_GAS).transact()
    assert "its derived keys are confidential" in failure(derived)
    assert (await ckd_signer.contract.view("latest_key_version", {"signature_scheme": "Bls12381"})).json() == 2
    assert (await ckd_signer.contract.view("public_key", {"domain_id": CKD_DOMAIN_ID})).json().startswith(G2_PREFIX)


async def test_timeout_fails_the_caller_and_cleans_up(worker: Worker, ckd_signer: Deployment,
                                                      ckd_keys: StandInCkdKeys) -> None:
    """With exactly the configured minimum attached (and a pk2: the costliest request), a request times out cleanly;
    a long path needs 1 Tgas more per 136-byte SHA3 block."""
    user = await worker.dev_create_account()
    base = (await ckd_signer.contract.view("config")).json()["ckd_call_gas_attachment_requirement_tera_gas"]
    long_path = "t" * 150
    required = (base + (34 + len(user.id) + 1 + len(long_path)) // 136) * TGAS
    assert required == (base + 1) * TGAS
    request = {"derivation_path": long_path, "app_public_key": app_public_key(requester_key(), verifiable=True),
               "domain_id": CKD_DOMAIN_ID}
    short = await (await submit_ckd(user, ckd_signer.contract.id, request, gas=required - TGAS)).wait()
    assert f"required: {required}" in failure(short)
    pending = await submit_ckd(user, ckd_signer.contract.id, dict(request, derivation_path="t"), gas=base * TGAS)
    item = await wait_event(pending, "ckd_request")
    await worker.fast_forward(200)
    result = await pending.wait()
    assert result.is_failure and "Request has timed out." in json.dumps(result.failure)
    (event,) = events(result.logs, "ckd_timeout")
    assert event["data"][0] == {"request": item["request"], "data_id": item["data_id"]}
    assert await pending_view(ckd_signer.contract, item["request"]) is None
    late = await respond_ckd(ckd_signer.participants[0], ckd_signer.contract.id, item["request"],
                             ckd_keys.respond(item["request"]))
    assert "This CKD request has timed out, was completed, or never existed." in failure(late)


async def test_keygen_votes_add_a_bls12381_domain(worker: Worker, signer_wasm: bytes, network: Network,
                                                  ckd_keys: StandInCkdKeys) -> None:
    d = await deploy_signer(worker, signer_wasm, None)
    init = {"parameters": parameters(d.participants), "domains": network.domains(),
            "init_config": {"key_event_timeout_blocks": TIMEOUT_BLOCKS}}
    (await d.contract.call("init_running").args_json(init).gas(300 * TGAS).transact()).into_result()
    proposal = {"domains": [{"id": 2, "scheme": "Bls12381", "purpose": "CKD"}]}
    wrong = await d.participants[0].call(d.contract.id, "vote_add_domains").args_json(
        {"domains": [{"id": 2, "scheme": "Bls12381", "purpose": "Sign"}]}).gas(100 * TGAS).transact()
    assert "Invalid domain purpose" in failure(wrong)
    for node in d.participants:
        (await node.call(d.contract.id, "vote_add_domains").args_json(proposal).gas(100 * TGAS).transact()) \
            .into_result()
    gen = (await d.contract.view("state")).json()["generating_key"]
    assert gen["scheme"] == "Bls12381"
    event = {"epoch_id": gen["epoch_id"], "domain_id": 2, "attempt_id": gen["next_attempt_id"]}
    leader = next(p for p in d.participants if p.id == gen["leader"])
    (await leader.call(d.contract.id, "start_keygen_instance").args_json({"key_event_id": event})
     .gas(100 * TGAS).transact()).into_result()
    bad = await d.participants[0].call(d.contract.id, "vote_pk").args_json(
        {"key_event_id": event, "public_key": encode_point(BLS12381_G2.identity, G2_PREFIX)}).gas(100 * TGAS).transact()
    assert "Invalid public key for Bls12381" in failure(bad)
    public_key = ckd_keys.domain(2)["public_key"]
    for node in d.participants:
        (await node.call(d.contract.id, "vote_pk").args_json({"key_event_id": event, "public_key": public_key})
         .gas(100 * TGAS).transact()).into_result()
    state = (await d.contract.view("state")).json()
    assert state["protocol_state"] == "Running"
    assert state["domains"][2] == {"id": 2, "scheme": "Bls12381", "public_key": public_key}
    assert (await d.contract.view("public_key", {"domain_id": 2})).json() == public_key


# ---- the gated example -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gated_wasm() -> bytes:
    return build_contract(SOURCES / PROJECT_CONTRACTS["gated"].name, "gated").read_bytes()


async def test_gated_example_serves_holders_only(worker: Worker, ckd_signer: Deployment, ckd_keys: StandInCkdKeys,
                                                 gated_wasm: bytes) -> None:
    gated = await worker.dev_deploy(gated_wasm)
    (await gated.call("init").args_json({"signer_id": ckd_signer.contract.id}).transact()).into_result()
    holder = await worker.dev_create_account()
    outsider = await worker.dev_create_account()
    refused_mint = await outsider.call(gated.id, "mint").args_json({"account_id": outsider.id}).transact()
    assert "only the owner" in failure(refused_mint)
    (await gated.call("mint").args_json({"account_id": holder.id}).transact()).into_result()
    assert (await gated.view("is_holder", {"account_id": holder.id})).json() is True

    requester = requester_key()
    args = {"request": {"derivation_path": "k", "app_public_key": app_public_key(requester, verifiable=True),
                        "domain_id": CKD_DOMAIN_ID}}
    before = int((await outsider.view_account())["amount"])
    denied = await outsider.call(gated.id, "request_app_private_key").args_json(args).deposit(NEAR // 10).gas(150 * TGAS) \
        .transact()
    assert "holds no token" in failure(denied)
    burnt = sum(o.tokens_burnt for o in denied.outcomes)
    assert before - int((await outsider.view_account())["amount"]) == burnt  # the deposit came back

    pending = await holder.call(gated.id, "request_app_private_key").args_json(args).deposit(1).gas(150 * TGAS).transact_async()
    item = await wait_event(pending, "ckd_request")
    ident = app_id(gated.id, "k")  # the app is (gate, path): every holder gets the same secret
    assert item["request"]["app_id"] == ident.hex() and item["caller"] == gated.id
    good = ckd_keys.respond(item["request"])
    (await respond_ckd(ckd_signer.participants[0], ckd_signer.contract.id, item["request"], good)).into_result()
    result = await pending.wait()
    assert result.json() == good
    decrypt_response(result.json(), requester, ckd_keys.master_public_key, ident)


async def test_resharing_keeps_the_bls12381_key_and_old_participants_answer_meanwhile(
    worker: Worker, signer_wasm: bytes, network: Network, ckd_keys: StandInCkdKeys
) -> None:
    """A Bls12381 domain is reshared like the others; while Resharing the previous participants answer CKD
    requests (the new one cannot yet), afterwards the new set does."""
    d = await _deploy(worker, signer_wasm, network, ckd_keys)
    cid, nodes = d.contract.id, d.participants
    newcomer, user = await worker.dev_create_account(), await worker.dev_create_account()
    entries = [*parameters(nodes)["participants"]["participants"],
               [newcomer.id, 3, {"tls_public_key": "ed25519:" + "1" * 32, "url": "http://127.0.0.1:3003"}]]
    vote = {"prospective_epoch_id": 1, "proposal": {"threshold": 3, "participants": {"next_id": 4,
                                                                                      "participants": entries}}}
    for node in [*nodes, newcomer]:
        (await node.call(cid, "vote_new_parameters").args_json(vote).gas(100 * TGAS).transact()).into_result()
    assert (await d.contract.view("state")).json()["protocol_state"] == "Resharing"

    async def ckd_request(path: str) -> tuple[Any, dict[str, Any]]:
        pending = await submit_ckd(user, cid, {"derivation_path": path, "app_public_key": app_public_key(
            requester_key(), verifiable=True), "domain_id": CKD_DOMAIN_ID})
        return pending, (await wait_event(pending, "ckd_request"))["request"]

    during, request = await ckd_request("during")
    assert "Caller is not a participant" in failure(await respond_ckd(newcomer, cid, request,
                                                                      ckd_keys.respond(request)))
    (await respond_ckd(nodes[1], cid, request, ckd_keys.respond(request))).into_result()
    assert (await during.wait()).json()["big_c"].startswith(G1_PREFIX)

    for domain in (0, 1, CKD_DOMAIN_ID):
        event = {"epoch_id": 1, "domain_id": domain, "attempt_id": 0}
        (await nodes[0].call(cid, "start_reshare_instance").args_json({"key_event_id": event}).gas(100 * TGAS)
         .transact()).into_result()
        for node in [*nodes, newcomer]:
            (await node.call(cid, "vote_reshared").args_json({"key_event_id": event}).gas(100 * TGAS).transact()) \
                .into_result()
    state = (await d.contract.view("state")).json()
    assert state["protocol_state"] == "Running" and state["epoch"] == 1
    assert state["domains"][CKD_DOMAIN_ID] == ckd_keys.domain(CKD_DOMAIN_ID)
    after, request = await ckd_request("after")
    (await respond_ckd(newcomer, cid, request, ckd_keys.respond(request))).into_result()
    assert (await after.wait()).json()["big_y"].startswith(G1_PREFIX)
