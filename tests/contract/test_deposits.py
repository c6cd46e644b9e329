"""Only `sign` is payable: every other method refuses an attached deposit before it reads or writes state.

near-sdk's rule (`Method <name> doesn't accept deposit`), here for views called as transactions too: the panic
rolls the call back and the runtime returns the deposit, so the caller's balance drops by exactly the gas burnt.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import wasmtime

from localnet.workspaces import NEAR, TGAS, Account, ExecutionFinalResult, Worker
from tests.contract.conftest import Deployment, deploy_signer, parameters, submit_sign, wait_event

GAS = 300 * TGAS
PAYABLE = {"sign", "request_app_private_key"}
# Exported by the toolchain, not by contract/signer: nearc's ABI blob (it cannot be overridden; see
# docs/contract.md "Known limits") and emscripten's entry points, which nearcore refuses to call
# (`MethodInvalidSignature`) or which trap before any state is touched (`_start`).
TOOLCHAIN_EXPORTS = {"__contract_abi", "_start", "nlr_push_tail", "__errno_location", "stackSave", "stackRestore",
                     "stackAlloc"}


def exported_methods(wasm: bytes) -> set[str]:
    module = wasmtime.Module(wasmtime.Engine(), wasm)
    return {e.name for e in module.exports if isinstance(e.type, wasmtime.FuncType)} - TOOLCHAIN_EXPORTS


async def balance(account: Account) -> int:
    return int((await account.view_account())["amount"])


async def refused(caller: Account, contract_id: str, method: str, args: Any, deposit: int = NEAR) -> ExecutionFinalResult:
    """Call with a deposit; assert the deposit panic and that the caller lost exactly the gas it burnt."""
    before = await balance(caller)
    result = await caller.call(contract_id, method).args_json(args).deposit(deposit).gas(GAS).transact()
    assert result.is_failure, f"{method} accepted a deposit: {result.status}"
    assert f"Method {method} doesn't accept deposit" in json.dumps(result.failure), (method, result.failure)
    if caller.id != contract_id:  # a contract paying itself loses nothing either way; its gas reward is not burnt
        burnt = sum(o.tokens_burnt for o in result.outcomes)
        assert before - await balance(caller) == burnt, f"{method}: the deposit did not come back"
    return result


async def test_every_exported_method_but_sign_refuses_a_deposit(
    worker: Worker, signer_wasm: bytes, network: Any
) -> None:
    """Valid arguments from the right caller, plus 1 NEAR: refused, state untouched, deposit back."""
    d: Deployment = await deploy_signer(worker, signer_wasm, network)
    cid, nodes = d.contract.id, d.participants
    user = await worker.dev_create_account(initial_balance=20 * NEAR)
    checked: set[str] = set()

    pending = await submit_sign(user, cid, {"path": "deposit", "payload_v2": {"Ecdsa": os.urandom(32).hex()}})
    request = (await wait_event(pending))["request"]
    state_before = await d.contract.view_state()

    await refused(nodes[0], cid, "respond", {"request": request, "response": network.respond(request)})
    # A CKD request object of the reference's shape (this deployment has no Bls12381 domain: the deposit check
    # comes first either way).
    ckd_request = {"app_public_key": "bls12381g1:" + "1" * 48, "app_id": "00" * 32, "domain_id": 2}
    await refused(nodes[0], cid, "respond_ckd", {"request": ckd_request,
                                                 "response": {"big_y": "bls12381g1:1", "big_c": "bls12381g1:1"}})
    views = {"public_key": {"domain_id": 0}, "derived_public_key": {"path": "p", "domain_id": 0},
             "latest_key_version": {}, "get_pending_request": {"request": request}, "state": {}, "config": {},
             "version": {}, "contract_source_metadata": {}, "get_pending_ckd_request": {"request": ckd_request}}
    for method, args in views.items():
        await refused(user, cid, method, args)
    await refused(nodes[0], cid, "vote_add_domains", {"domains": [{"id": 2, "scheme": "Secp256k1"}]})
    await refused(nodes[0], cid, "vote_pk", {"key_event_id": {"epoch_id": 0, "domain_id": 2, "attempt_id": 0},
                                             "public_key": network.domains()[0]["public_key"]})
    # Private methods: the deposit check comes first (as in near-sdk), so an outsider's deposit comes back too.
    await refused(user, cid, "return_signature_and_clean_state_on_success", {})
    await refused(user, cid, "fail_on_timeout", {})
    await refused(user, cid, "return_ck_and_clean_state_on_success", {})
    owner = d.contract.as_account()
    await refused(owner, cid, "update_config", {"config": {"fail_on_timeout_tera_gas": 4}})
    await refused(owner, cid, "init", {"parameters": parameters(nodes)})
    event = {"key_event_id": {"epoch_id": 0, "domain_id": 0, "attempt_id": 0}}
    governance = {"start_keygen_instance": event, "vote_abort_key_event_instance": event,
                  "start_reshare_instance": event, "vote_reshared": event, "vote_cancel_keygen": {"next_domain_id": 2},
                  "vote_cancel_resharing": {},
                  "vote_new_parameters": {"prospective_epoch_id": 1, "proposal": parameters(nodes)}}
    for method, args in governance.items():
        await refused(nodes[0], cid, method, args)
    checked |= {"respond", "respond_ckd", "vote_add_domains", "vote_pk", "return_signature_and_clean_state_on_success",
                "return_ck_and_clean_state_on_success", "fail_on_timeout", "update_config", "init", *views, *governance}
    assert await d.contract.view_state() == state_before  # nothing written, the request still pending
    assert (await d.contract.view("get_pending_request", {"request": request})).json() is not None

    # init / init_running on an uninitialized contract, and vote_pk while a keygen really runs.
    fresh = await deploy_signer(worker, signer_wasm, None)
    for method, args in (("init", {"parameters": parameters(fresh.participants)}),
                          ("init_running", {"parameters": parameters(fresh.participants), "domains": network.domains()})):
        await refused(fresh.contract.as_account(), fresh.contract.id, method, args)
        checked.add(method)
    assert await fresh.contract.view_state() == {}
    proposal = {"domains": [{"id": 2, "scheme": "Secp256k1"}]}
    for node in nodes:
        (await node.call(cid, "vote_add_domains").args_json(proposal).gas(GAS).transact()).into_result()
    keygen = (await d.contract.view("state")).json()["generating_key"]
    initializing = await d.contract.view_state()
    await refused(nodes[1], cid, "vote_pk", {"key_event_id": keygen["key_event_id"],
                                             "public_key": network.domains()[0]["public_key"]})
    assert await d.contract.view_state() == initializing

    missing = exported_methods(signer_wasm) - PAYABLE - checked
    assert not missing, f"exported methods without a deposit check in this test: {sorted(missing)}"


@pytest.mark.parametrize("method", ["state", "version", "public_key"])
async def test_views_still_answer_without_a_deposit(worker: Worker, signer: Deployment, method: str) -> None:
    """The deposit check is harmless where there is no deposit: RPC views and deposit-free transactions."""
    user = await worker.dev_create_account()
    viewed = (await signer.contract.view(method)).json()
    called = await user.call(signer.contract.id, method).args_json({}).gas(GAS).transact()
    assert called.json() == viewed
