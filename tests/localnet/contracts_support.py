"""Shared helpers for the nearc-contract tests: building the test contracts (cached on disk by
`contract.build`) and reading outcomes off the in-process `Localnet`. Contains no tests itself."""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from localnet.chain import Localnet, TxResult
from localnet.chain.costs import GAS_PRICE_YOCTO, receipt_exec_gas
from localnet.runtime.fees import BURNT_GAS_REWARD
from localnet.types import FunctionCall

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
TGAS = 10**12
NEAR = 10**24


@functools.cache
def contract_wasm(name: str, patched: bool = True) -> bytes:
    """Compile tests/localnet/contracts/<name>.py with nearc (cached by a hash of the sources)."""
    from contract.build import build_contract
    from contract.errors import ToolchainMissingError

    try:
        return build_contract(CONTRACTS_DIR / f"{name}.py", patched=patched).read_bytes()
    except ToolchainMissingError as exc:  # pragma: no cover - setup.sh installs the toolchain
        pytest.skip(f"nearc toolchain missing: {exc}")


def receipt_outcome(result: TxResult, executor_id: str, index: int = 0) -> dict[str, Any]:
    """The `index`-th receipt outcome executed by `executor_id` (refunds from `system` excluded)."""
    found = [o for o in result.receipt_outcomes if o["outcome"]["executor_id"] == executor_id]
    return found[index]


def outcome_height(net: Localnet, outcome: dict[str, Any]) -> int:
    return int(net.chain.block({"block_id": outcome["block_hash"]})["header"]["height"])


def success_json(outcome: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(outcome["outcome"]["status"]["SuccessValue"]))


def function_call_error(result: TxResult) -> Any:
    """The FunctionCallError of a failed transaction's final status."""
    failure = result.failure
    assert failure is not None, result.status
    return failure["ActionError"]["kind"]["FunctionCallError"]


def refunds_to(net: Localnet, result: TxResult, account_id: str) -> int:
    """Sum of the transfers `system` sent to `account_id` as refunds of this transaction."""
    total = 0
    for outcome in result.receipt_outcomes:
        if outcome["outcome"]["executor_id"] != account_id:
            continue
        receipt = net.chain.receipt(outcome["id"])
        if receipt["predecessor_id"] != "system":
            continue
        for action in receipt["receipt"]["Action"]["actions"]:
            total += int(action["Transfer"]["deposit"])
    return total


def exec_fees(net: Localnet, outcome: dict[str, Any]) -> int:
    """Exec fees of an executed function-call receipt (receipt creation + each call's action fee)."""
    receipt = net.chain.receipt(outcome["id"])
    calls = [
        FunctionCall(fc["method_name"], base64.b64decode(fc["args"]), int(fc["gas"]), int(fc["deposit"]))
        for fc in (action["FunctionCall"] for action in receipt["receipt"]["Action"]["actions"])
    ]
    return receipt_exec_gas(calls)


def contract_reward(net: Localnet, result: TxResult, contract_id: str) -> int:
    """What `contract_id` earns for the calls it ran in this transaction: 30% of the gas its VM burnt."""
    total = 0
    for outcome in result.receipt_outcomes:
        if (
            outcome["outcome"]["executor_id"] != contract_id
            or net.chain.receipt(outcome["id"])["predecessor_id"] == "system"
        ):
            continue
        vm_burnt = outcome["outcome"]["gas_burnt"] - exec_fees(net, outcome)
        total += vm_burnt * BURNT_GAS_REWARD[0] // BURNT_GAS_REWARD[1] * GAS_PRICE_YOCTO
    return total
