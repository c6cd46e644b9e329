"""Promise host functions (tests/localnet/wat/promises.wat): the receipts a call plans, joint promises, gas weights,
yield/resume and promise results, with nearcore's host errors."""

from __future__ import annotations

import pytest
from test_runtime_support import TGAS, MemoryExternal, PromiseResult, run, wat

from localnet.runtime.api import PromiseResultStatus, ReturnKind
from localnet.types import (
    AddKey,
    CreateAccount,
    DeleteAccount,
    DeleteKey,
    DeployContract,
    FunctionCall,
    Stake,
    Transfer,
)

PROMISES = wat("promises")


def test_a_batch_with_every_action() -> None:
    outcome = run(PROMISES, "batch_all")
    assert outcome.error is None, outcome.error
    (plan,) = outcome.receipts
    assert plan.receiver_id == "bob.near"
    kinds = [type(a) for a in plan.actions]
    assert kinds == [
        CreateAccount,
        DeployContract,
        FunctionCall,
        FunctionCall,
        Transfer,
        Stake,
        AddKey,
        AddKey,
        DeleteKey,
        DeleteAccount,
    ]
    deploy, call, weighted, transfer = plan.actions[1], plan.actions[2], plan.actions[3], plan.actions[4]
    assert isinstance(deploy, DeployContract) and deploy.code == b"\x00asm\x01\x00\x00\x00"
    assert isinstance(call, FunctionCall) and (call.method_name, call.args, call.gas) == ("f", b"{}", 10 * TGAS)
    assert isinstance(weighted, FunctionCall) and weighted.gas_weight == 2 and weighted.gas > 0  # got the unused gas
    assert isinstance(transfer, Transfer) and transfer.deposit == 1
    fc_key = plan.actions[7]
    assert isinstance(fc_key, AddKey) and fc_key.access_key.permission is not None
    assert fc_key.access_key.permission.method_names == ("a", "b")
    assert outcome.return_data.kind == ReturnKind.RECEIPT_INDEX and outcome.return_data.receipt_index == 0
    # All prepaid gas is used: the weighted call took whatever the call did not burn or reserve.
    assert outcome.used_gas == 300 * TGAS


def test_then_and_joint_promises_wire_data_dependencies() -> None:
    outcome = run(PROMISES, "then_chain")
    first, second = outcome.receipts
    assert [d for d, _ in first.output_data_receivers] == second.input_data_ids
    assert first.output_data_receivers[0][1] == "contract.near"
    assert outcome.return_data.receipt_index == 1

    joint = run(PROMISES, "and_then")
    bob, alice, callback = joint.receipts
    assert int.from_bytes(joint.return_data.value, "little") == 3  # promises 0, 1, the joint 2, then 3
    assert callback.input_data_ids == [bob.output_data_receivers[0][0], alice.output_data_receivers[0][0]]


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("append_to_joint", "Actions can only be appended to non-joint promise."),
        ("return_joint", "Returning joint promise is currently prohibited."),
        ("bad_promise_index", "5 does not correspond to existing promises"),
        ("bad_account_id", "VM Logic returned an invalid account id"),
        ("empty_method_name", "Tried to call an empty method name."),
        ("too_much_gas", "Exceeded the prepaid gas."),
        ("too_much_deposit", "Exceeded the account balance."),
        ("many_promises", "The number of promises within a FunctionCall 1025 exceeds the limit 1024"),
        ("result7", "Accessed invalid promise result index: 7"),
    ],
)
def test_promise_errors(method: str, message: str) -> None:
    outcome = run(PROMISES, method, account_balance=0)
    assert outcome.error is not None and outcome.error.message == message
    assert outcome.receipts == []  # a failed call creates nothing


def test_weights_split_the_unused_gas() -> None:
    outcome = run(PROMISES, "weights", prepaid_gas=100 * TGAS)
    (plan,) = outcome.receipts
    light, heavy = plan.actions
    assert isinstance(light, FunctionCall) and isinstance(heavy, FunctionCall)
    share_light, share_heavy = light.gas, heavy.gas - 1000
    # Weights 1 and 3: the heavy call gets three shares (plus the remainder), the light one one share.
    assert share_light > 0 and 0 <= share_heavy - 3 * share_light < 4
    assert outcome.used_gas == 100 * TGAS


def test_yield_create_returns_the_data_id_and_only_a_waiting_yield_resumes() -> None:
    created = run(PROMISES, "yield_create")
    data_id = created.return_data.value
    (callback,) = created.receipts
    assert len(data_id) == 32 and callback.is_promise_yield and callback.input_data_ids == [data_id]
    assert isinstance(callback.actions[0], FunctionCall) and callback.actions[0].method_name == "cb"

    waiting = MemoryExternal(waiting_yields={data_id})
    resumed = run(PROMISES, "resume", waiting, input=data_id + b"payload")
    assert int.from_bytes(resumed.return_data.value, "little") == 1
    assert resumed.yield_resumes == [(data_id, b"payload")]
    unknown = run(PROMISES, "resume", MemoryExternal(), input=data_id + b"payload")
    assert int.from_bytes(unknown.return_data.value, "little") == 0 and unknown.yield_resumes == []


def test_resume_limits() -> None:
    data_id = bytes(32)
    too_long = run(PROMISES, "resume", MemoryExternal({data_id}), input=data_id + b"x" * 1025)
    assert too_long.error is not None
    assert too_long.error.message == "Yield resume payload is 1025 bytes which exceeds the 1024 byte limit"
    malformed = run(PROMISES, "resume_whole_input", input=bytes(31))
    assert malformed.error is not None and malformed.error.message == "yield resumption token is malformed"


def test_yields_and_promises_are_prohibited_in_views() -> None:
    for method, name in (("yield_create", "promise_yield_create"), ("create_only", "promise_batch_create")):
        outcome = run(PROMISES, method, is_view=True, prepaid_gas=0)
        assert outcome.error is not None and outcome.error.message == f"{name} is not allowed in view calls"


def test_promise_results() -> None:
    results = (PromiseResult(PromiseResultStatus.SUCCESS, b"ok"), PromiseResult(PromiseResultStatus.FAILED))
    assert int.from_bytes(run(PROMISES, "results_count", promise_results=results).return_data.value, "little") == 2
    success = run(PROMISES, "result0", promise_results=results).return_data.value
    assert (int.from_bytes(success[:8], "little"), success[8:]) == (1, b"ok")
    failed = run(PROMISES, "result0", promise_results=results[::-1]).return_data.value
    assert int.from_bytes(failed, "little") == 2
