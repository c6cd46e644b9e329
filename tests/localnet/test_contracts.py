"""nearc-compiled near-sdk-py contracts (tests/localnet/contracts/) on the in-process localnet:
state, logs, panics, cross-contract calls with callbacks, deposits and refunds, gas exhaustion, yield/resume.

One `Localnet` per module (in memory); every test uses fresh accounts, so tests never see each other's state.
Balance checks rely on nearcore's accounting identity: with a constant gas price, a signer pays exactly the
tokens its transaction burnt (prepaid gas that was not burnt comes back as a refund from `system`) plus the
deposits that were not refunded.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from contracts_support import (
    NEAR,
    TGAS,
    contract_reward,
    contract_wasm,
    exec_fees,
    function_call_error,
    outcome_height,
    receipt_outcome,
    refunds_to,
    success_json,
)

from localnet.chain import InMemorySigner, Localnet
from localnet.chain.costs import GAS_PRICE_YOCTO
from localnet.errors import ContractExecutionError
from localnet.runtime.fees import VM_LIMITS
from localnet.types import FunctionCall

_names = itertools.count()


@pytest.fixture(scope="module")
def net() -> Iterator[Localnet]:
    with Localnet() as chain:
        yield chain


def _account(net: Localnet, prefix: str, wasm_name: str | None = None, balance: int = 10 * NEAR) -> InMemorySigner:
    signer = net.create_account(f"{prefix}{next(_names)}.{net.root.account_id}", balance)
    if wasm_name is not None:
        net.deploy(signer, contract_wasm(wasm_name))
    return signer


# ---- state, logs, views -------------------------------------------------------------------------


def test_state_write_read_and_logs(net: Localnet) -> None:
    counter = _account(net, "counter", "counter")
    alice = _account(net, "alice")
    assert net.view(counter.account_id, "get_count").json() == 0

    result = net.call(alice, counter.account_id, "set_count", {"value": 41})
    assert result.json() == 41
    assert result.logs == ["INFO: count set to 41"]
    result = net.call(alice, counter.account_id, "increment", {"by": 2})
    assert result.json() == 43
    assert result.logs == ["count is now 43"]

    assert net.view(counter.account_id, "get_count").json() == 43
    assert net.storage(counter.account_id) == {b"count": b"43"}
    context = net.view(counter.account_id, "context").json()
    account = net.account(counter.account_id)
    assert context["current_account_id"] == counter.account_id
    assert context["block_height"] == net.height
    assert context["storage_usage"] == account.storage_usage
    assert int(context["account_balance"]) == account.amount


def test_raw_input_round_trips_and_storage_usage_is_charged(net: Localnet) -> None:
    counter = _account(net, "echo", "counter")
    payload = bytes(range(256))
    assert net.call(counter, counter.account_id, "echo", payload).value == payload

    before = net.account(counter.account_id).storage_usage
    net.call(counter, counter.account_id, "set_count", {"value": 123456})
    # nearcore: a new record costs len(key) + len(value) + 40 bytes of storage.
    assert net.account(counter.account_id).storage_usage - before == len(b"count") + len(b"123456") + 40


def test_view_calls_cannot_write_state(net: Localnet) -> None:
    counter = _account(net, "viewer", "counter")
    with pytest.raises(ContractExecutionError) as caught:
        net.view(counter.account_id, "increment", {"by": 1})
    assert caught.value.message == (
        'wasm execution failed with error: HostError(ProhibitedInView { method_name: "storage_write" })'
    )
    assert net.storage(counter.account_id) == {}


def test_panic_reports_nearcore_text_and_rolls_back(net: Localnet) -> None:
    counter = _account(net, "panic", "counter")
    alice = _account(net, "alice")
    net.call(alice, counter.account_id, "set_count", {"value": 7})
    storage_before = net.storage(counter.account_id)
    usage_before = net.account(counter.account_id).storage_usage
    balance_before = net.balance(alice.account_id)

    result = net.call(alice, counter.account_id, "fail", {"message": "stop right there"}, deposit=2 * NEAR)
    assert function_call_error(result) == {"ExecutionError": "Smart contract panicked: stop right there"}
    assert result.failure["ActionError"]["index"] == 0
    # The write of 999999 before the panic is rolled back, and so is the storage usage.
    assert net.storage(counter.account_id) == storage_before
    assert net.account(counter.account_id).storage_usage == usage_before
    assert net.view(counter.account_id, "get_count").json() == 7
    # The attached deposit comes back from `system`; alice pays only the gas the transaction burnt.
    assert refunds_to(net, result, alice.account_id) >= 2 * NEAR
    assert net.balance(alice.account_id) == balance_before - result.tokens_burnt


def test_missing_method_and_missing_code(net: Localnet) -> None:
    counter = _account(net, "nomethod", "counter")
    empty = _account(net, "nocode")
    result = net.call(counter, counter.account_id, "no_such_method")
    assert function_call_error(result) == {"MethodResolveError": "MethodNotFound"}
    result = net.call(counter, empty.account_id, "anything")
    assert function_call_error(result) == {"CompilationError": {"CodeDoesNotExist": {"account_id": empty.account_id}}}


# ---- cross-contract calls ------------------------------------------------------------------------


def test_cross_contract_call_with_callback(net: Localnet) -> None:
    counter = _account(net, "callee", "counter")
    cross = _account(net, "cross", "cross")
    alice = _account(net, "alice")
    result = net.call(
        alice,
        cross.account_id,
        "call_other",
        {"account_id": counter.account_id, "method": "increment", "args": {"by": 5}},
    )
    assert result.json() == {"status": 1, "data": "5", "count": 1}
    assert result.logs == ["count is now 5", "on_result: status 1"]
    assert net.view(counter.account_id, "get_count").json() == 5
    # The call ran as a receipt from `cross`, the callback after it, each in a later block.
    call = receipt_outcome(result, counter.account_id)
    callback = receipt_outcome(result, cross.account_id, 1)
    assert net.chain.receipt(call["id"])["predecessor_id"] == cross.account_id
    assert outcome_height(net, callback) > outcome_height(net, call)


def test_callback_sees_failed_callee_and_callee_state_is_rolled_back(net: Localnet) -> None:
    counter = _account(net, "failing", "counter")
    cross = _account(net, "cross", "cross")
    net.call(cross, counter.account_id, "set_count", {"value": 3})
    result = net.call(
        cross,
        cross.account_id,
        "call_other",
        {"account_id": counter.account_id, "method": "fail", "args": {"message": "callee says no"}},
    )
    assert result.is_success  # the callback handled the failure
    assert result.json() == {"status": 2, "data": None, "count": 1}
    failed = receipt_outcome(result, counter.account_id)
    assert failed["outcome"]["status"]["Failure"]["ActionError"]["kind"]["FunctionCallError"] == {
        "ExecutionError": "Smart contract panicked: callee says no"
    }
    assert net.view(counter.account_id, "get_count").json() == 3


def test_attached_deposit_is_forwarded_and_partly_refunded_by_the_contract(net: Localnet) -> None:
    cross = _account(net, "payable", "cross")
    alice = _account(net, "alice")
    alice_before, cross_before = net.balance(alice.account_id), net.balance(cross.account_id)
    deposit = 3 * NEAR + 17

    result = net.call(alice, cross.account_id, "deposit_and_refund", {}, deposit=deposit)
    assert result.json() == {"attached": str(deposit), "refunded": str(deposit - 1)}
    # The contract kept 1 yocto plus its 30% share of the gas its call burnt; alice got the rest back.
    assert net.balance(alice.account_id) == alice_before - 1 - result.tokens_burnt
    reward = contract_reward(net, result, cross.account_id)
    assert reward > 0
    assert net.balance(cross.account_id) == cross_before + 1 + reward


def test_transfer_from_contract_and_balance_exceeded(net: Localnet) -> None:
    cross = _account(net, "sender", "cross")
    bob = _account(net, "bob")
    bob_before = net.balance(bob.account_id)
    result = net.call(cross, cross.account_id, "transfer", {"receiver_id": bob.account_id, "amount": str(NEAR)})
    assert result.is_success, result.status
    assert net.balance(bob.account_id) == bob_before + NEAR

    storage_before = net.storage(cross.account_id)
    cross_before = net.balance(cross.account_id)
    too_much = {"receiver_id": bob.account_id, "amount": str(100 * NEAR)}
    result = net.call(cross, cross.account_id, "transfer", too_much)
    assert function_call_error(result) == {"ExecutionError": "Exceeded the account balance."}
    assert net.balance(bob.account_id) == bob_before + NEAR
    assert net.storage(cross.account_id) == storage_before
    assert net.balance(cross.account_id) == cross_before - result.tokens_burnt + contract_reward(
        net, result, cross.account_id
    )


# ---- gas -----------------------------------------------------------------------------------------


def test_gas_exhaustion_burns_the_prepaid_gas_and_changes_nothing(net: Localnet) -> None:
    cross = _account(net, "burner", "cross")
    alice = _account(net, "alice")
    alice_before = net.balance(alice.account_id)
    prepaid = 5 * TGAS
    args = {"iterations": 1_000_000}

    result = net.call(alice, cross.account_id, "burn_gas", args, gas=prepaid)
    assert function_call_error(result) == {"ExecutionError": "Exceeded the prepaid gas."}
    outcome = receipt_outcome(result, cross.account_id)
    assert outcome["outcome"]["gas_burnt"] == exec_fees(net, outcome) + prepaid  # all of it, nothing refunded
    assert refunds_to(net, result, alice.account_id) == 0
    assert net.balance(alice.account_id) == alice_before - result.tokens_burnt


def test_unused_prepaid_gas_is_refunded(net: Localnet) -> None:
    cross = _account(net, "light", "cross")
    alice = _account(net, "alice")
    alice_before = net.balance(alice.account_id)
    prepaid = 300 * TGAS
    args = {"iterations": 10}

    result = net.call(alice, cross.account_id, "burn_gas", args, gas=prepaid)
    body = result.json()
    assert body["total"] == sum(i * i for i in range(10))
    assert 0 < body["used_gas"] < prepaid
    outcome = receipt_outcome(result, cross.account_id)
    fees, burnt = exec_fees(net, outcome), outcome["outcome"]["gas_burnt"]
    assert burnt < fees + prepaid
    assert refunds_to(net, result, alice.account_id) == (fees + prepaid - burnt) * GAS_PRICE_YOCTO
    assert net.balance(alice.account_id) == alice_before - result.tokens_burnt


def test_gas_below_the_interpreter_startup_cost_fails_cleanly(net: Localnet) -> None:
    counter = _account(net, "tiny", "counter")
    result = net.call(counter, counter.account_id, "increment", {"by": 1}, gas=TGAS)
    assert function_call_error(result) == {"ExecutionError": "Exceeded the prepaid gas."}
    assert net.storage(counter.account_id) == {}


def _json_bytes(value: object) -> bytes:
    import json

    return json.dumps(value).encode()


# ---- yield / resume ----------------------------------------------------------------------------------


def _start_yield(net: Localnet, yielder: InMemorySigner, caller: InMemorySigner, tag: str) -> tuple[str, str]:
    tx_hash = net.submit(caller, yielder.account_id, [FunctionCall("start", _json_bytes({"tag": tag}), 50 * TGAS, 0)])
    result = net.wait(tx_hash, caller.account_id, max_blocks=4)
    assert result.pending and result.status == "Started"
    (data_id,) = [log.split()[-1] for log in result.logs if log.startswith("yield created")]
    return tx_hash, data_id


def test_yield_resume_delivers_the_payload(net: Localnet) -> None:
    yielder = _account(net, "yielder", "yielder")
    alice = _account(net, "alice")
    tx_hash, data_id = _start_yield(net, yielder, alice, "first")
    # The data id is 32 arbitrary bytes (not UTF-8): near-sdk-py hands it back as bytes with the project's patch.
    raw_id = bytes.fromhex(data_id)
    assert len(raw_id) == 32
    assert net.view(yielder.account_id, "pending").json() == [data_id]

    resumed = net.call(alice, yielder.account_id, "resume", {"data_id": data_id, "payload": "the answer"})
    assert resumed.json() is True
    result = net.wait(tx_hash, alice.account_id, max_blocks=4)
    assert not result.pending
    assert result.json() == {"tag": "first", "payload": "the answer"}
    assert net.view(yielder.account_id, "pending").json() == []
    # A second resume of the same data id finds nothing waiting.
    assert net.call(alice, yielder.account_id, "resume", {"data_id": data_id, "payload": "again"}).json() is False


def test_only_the_creating_account_can_resume(net: Localnet) -> None:
    yielder = _account(net, "owner", "yielder")
    other = _account(net, "other", "yielder")
    tx_hash, data_id = _start_yield(net, yielder, yielder, "mine")
    stolen = net.call(other, other.account_id, "resume", {"data_id": data_id, "payload": "hijack"})
    assert stolen.json() is False
    assert net.wait(tx_hash, yielder.account_id, max_blocks=2).pending
    assert net.call(yielder, yielder.account_id, "resume", {"data_id": data_id, "payload": "ok"}).json() is True
    assert net.wait(tx_hash, yielder.account_id, max_blocks=4).json() == {"tag": "mine", "payload": "ok"}


def test_resume_payload_over_1024_bytes_fails(net: Localnet) -> None:
    yielder = _account(net, "bigpayload", "yielder")
    tx_hash, data_id = _start_yield(net, yielder, yielder, "big")
    result = net.call(yielder, yielder.account_id, "resume", {"data_id": data_id, "payload": "x" * 1025})
    assert function_call_error(result) == {
        "ExecutionError": "Yield resume payload is 1025 bytes which exceeds the 1024 byte limit"
    }
    assert net.call(yielder, yielder.account_id, "resume", {"data_id": data_id, "payload": "y" * 1024}).json() is True
    assert net.wait(tx_hash, yielder.account_id, max_blocks=4).json()["payload"] == "y" * 1024


def test_yield_times_out_after_200_blocks_with_a_failed_result(net: Localnet) -> None:
    yielder = _account(net, "sleepy", "yielder")
    alice = _account(net, "alice")
    tx_hash, data_id = _start_yield(net, yielder, alice, "late")
    start = receipt_outcome(net.result(tx_hash, alice.account_id), yielder.account_id)
    created = outcome_height(net, start)
    timeout = VM_LIMITS.yield_timeout_length_in_blocks
    assert timeout == 200

    net.fast_forward(created + timeout - 1 - net.height)  # one block before the timeout: still waiting
    assert net.height == created + timeout - 1
    assert net.result(tx_hash, alice.account_id).pending
    net.produce_blocks(1)  # height created + 200: the yield expires, its empty resume is queued
    assert net.result(tx_hash, alice.account_id).pending
    net.produce_blocks(1)  # created + 201: the callback runs with promise_result(0) == failed
    result = net.result(tx_hash, alice.account_id)
    assert result.json() == {"tag": "late", "timed_out": True}  # only the callback's gas refund is left
    result = net.wait(tx_hash, alice.account_id, max_blocks=2)
    assert not result.pending
    callback = [o for o in result.receipt_outcomes if "yield timed out" in o["outcome"]["logs"]]
    assert len(callback) == 1 and outcome_height(net, callback[0]) == created + timeout + 1
    assert success_json(callback[0]) == {"tag": "late", "timed_out": True}
    assert net.view(yielder.account_id, "pending").json() == []
    # Too late to resume.
    assert net.call(alice, yielder.account_id, "resume", {"data_id": data_id, "payload": "late"}).json() is False
