"""Cross: a localnet test contract for promises (cross-contract call + callback, transfers, gas burning).

Methods take JSON arguments; amounts are decimal strings (yoctoNEAR), gas in whole Tgas.
"""

import json

import near

TGAS = 1_000_000_000_000


def _args():
    raw = near.input()
    return json.loads(raw) if raw else {}


def _return_json(value):
    near.value_return(json.dumps(value))


@near.export
def call_other():
    """{"account_id", "method", "args"?: object, "deposit"?: str, "gas_tgas"?: int} -> the callee's result via `on_result`."""
    args = _args()
    call_args = json.dumps(args.get("args", {}))
    deposit = int(args.get("deposit", "0"))
    gas = int(args.get("gas_tgas", 20)) * TGAS
    promise = near.promise_create(args["account_id"], args["method"], call_args, deposit, gas)
    callback = near.promise_then(promise, near.current_account_id(), "on_result", "{}", 0, 10 * TGAS)
    near.promise_return(callback)


@near.export
def on_result():
    """Callback: reports promise_result(0) as {"status": 1|2, "data": str|None, "count": n}."""
    count = near.promise_results_count()
    status, data = near.promise_result(0)
    near.log_utf8("on_result: status " + str(status))
    _return_json({"status": status, "data": data.decode() if data is not None else None, "count": count})


@near.export
def transfer():
    """{"receiver_id", "amount": str}: send `amount` yocto from this contract's balance."""
    args = _args()
    promise = near.promise_batch_create(args["receiver_id"])
    near.promise_batch_action_transfer(promise, int(args["amount"]))


@near.export
def deposit_and_refund():
    """Payable: keep 1 yocto, transfer the rest of the attached deposit back to the predecessor."""
    attached = near.attached_deposit()
    if attached < 1:
        near.panic_utf8("attach at least 1 yoctoNEAR")
    if attached > 1:
        promise = near.promise_batch_create(near.predecessor_account_id())
        near.promise_batch_action_transfer(promise, attached - 1)
    _return_json({"attached": str(attached), "refunded": str(attached - 1)})


@near.export
def burn_gas():
    """{"iterations": int}: spin a loop (for gas accounting and GasExceeded tests)."""
    iterations = int(_args().get("iterations", 1000))
    total = 0
    for i in range(iterations):
        total += i * i
    _return_json({"total": total, "used_gas": near.used_gas()})


@near.export
def balances():
    """This contract's balance, locked balance and the attached deposit (decimal strings)."""
    _return_json({
        "balance": str(near.account_balance()),
        "locked": str(near.account_locked_balance()),
        "attached": str(near.attached_deposit()),
    })
