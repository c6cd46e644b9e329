"""Bad input at the chain level: each gets nearcore's error kind (and text) and changes no state.

Rejected transactions (`InvalidTxError`) must leave balances, nonces and storage exactly as they were.
Accepted transactions whose receipt fails (unknown receiver or method, a trap, running out of gas, a VM limit)
change nothing but the gas the signer paid: its balance drops by exactly the tokens burnt.
The runtime-level WAT tests cover each host error in isolation; these drive them through whole transactions.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import wasmtime
from contracts_support import NEAR, TGAS, contract_wasm, function_call_error

from localnet.chain import InMemorySigner, Localnet, MalformedTransaction, SecretKey, sign_transaction
from localnet.chain.costs import GAS_PRICE_YOCTO, transaction_cost
from localnet.errors import InvalidTransaction
from localnet.runtime.fees import VM_LIMITS
from localnet.types import AccessKey, AddKey, FunctionCall, FunctionCallPermission, Transfer

# write(): stores k=v, then traps / loops / breaks a limit depending on the method.
LIMITS_WAT = r"""
(module
 (import "env" "storage_write" (func $storage_write (param i64 i64 i64 i64 i64) (result i64)))
 (import "env" "log_utf8" (func $log_utf8 (param i64 i64)))
 (import "env" "value_return" (func $value_return (param i64 i64)))
 (memory 1)
 (data (i32.const 0) "kv")
 (func $write (drop (call $storage_write (i64.const 1) (i64.const 0) (i64.const 1) (i64.const 1) (i64.const 0))))
 (func (export "ok") (call $write) (call $value_return (i64.const 1) (i64.const 1)))
 (func (export "trap") (call $write) (unreachable))
 (func (export "spin") (call $write) (loop $l (br $l)))
 (func (export "long_key")
   (call $write)
   (drop (call $storage_write (i64.const 2049) (i64.const 0) (i64.const 1) (i64.const 0) (i64.const 0))))
 (func (export "many_logs") (local $i i32)
   (call $write)
   (loop $l
     (call $log_utf8 (i64.const 1) (i64.const 0))
     (local.set $i (i32.add (local.get $i) (i32.const 1)))
     (br_if $l (i32.lt_u (local.get $i) (i32.const 101)))))
 (func (export "divide") (drop (i32.div_u (i32.const 1) (i32.const 0)))))
"""

# store(): writes the raw input under "k".
STORE_WAT = r"""
(module
 (import "env" "input" (func $input (param i64)))
 (import "env" "storage_write" (func $storage_write (param i64 i64 i64 i64 i64) (result i64)))
 (memory 1)
 (data (i32.const 0) "k")
 (func (export "store")
   (call $input (i64.const 0))
   (drop (call $storage_write (i64.const 1) (i64.const 0) (i64.const -1) (i64.const 0) (i64.const 1)))))
"""

_names = itertools.count()


@dataclass
class World:
    net: Localnet
    alice: InMemorySigner
    counter: InMemorySigner
    limits: InMemorySigner
    fc_key: SecretKey  # function-call key of alice: counter.increment only, 0.01 NEAR allowance

    def accounts(self) -> tuple[str, ...]:
        return (self.alice.account_id, self.counter.account_id, self.limits.account_id)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with Localnet() as net:
        alice = net.create_account("alice.test.near", 50 * NEAR)
        counter = net.create_account("counter.test.near", 10 * NEAR)
        net.deploy(counter, contract_wasm("counter"))
        limits = net.create_account("limits.test.near", 10 * NEAR)
        net.deploy(limits, bytes(wasmtime.wat2wasm(LIMITS_WAT)))
        fc_key = SecretKey.generate()
        permission = FunctionCallPermission(NEAR // 100, counter.account_id, ("increment",))
        assert net.execute(alice, alice.account_id, [AddKey(fc_key.public_key, AccessKey(0, permission))]).is_success
        net.call(alice, counter.account_id, "set_count", {"value": 10})
        yield World(net, alice, counter, limits, fc_key)


def _sign(world: World, actions: list[Any], **overrides: Any) -> bytes:
    net, alice = world.net, world.alice
    fields: dict[str, Any] = {
        "signer_id": alice.account_id,
        "secret_key": alice.secret_key,
        "public_key": None,
        "nonce": net.access_key_nonce(alice) + 1,
        "receiver_id": world.counter.account_id,
        "block_hash": net.block_hash(),
        "actions": actions,
    }
    fields.update(overrides)
    return sign_transaction(**fields)


def _call(method: str = "increment", gas: int = 30 * TGAS, deposit: int = 0) -> FunctionCall:
    return FunctionCall(method, b'{"by": 1}', gas, deposit)


def _assert_rejected(world: World, raw: bytes) -> Any:
    """Submit `raw`, expect InvalidTransaction; nothing changes, now or after the next block."""
    net = world.net
    before = net.snapshot(*world.accounts())
    with pytest.raises(InvalidTransaction) as caught:
        net.chain.submit_transaction(raw)
    assert net.snapshot(*world.accounts()) == before
    net.produce_blocks(1)
    assert net.snapshot(*world.accounts()) == before
    assert caught.value.cause_name == "INVALID_TRANSACTION"
    assert caught.value.data == caught.value.info
    return caught.value


def _fc_signed(world: World, receiver: str, actions: list[Any]) -> bytes:
    signer = InMemorySigner(world.alice.account_id, world.fc_key)
    nonce = world.net.access_key_nonce(signer) + 1
    return _sign(world, actions, secret_key=world.fc_key, nonce=nonce, receiver_id=receiver)


# ---- malformed bytes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: b"",
        lambda raw: b"\x00" * 7,
        lambda raw: raw[:-1],
        lambda raw: raw + b"\x00",
        lambda raw: raw[:4] + b"\xff\xfe" + raw[6:],  # signer id no longer UTF-8
        lambda raw: b"\x01\x05" + raw[2:],  # a TransactionV1 header
    ],
    ids=["empty", "zeros", "truncated", "trailing-byte", "bad-utf8", "v1"],
)
def test_malformed_transactions_are_parse_errors(world: World, mangle: Callable[[bytes], bytes]) -> None:
    before = world.net.snapshot(*world.accounts())
    with pytest.raises(MalformedTransaction) as caught:
        world.net.chain.submit_transaction(mangle(_sign(world, [_call()])))
    assert str(caught.value).startswith("Failed to decode transaction")
    assert caught.value.cause_name == "PARSE_ERROR"
    assert world.net.snapshot(*world.accounts()) == before


# ---- InvalidTxError --------------------------------------------------------------------------------


def test_bad_signature(world: World) -> None:
    forged = _sign(world, [_call()], secret_key=SecretKey.generate(), public_key=world.alice.public_key)
    error = _assert_rejected(world, forged)
    assert error.data == {"TxExecutionError": {"InvalidTxError": "InvalidSignature"}}
    assert error.message == "Transaction is not signed with the given public key"

    good = bytearray(_sign(world, [_call()]))
    good[-1] ^= 0x01  # flip one bit of the signature
    assert _assert_rejected(world, bytes(good)).data == error.data


def test_wrong_nonce(world: World) -> None:
    current = world.net.access_key_nonce(world.alice)
    error = _assert_rejected(world, _sign(world, [_call()], nonce=current))
    assert error.data == {
        "TxExecutionError": {"InvalidTxError": {"InvalidNonce": {"tx_nonce": current, "ak_nonce": current}}}
    }
    assert error.message == (f"Transaction nonce {current} must be larger than nonce of the used access key {current}")
    huge = (world.net.height + 1) * 1_000_000 + 10**12
    error = _assert_rejected(world, _sign(world, [_call()], nonce=huge))
    assert set(error.data["TxExecutionError"]["InvalidTxError"]) == {"NonceTooLarge"}
    # The rejected nonces were not consumed: the next valid nonce still works.
    tx_hash = world.net.chain.submit_transaction(_sign(world, [_call()], nonce=current + 1))
    assert world.net.wait(tx_hash, world.alice.account_id).is_success


def test_unknown_signer_and_unknown_key(world: World) -> None:
    error = _assert_rejected(world, _sign(world, [_call()], signer_id="ghost.test.near"))
    assert error.data == {
        "TxExecutionError": {"InvalidTxError": {"SignerDoesNotExist": {"signer_id": "ghost.test.near"}}}
    }
    stranger = SecretKey.generate()
    error = _assert_rejected(world, _sign(world, [_call()], secret_key=stranger))
    assert error.data == {
        "TxExecutionError": {
            "InvalidTxError": {
                "InvalidAccessKeyError": {
                    "AccessKeyNotFound": {"account_id": world.alice.account_id, "public_key": str(stranger.public_key)}
                }
            }
        }
    }


def test_expired_or_unknown_block_hash(world: World) -> None:
    error = _assert_rejected(world, _sign(world, [_call()], block_hash=bytes(32)))
    assert error.data == {"TxExecutionError": {"InvalidTxError": "Expired"}}
    assert error.message == "Transaction has expired"


def test_balance_and_gas_limits(world: World) -> None:
    alice_balance = world.net.balance(world.alice.account_id)
    error = _assert_rejected(world, _sign(world, [Transfer(alice_balance + 1)]))
    kind = error.data["TxExecutionError"]["InvalidTxError"]["NotEnoughBalance"]
    assert kind["signer_id"] == world.alice.account_id and kind["balance"] == str(alice_balance)
    assert int(kind["cost"]) > alice_balance

    too_much_gas = VM_LIMITS.max_total_prepaid_gas + 1
    error = _assert_rejected(world, _sign(world, [_call(gas=too_much_gas)]))
    assert error.data == {
        "TxExecutionError": {
            "InvalidTxError": {
                "ActionsValidation": {
                    "TotalPrepaidGasExceeded": {
                        "total_prepaid_gas": too_much_gas,
                        "limit": VM_LIMITS.max_total_prepaid_gas,
                    }
                }
            }
        }
    }


def test_invalid_receiver_id(world: World) -> None:
    error = _assert_rejected(world, _sign(world, [_call()], receiver_id="Not A Valid Id"))
    assert error.data == {
        "TxExecutionError": {"InvalidTxError": {"InvalidReceiverId": {"receiver_id": "Not A Valid Id"}}}
    }


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("method", {"MethodNameMismatch": {"method_name": "set_count"}}),
        ("receiver", {"ReceiverMismatch": {"tx_receiver": "limits.test.near", "ak_receiver": "counter.test.near"}}),
        ("deposit", "DepositWithFunctionCall"),
        ("two-actions", "RequiresFullAccess"),
        ("transfer", "RequiresFullAccess"),
    ],
)
def test_function_call_key_restrictions(world: World, case: str, expected: Any) -> None:
    counter = world.counter.account_id
    raw = {
        "method": lambda: _fc_signed(world, counter, [_call("set_count")]),
        "receiver": lambda: _fc_signed(world, world.limits.account_id, [_call("ok")]),
        "deposit": lambda: _fc_signed(world, counter, [_call(deposit=1)]),
        "two-actions": lambda: _fc_signed(world, counter, [_call(), _call()]),
        "transfer": lambda: _fc_signed(world, counter, [Transfer(1)]),
    }[case]()
    error = _assert_rejected(world, raw)
    assert error.data == {"TxExecutionError": {"InvalidTxError": {"InvalidAccessKeyError": expected}}}


def test_function_call_key_allowance(world: World) -> None:
    net = world.net
    signer = InMemorySigner(world.alice.account_id, world.fc_key)
    args = {"by": 1}
    assert net.call(signer, world.counter.account_id, "increment", args, gas=10 * TGAS).is_success
    # The allowance pays the transaction's full cost up front; refunds of unused gas go to the account, not the key.
    call = FunctionCall("increment", json.dumps(args).encode(), 10 * TGAS, 0)
    cost = transaction_cost(world.alice.account_id, world.counter.account_id, [call], GAS_PRICE_YOCTO).total_cost
    key = net.chain.state.get(("key", world.alice.account_id, world.fc_key.public_key.to_borsh()))
    assert key.permission.allowance == NEAR // 100 - cost
    # The key's 0.01 NEAR allowance pays for 100 Tgas at the minimum gas price: 300 Tgas is too much.
    error = _assert_rejected(world, _fc_signed(world, world.counter.account_id, [_call(gas=300 * TGAS)]))
    kind = error.data["TxExecutionError"]["InvalidTxError"]["InvalidAccessKeyError"]["NotEnoughAllowance"]
    assert kind["account_id"] == world.alice.account_id
    assert kind["public_key"] == str(world.fc_key.public_key)
    assert int(kind["allowance"]) < int(kind["cost"])


# ---- receipts that fail ----------------------------------------------------------------------------------


def test_storage_staking_shortfall_fails_the_receipt_and_rolls_back(world: World) -> None:
    net = world.net
    poor = net.create_account("poor.test.near", NEAR // 500)  # 0.002 NEAR stakes 200 bytes
    net.deploy(poor, bytes(wasmtime.wat2wasm(STORE_WAT)))
    usage_before, storage_before = net.account(poor.account_id).storage_usage, net.storage(poor.account_id)
    assert usage_before <= 770  # small accounts need no stake at all
    balance_before = net.balance(poor.account_id)
    call = FunctionCall("store", b"x" * 2000, 5 * TGAS, 0)
    result = net.execute(poor, poor.account_id, [call])
    kind = result.failure["ActionError"]["kind"]["LackBalanceForState"]
    assert result.failure["ActionError"]["index"] is None
    assert kind["account_id"] == poor.account_id
    usage = usage_before + len(b"k") + 2000 + 40
    # Checked after the actions, before the gas refund: the balance then is the one the transaction left.
    paid = transaction_cost(poor.account_id, poor.account_id, [call], GAS_PRICE_YOCTO).total_cost
    assert int(kind["amount"]) == usage * 10**19 - (balance_before - paid)
    assert net.storage(poor.account_id) == storage_before
    assert net.account(poor.account_id).storage_usage == usage_before


def _failing(world: World, receiver: str, action: Any) -> Any:
    """Run a transaction that is accepted but whose receipt fails; returns the final Failure."""
    net, alice = world.net, world.alice
    watched = tuple(a for a in world.accounts() if a != alice.account_id)
    before = net.snapshot(*watched)
    storage_before = {a: net.storage(a) for a in watched}
    alice_before = net.balance(alice.account_id)
    nonce_before = net.access_key_nonce(alice)
    result = net.execute(alice, receiver, [action])
    assert result.failure is not None, result.status
    assert net.access_key_nonce(alice) == nonce_before + 1  # an executed transaction does use its nonce
    assert net.balance(alice.account_id) == alice_before - result.tokens_burnt  # deposits come back
    for account_id in watched:
        assert net.storage(account_id) == storage_before[account_id]
        after = net.snapshot(account_id)
        # Only the contract's balance may move (its 30% share of the burnt gas); nothing else.
        for key, value in before.items():
            if key[1] == account_id and key[0] != "account":
                assert after.get(key) == value
    return result


def test_unknown_receiver_account(world: World) -> None:
    result = _failing(world, "nobody.test.near", Transfer(5 * NEAR))
    assert result.failure == {
        "ActionError": {"index": 0, "kind": {"AccountDoesNotExist": {"account_id": "nobody.test.near"}}}
    }


def test_unknown_method(world: World) -> None:
    result = _failing(world, world.counter.account_id, _call("no_such_method", deposit=NEAR))
    assert function_call_error(result) == {"MethodResolveError": "MethodNotFound"}
    assert world.net.view(world.counter.account_id, "get_count").json() >= 10


@pytest.mark.parametrize(
    ("method", "gas", "expected"),
    [
        ("trap", 30 * TGAS, "WebAssembly trap: An `unreachable` opcode was executed."),
        ("divide", 30 * TGAS, "WebAssembly trap: An arithmetic exception, e.g. divided by zero."),
        ("spin", 20 * TGAS, "Exceeded the prepaid gas."),
        ("long_key", 30 * TGAS, "The length of a storage key 2049 exceeds the limit 2048"),
        ("many_logs", 30 * TGAS, "The number of logs will exceed the limit 100"),
    ],
)
def test_contract_failures_roll_back(world: World, method: str, gas: int, expected: str) -> None:
    result = _failing(world, world.limits.account_id, FunctionCall(method, b"", gas, 2 * NEAR))
    assert function_call_error(result) == {"ExecutionError": expected}
    assert b"k" not in world.net.storage(world.limits.account_id)


def test_the_chain_keeps_working_after_bad_input(world: World) -> None:
    net = world.net
    height = net.height
    count = net.view(world.counter.account_id, "get_count").json()
    assert net.call(world.alice, world.counter.account_id, "increment", {"by": 1}).json() == count + 1
    assert net.call(world.alice, world.limits.account_id, "ok").value == b"v"
    assert net.storage(world.limits.account_id) == {b"k": b"v"}
    assert net.height > height
