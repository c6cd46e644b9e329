"""Benchmark the localnet's Wasm runtime: calls/s, wasm operators and gas per call.

    python3 benchmarks/bench_runtime.py [--calls N]

Measures a trivial method of a nearc contract (tests/localnet/contracts/counter.py: `get_count` as a view and
`increment` as a call) straight through `localnet.runtime.run_function_call`, the same methods as full
transactions on the in-process `Localnet` (signing, blocks, receipts, refunds), and a one-operator WAT method for
comparison. Needs the nearc toolchain (`make setup`); the first run compiles the contract (~1 min).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import wasmtime

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from localnet.chain import Localnet
from localnet.chain.state import State
from localnet.chain.vm import ChainExternal
from localnet.runtime import run_function_call
from localnet.runtime.api import VMContext, VMOutcome
from localnet.runtime.fees import REGULAR_OP_COST

TGAS = 10**12
NOOP_WAT = '(module (func (export "noop") (nop)))'


def _context(is_view: bool, method_input: bytes = b"") -> VMContext:
    return VMContext(
        current_account_id="bench.test.near",
        signer_account_id="bench.test.near",
        signer_account_pk=bytes(33),
        predecessor_account_id="bench.test.near",
        input=method_input,
        promise_results=(),
        block_height=10,
        block_timestamp_ns=1_700_000_000_000_000_000,
        epoch_height=1,
        account_balance=10**25,
        account_locked_balance=0,
        storage_usage=500_000,
        attached_deposit=0,
        prepaid_gas=0 if is_view else 300 * TGAS,
        random_seed=bytes(32),
        is_view=is_view,
    )


def _vm_bench(label: str, code: bytes, method: str, is_view: bool, calls: int, method_input: bytes = b"") -> None:
    state = State()
    context = _context(is_view, method_input)

    def once() -> VMOutcome:
        outcome = run_function_call(code, method, context, ChainExternal(state, "bench.test.near", bytes(32), 10))
        if outcome.error is not None:
            raise SystemExit(f"{label}: {outcome.error.message}")
        return outcome

    first = once()  # compiles (or loads the cached module) outside the timing
    elapsed = _timed(once, calls)
    print(
        f"{label:<44} {calls / elapsed:>9.1f} calls/s  {first.wasm_ops:>11,} wasm ops/call  "
        f"{first.burnt_gas / TGAS:>7.3f} Tgas/call  "
        f"(ops x regular_op_cost = {first.wasm_ops * REGULAR_OP_COST / TGAS:.3f} Tgas)"
    )


def _timed(fn: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return time.perf_counter() - start


def _chain_bench(code: bytes, calls: int) -> None:
    with Localnet() as net:
        account = net.create_account("bench.test.near")
        net.deploy(account, code)
        net.call(account, account.account_id, "increment", {"by": 1})  # warm the module cache
        burnt: list[int] = []

        def tx() -> None:
            result = net.call(account, account.account_id, "increment", {"by": 1})
            assert result.is_success, result.status
            burnt.append(result.gas_burnt)

        elapsed = _timed(tx, calls)
        print(
            f"{'counter.increment as a transaction (Localnet)':<44} {calls / elapsed:>9.1f} tx/s     "
            f"{'':>11}                {sum(burnt) / len(burnt) / TGAS:>7.3f} Tgas/tx (all receipts)"
        )
        view_elapsed = _timed(lambda: net.view(account.account_id, "get_count"), calls)
        print(f"{'counter.get_count as a view (Localnet)':<44} {calls / view_elapsed:>9.1f} calls/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per measurement (default 100)")
    args = parser.parse_args()

    from contract.build import build_contract
    from contract.errors import ContractBuildError

    try:
        counter = build_contract(ROOT / "tests" / "localnet" / "contracts" / "counter.py").read_bytes()
    except ContractBuildError as exc:
        print(f"bench_runtime: cannot build the counter contract: {exc}", file=sys.stderr)
        return 1
    noop = bytes(wasmtime.wat2wasm(NOOP_WAT))
    print(f"localnet runtime benchmark ({args.calls} calls each; regular_op_cost = {REGULAR_OP_COST:,} gas)")
    _vm_bench("WAT noop (VM only)", noop, "noop", False, args.calls)
    _vm_bench("nearc counter.get_count view (VM only)", counter, "get_count", True, args.calls)
    _vm_bench("nearc counter.increment call (VM only)", counter, "increment", False, args.calls, b'{"by": 1}')
    _chain_bench(counter, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
