"""Operator counting (`localnet.runtime.meter`): nearcore's model — every operator costs regular_op_cost except
block/else/end, charged per basic block up front — exact at traps and at the prepaid-gas boundary."""

from __future__ import annotations

import pytest
import wasmtime
from test_runtime_support import run, wat, wat_text

from localnet.runtime.fees import EXT_COSTS, REGULAR_OP_COST, VM_LIMITS
from localnet.runtime.meter import instrument
from localnet.runtime.prepare import prepare_contract

# `spin`: a loop of 8 operators run 1,000 times, then `unreachable`.
# Blocks: [loop] = 1, loop body [local.get … br_if] = 8 per iteration, [end] = 0, [unreachable] = 1, [end] = 0.
SPIN = wat_text(
    """
(module
 (func (export "spin") (local $i i32)
   (loop $l
     (local.set $i (i32.add (local.get $i) (i32.const 1)))
     (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
   unreachable))
"""
)
SPIN_OPS = 1 + 8 * 1000 + 1


def _loading_fee(code: bytes) -> int:
    return EXT_COSTS.contract_loading_base + EXT_COSTS.contract_loading_bytes * len(code)


def test_a_trap_after_a_long_loop_is_charged_for_every_operator() -> None:
    outcome = run(SPIN, "spin")
    assert (
        outcome.error is not None and outcome.error.message == "WebAssembly trap: An `unreachable` opcode was executed."
    )
    assert outcome.wasm_ops == SPIN_OPS
    assert outcome.burnt_gas == _loading_fee(SPIN) + SPIN_OPS * REGULAR_OP_COST


@pytest.mark.parametrize(("spare_ops", "expected"), [(0, "unreachable"), (-1, "gas")])
def test_prepaid_gas_boundary_is_exact(spare_ops: int, expected: str) -> None:
    prepaid = _loading_fee(SPIN) + (SPIN_OPS + spare_ops) * REGULAR_OP_COST
    outcome = run(SPIN, "spin", prepaid_gas=prepaid)
    assert outcome.error is not None
    if expected == "unreachable":
        assert outcome.error.kind[-1] == "Unreachable"
        assert outcome.burnt_gas == prepaid
    else:
        # The last block (the `unreachable`) does not fit: GasExceeded, and all prepaid gas is burnt.
        assert outcome.error.message == "Exceeded the prepaid gas."
        assert outcome.burnt_gas == prepaid


def test_host_calls_see_the_operators_run_so_far() -> None:
    # Between the two used_gas calls: [i64.store, loop] = 2, 100 x 8 loop body, [i32.const, call] = 2.
    code = wat_text(
        """
(module
 (import "env" "used_gas" (func $used_gas (result i64)))
 (import "env" "value_return" (func $value_return (param i64 i64)))
 (memory 1)
 (func (export "twice") (local $i i32)
   (i64.store (i32.const 0) (call $used_gas))
   (loop $l
     (local.set $i (i32.add (local.get $i) (i32.const 1)))
     (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
   (i64.store (i32.const 8) (call $used_gas))
   (call $value_return (i64.const 16) (i64.const 0))))
"""
    )
    outcome = run(code, "twice")
    assert outcome.error is None
    before, after = (int.from_bytes(outcome.return_data.value[i : i + 8], "little") for i in (0, 8))
    assert after - before == (2 + 100 * 8 + 2) * REGULAR_OP_COST + EXT_COSTS.base


@pytest.mark.parametrize("name", ["host_basics", "crypto", "promises"])
def test_instrumented_modules_stay_valid(name: str) -> None:
    prepared = prepare_contract(wat(name), VM_LIMITS).code
    module = wasmtime.Module(wasmtime.Engine(), instrument(prepared, 10**6))
    exported = {e.name for e in module.exports}
    assert {"__localnet_ops", "__localnet_ops_limit"} <= exported
