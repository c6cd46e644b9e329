"""The `env` imports a NEAR contract may use: name → (number of i64 params, result type).

The 58 functions a nearc contract imports, plus nearcore's nine BLS12-381 functions. Every argument
is i64; `promise_yield_resume` returns i32; functions listed with "i64" return a u64 (wasm i64).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wasmtime

from localnet.runtime.gas import U64_MAX

HOST_FUNCTIONS: dict[str, tuple[int, str | None]] = {
    "read_register": (2, None),
    "register_len": (1, "i64"),
    "write_register": (3, None),
    "current_account_id": (1, None),
    "signer_account_id": (1, None),
    "signer_account_pk": (1, None),
    "predecessor_account_id": (1, None),
    "input": (1, None),
    "block_index": (0, "i64"),
    "block_timestamp": (0, "i64"),
    "epoch_height": (0, "i64"),
    "storage_usage": (0, "i64"),
    "account_balance": (1, None),
    "account_locked_balance": (1, None),
    "attached_deposit": (1, None),
    "prepaid_gas": (0, "i64"),
    "used_gas": (0, "i64"),
    "random_seed": (1, None),
    "sha256": (3, None),
    "keccak256": (3, None),
    "keccak512": (3, None),
    "ripemd160": (3, None),
    "ecrecover": (7, "i64"),
    "ed25519_verify": (6, "i64"),
    "alt_bn128_g1_multiexp": (3, None),
    "alt_bn128_g1_sum": (3, None),
    "alt_bn128_pairing_check": (2, "i64"),
    "bls12381_p1_sum": (3, "i64"),
    "bls12381_p2_sum": (3, "i64"),
    "bls12381_g1_multiexp": (3, "i64"),
    "bls12381_g2_multiexp": (3, "i64"),
    "bls12381_map_fp_to_g1": (3, "i64"),
    "bls12381_map_fp2_to_g2": (3, "i64"),
    "bls12381_pairing_check": (2, "i64"),
    "bls12381_p1_decompress": (3, "i64"),
    "bls12381_p2_decompress": (3, "i64"),
    "value_return": (2, None),
    "panic": (0, None),
    "panic_utf8": (2, None),
    "log_utf8": (2, None),
    "log_utf16": (2, None),
    "promise_create": (8, "i64"),
    "promise_then": (9, "i64"),
    "promise_and": (2, "i64"),
    "promise_batch_create": (2, "i64"),
    "promise_batch_then": (3, "i64"),
    "promise_batch_action_create_account": (1, None),
    "promise_batch_action_deploy_contract": (3, None),
    "promise_batch_action_function_call": (7, None),
    "promise_batch_action_function_call_weight": (8, None),
    "promise_batch_action_transfer": (2, None),
    "promise_batch_action_stake": (4, None),
    "promise_batch_action_add_key_with_full_access": (4, None),
    "promise_batch_action_add_key_with_function_call": (9, None),
    "promise_batch_action_delete_key": (3, None),
    "promise_batch_action_delete_account": (3, None),
    "promise_yield_create": (7, "i64"),
    "promise_yield_resume": (4, "i32"),
    "promise_results_count": (0, "i64"),
    "promise_result": (2, "i64"),
    "promise_return": (1, None),
    "storage_write": (5, "i64"),
    "storage_read": (3, "i64"),
    "storage_remove": (3, "i64"),
    "storage_has_key": (2, "i64"),
    "validator_stake": (3, None),
    "validator_total_stake": (1, None),
}

_I64 = wasmtime.ValType.i64()
_I32 = wasmtime.ValType.i32()
_MASK = U64_MAX


_FUNC_TYPES: dict[str, wasmtime.FuncType] = {}


def func_type(name: str) -> wasmtime.FuncType:
    """The wasm type of host function `name` (built once: FuncTypes are store-independent and immutable)."""
    ty = _FUNC_TYPES.get(name)
    if ty is None:
        params, result = HOST_FUNCTIONS[name]
        results = [] if result is None else [_I64 if result == "i64" else _I32]
        ty = _FUNC_TYPES[name] = wasmtime.FuncType([_I64] * params, results)
    return ty


def to_wasm(value: int, result: str | None) -> int | None:
    """u64 → signed i64 (or u32 → i32) as wasmtime expects."""
    if result is None:
        return None
    bits = 64 if result == "i64" else 32
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def make_host_callable(
    method: Callable[..., Any], result: str | None, before: Callable[[], None], after: Callable[[], None]
) -> Callable[..., int | None]:
    """Wrap a VMLogic method: turn the operators counted so far into gas first, reset the operator limit afterwards."""

    def host(*args: int) -> int | None:
        before()
        try:
            value = method(*[a & _MASK for a in args])
        finally:
            after()
        return to_wasm(value, result) if result is not None else None

    return host
