"""Contract loading: memory rewrite, import rules, limits, method resolution."""

from __future__ import annotations

import dataclasses

import pytest
import wasmtime
from test_runtime_support import run, wat, wat_text

from localnet.runtime import RuntimeConfig
from localnet.runtime.fees import EXT_COSTS, VM_LIMITS
from localnet.runtime.prepare import PrepareFailure, prepare_contract


def _memory_imports(code: bytes) -> list[wasmtime.MemoryType]:
    module = wasmtime.Module(wasmtime.Engine(), code)
    return [imp.type for imp in module.imports if isinstance(imp.type, wasmtime.MemoryType)]


def test_own_memory_becomes_imported_env_memory_with_nearcore_limits() -> None:
    prepared = prepare_contract(wat("host_basics"), VM_LIMITS).code
    (memory,) = _memory_imports(prepared)
    assert (memory.limits.min, memory.limits.max) == (VM_LIMITS.initial_memory_pages, VM_LIMITS.max_memory_pages)
    module = wasmtime.Module(wasmtime.Engine(), prepared)
    assert not any(isinstance(e.type, wasmtime.MemoryType) and e.name != "memory" for e in module.exports)


def test_guest_sees_1024_pages_and_cannot_grow_past_2048() -> None:
    code = wat("host_basics")
    pages = run(code, "mem_pages")
    assert int.from_bytes(pages.return_data.value, "little") == 1024
    assert int.from_bytes(run(code, "grow_past_max").return_data.value, "little", signed=True) == -1
    assert int.from_bytes(run(code, "grow_to_max").return_data.value, "little") == 1024


def test_module_without_memory_or_imports_still_gets_env_memory() -> None:
    prepared = prepare_contract(wat_text('(module (func (export "f")))'), VM_LIMITS).code
    assert len(_memory_imports(prepared)) == 1
    assert run(wat_text('(module (func (export "f")))'), "f").error is None


def test_custom_sections_are_discarded() -> None:
    code = wat_text('(module (func (export "f")))') + b"\x00\x05\x04name"  # trailing custom section
    prepared = prepare_contract(code, VM_LIMITS).code
    assert b"name" not in prepared


@pytest.mark.parametrize(
    ("import_text", "variant"),
    [
        ('(import "wasi" "fd_write" (func (param i32)))', "Instantiate"),
        ('(import "env" "tbl" (table 1 funcref))', "Instantiate"),
        ('(import "env" "g" (global i32))', "Instantiate"),
        ('(import "env" "memory" (memory 1))', "Memory"),
    ],
)
def test_forbidden_imports_are_prepare_errors(import_text: str, variant: str) -> None:
    code = wat_text(f'(module {import_text} (func (export "f")))')
    outcome = run(code, "f")
    assert outcome.error is not None
    assert outcome.error.kind == ("FunctionCallError", "CompilationError", "PrepareError", variant)
    assert outcome.error.rpc_json == {"CompilationError": {"PrepareError": variant}}
    assert outcome.aborted_before_execution and outcome.burnt_gas == _loading_fee(code)


def test_unknown_env_function_is_a_link_error() -> None:
    code = wat_text('(module (import "env" "no_such_host_fn" (func)) (func (export "f")))')
    outcome = run(code, "f")
    assert outcome.error is not None and outcome.error.kind == ("FunctionCallError", "LinkError")
    assert "no_such_host_fn" in outcome.error.message


def test_wrong_signature_for_known_host_function_is_a_link_error() -> None:
    code = wat_text('(module (import "env" "panic" (func (param i32))) (func (export "f")))')
    outcome = run(code, "f")
    assert outcome.error is not None and outcome.error.kind == ("FunctionCallError", "LinkError")


def test_garbage_is_deserialization_error() -> None:
    outcome = run(b"\x00asm\x01\x00\x00\x00\x01\xff", "f")
    assert outcome.error is not None
    assert outcome.error.message == "PrepareError: Error happened while deserializing the module."
    assert run(b"not wasm", "f").error == outcome.error


def test_function_and_locals_limits() -> None:
    limits = dataclasses.replace(VM_LIMITS, max_functions_number_per_contract=2, max_locals_per_contract=3)
    three_funcs = wat_text('(module (import "env" "panic" (func)) (func (export "f")) (func))')
    with pytest.raises(PrepareFailure) as exc:
        prepare_contract(three_funcs, limits)
    assert exc.value.variant == "TooManyFunctions"
    many_locals = wat_text('(module (func (export "f") (local i32 i32 i64 i64)))')
    outcome = run(many_locals, "f", config=RuntimeConfig(limits=limits))
    assert outcome.error is not None and outcome.error.kind[-1] == "TooManyLocals"


def test_table_limits() -> None:
    two_tables = wat_text('(module (table 1 funcref) (table 1 funcref) (func (export "f")))')
    assert run(two_tables, "f").error is not None
    big_table = wat_text('(module (table 10001 funcref) (func (export "f")))')
    outcome = run(big_table, "f")
    assert outcome.error is not None and outcome.error.kind[-1] == "Instantiate"
    assert run(wat_text('(module (table 10000 funcref) (func (export "f")))'), "f").error is None


@pytest.mark.parametrize(
    ("method", "variant"),
    [("", "MethodEmptyName"), ("missing", "MethodNotFound"), ("not_a_function", "MethodNotFound"),
     ("with_params", "MethodInvalidSignature")],
)
def test_method_resolve_errors_burn_only_the_loading_fee(method: str, variant: str) -> None:
    code = wat("host_basics")
    outcome = run(code, method)
    assert outcome.error is not None
    assert outcome.error.kind == ("FunctionCallError", "MethodResolveError", variant)
    assert outcome.error.message == variant
    assert outcome.error.rpc_json == {"MethodResolveError": variant}
    # nearcore charges the contract loading fee before resolving the method, except for an empty name.
    fee = 0 if variant == "MethodEmptyName" else _loading_fee(code)
    assert (outcome.burnt_gas, outcome.used_gas, outcome.wasm_ops) == (fee, fee, 0)
    assert outcome.aborted_before_execution


def test_loading_fee_beyond_prepaid_gas_is_gas_exceeded() -> None:
    code = wat("host_basics")
    outcome = run(code, "mem_pages", prepaid_gas=_loading_fee(code) - 1)
    assert outcome.error is not None and outcome.error.message == "Exceeded the prepaid gas."
    assert outcome.aborted_before_execution and outcome.wasm_ops == 0


def _loading_fee(code: bytes) -> int:
    return EXT_COSTS.contract_loading_base + EXT_COSTS.contract_loading_bytes * len(code)
