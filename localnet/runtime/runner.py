"""`run_function_call`: prepare, instrument (operator counting), compile (cached), link and run one contract method."""

from __future__ import annotations

import ctypes
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import wasmtime
from wasmtime import _ffi

from localnet.runtime import errors, hostlink, meter
from localnet.runtime.api import External, ReturnData, ReturnKind, VMContext, VMError, VMOutcome
from localnet.runtime.config import RuntimeConfig
from localnet.runtime.engine import compile_module, engine_for
from localnet.runtime.gas import GasCounter
from localnet.runtime.imports import HOST_FUNCTIONS, func_type
from localnet.runtime.logic import VMLogic
from localnet.runtime.prepare import PreparedModule, PrepareFailure, prepare_contract
from localnet.runtime.vmstate import GuestMemory

_DEFAULT_CONFIG: RuntimeConfig | None = None
_prepared_lock = threading.Lock()
_prepared: OrderedDict[str, PreparedModule | str] = OrderedDict()

_TRAPS = {
    wasmtime.TrapCode.UNREACHABLE: "Unreachable",
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: "MemoryOutOfBounds",
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: "CallIndirectOOB",
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: "IndirectCallToNull",
    wasmtime.TrapCode.BAD_SIGNATURE: "IncorrectCallIndirectSignature",
    wasmtime.TrapCode.INTEGER_OVERFLOW: "IllegalArithmetic",
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "IllegalArithmetic",
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: "IllegalArithmetic",
    wasmtime.TrapCode.HEAP_MISALIGNED: "MisalignedAtomicAccess",
}


def default_config() -> RuntimeConfig:
    global _DEFAULT_CONFIG
    if _DEFAULT_CONFIG is None:
        _DEFAULT_CONFIG = RuntimeConfig()
    return _DEFAULT_CONFIG


_digests_lock = threading.Lock()
_digests: OrderedDict[int, tuple[bytes, str]] = OrderedDict()  # id(code) -> (code, sha256 hex), recent codes


def _code_digest(code: bytes) -> str:
    """sha256(code), remembered for the code objects seen last: the chain passes the same `bytes` from its state on
    every call, and hashing a 330 KiB contract on each of a signing flow's four calls cost ~1 ms."""
    with _digests_lock:
        hit = _digests.get(id(code))
        if hit is not None and hit[0] is code:
            return hit[1]
    digest = hashlib.sha256(code).hexdigest()
    with _digests_lock:
        _digests[id(code)] = (code, digest)  # holding `code` keeps its id from being reused
        while len(_digests) > 16:
            _digests.popitem(last=False)
    return digest


def _prepare_cached(code: bytes, config: RuntimeConfig) -> PreparedModule | str:
    """Prepared module, or the PrepareError variant, cached by sha256(code)."""
    key = _code_digest(code) + repr(config.limits)
    with _prepared_lock:
        hit = _prepared.get(key)
        if hit is not None:
            _prepared.move_to_end(key)
            return hit
    try:
        prepared = prepare_contract(code, config.limits)
        initial_limit = config.limits.max_gas_burnt // config.regular_op_cost
        result: PreparedModule | str = PreparedModule(
            meter.instrument(prepared.code, initial_limit), prepared.imported_functions
        )
    except PrepareFailure as failure:
        result = failure.variant
    with _prepared_lock:
        _prepared[key] = result
        while len(_prepared) > max(config.lru_size, 1) * 4:
            _prepared.popitem(last=False)
    return result


def _aborted(context: VMContext, error: VMError, gas: GasCounter | None = None) -> VMOutcome:
    """nearcore's `VMOutcome::abort`: nothing ran, but the gas already charged (contract loading) is burnt."""
    return VMOutcome(
        balance=context.account_balance,
        storage_usage=context.storage_usage,
        return_data=ReturnData(ReturnKind.NONE),
        burnt_gas=0 if gas is None else gas.burnt_gas,
        used_gas=0 if gas is None else gas.used_gas,
        logs=[],
        receipts=[],
        yield_resumes=[],
        error=error,
        aborted_before_execution=True,
    )


@dataclass(frozen=True)
class _Linked:
    """A compiled module whose imports were checked against the host functions, with its methods resolved."""

    module: wasmtime.Module
    imports: tuple[str, ...]  # import names in order ("memory" for env.memory)
    methods: dict[str, VMError | None]  # export name -> None (callable) or its MethodResolveError


_linked_lock = threading.Lock()
_linked: OrderedDict[str, _Linked | VMError] = OrderedDict()


def load_module(code: bytes, config: RuntimeConfig) -> wasmtime.Module | VMError:
    """Prepare + compile (cached); a VMError for code nearcore would reject."""
    linked = _load_linked(code, config)
    return linked if isinstance(linked, VMError) else linked.module


def _load_linked(code: bytes, config: RuntimeConfig) -> _Linked | VMError:
    """`load_module` plus the import check and method table, cached per (code, limits, stack size): checking the
    ~60 imports through wasmtime's type objects cost more than running a small view."""
    key = _code_digest(code) + repr(config.limits) + f"/{config.max_wasm_stack_bytes}"
    with _linked_lock:
        hit = _linked.get(key)
        if hit is not None:
            _linked.move_to_end(key)
            return hit
    result = _link(code, config)
    with _linked_lock:
        _linked[key] = result
        while len(_linked) > max(config.lru_size, 1):
            _linked.popitem(last=False)
    return result


def _link(code: bytes, config: RuntimeConfig) -> _Linked | VMError:
    prepared = _prepare_cached(code, config)
    if isinstance(prepared, str):
        return errors.prepare_vm_error(prepared)
    try:
        module = compile_module(prepared.code, config)
    except wasmtime.WasmtimeError:
        return errors.prepare_vm_error("Deserialization")
    names: list[str] = []
    for imp in module.imports:
        name = imp.name or ""
        names.append(name)
        if imp.module == "env" and name == "memory":
            continue
        if name not in HOST_FUNCTIONS:
            return errors.link_vm_error(f"unknown import: `{imp.module}::{name}` has not been defined")
        if not isinstance(imp.type, wasmtime.FuncType) or not _same_type(imp.type, func_type(name)):
            return errors.link_vm_error(f"incompatible import type for `{imp.module}::{imp.name}`")
    methods: dict[str, VMError | None] = {}
    for export in module.exports:
        if export.name in methods:
            continue
        ty = export.type
        if not isinstance(ty, wasmtime.FuncType):
            methods[export.name] = errors.method_resolve_error("MethodNotFound")
        elif list(ty.params) or list(ty.results):
            methods[export.name] = errors.method_resolve_error("MethodInvalidSignature")
        else:
            methods[export.name] = None
    return _Linked(module, tuple(names), methods)


def _same_type(a: wasmtime.FuncType, b: wasmtime.FuncType) -> bool:
    return [str(p) for p in a.params] == [str(p) for p in b.params] and [str(r) for r in a.results] == [
        str(r) for r in b.results
    ]


def _resolve_method(linked: _Linked, method: str) -> VMError | None:
    if method not in linked.methods:
        return errors.method_resolve_error("MethodNotFound")
    return linked.methods[method]


def _export(store: wasmtime.Store, instance: wasmtime.Instance, name: str) -> wasmtime.Func | wasmtime.Global | None:
    """One export by name. `Instance.exports` wraps every export of the module (hundreds for a nearc contract)
    on each call; this looks up only the one needed. Falls back to the public API if wasmtime's internals move."""
    try:
        item = _ffi.wasmtime_extern_t()
        raw = name.encode()
        found = _ffi.wasmtime_instance_export_get(store._context(), ctypes.byref(instance._instance),
                                                  ctypes.create_string_buffer(raw), len(raw), ctypes.byref(item))
        if not found:
            return None
        kind: int = item.kind  # type: ignore[assignment]  # ctypes fields read as Python ints
        if kind == _ffi.WASMTIME_EXTERN_FUNC.value:
            return wasmtime.Func._from_raw(item.of.func)
        if kind == _ffi.WASMTIME_EXTERN_GLOBAL.value:
            return wasmtime.Global._from_raw(item.of.global_)
        return None
    except AttributeError:  # pragma: no cover - another wasmtime-py layout
        found_item = instance.exports(store).get(name)
        return found_item if isinstance(found_item, wasmtime.Func | wasmtime.Global) else None


def _set_i64(store: wasmtime.Store, global_: wasmtime.Global, value: int) -> None:
    """`Global.set_value` for an i64 global without re-reading the global's type on every call (that lookup was
    the most expensive part of metering a host call). Falls back to the public API if wasmtime's internals move."""
    try:
        raw = _ffi.wasmtime_val_t(kind=_ffi.WASMTIME_I64.value)
        raw.of.i64 = value
        error = _ffi.wasmtime_global_set(store._context(), ctypes.byref(global_._global), ctypes.byref(raw))
    except AttributeError:  # pragma: no cover - another wasmtime-py layout
        global_.set_value(store, wasmtime.Val.i64(value))
        return
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)


def _get_i64(store: wasmtime.Store, global_: wasmtime.Global) -> int:
    """`Global.value` for an i64 global without building a `Val` (read at every host call). Falls back to the public
    API if wasmtime's internals move."""
    try:
        raw = _ffi.wasmtime_val_t()
        _ffi.wasmtime_global_get(store._context(), ctypes.byref(global_._global), ctypes.byref(raw))
        value: int = raw.of.i64
        return value
    except AttributeError:  # pragma: no cover - another wasmtime-py layout
        found = global_.value(store)
        assert isinstance(found, int)
        return found


class _OpMeter:
    """Turns the module's operator count (`localnet.runtime.meter`) into gas at every host-call boundary."""

    def __init__(self, store: wasmtime.Store, gas: GasCounter, op_cost: int) -> None:
        self.store = store
        self.gas = gas
        self.op_cost = op_cost
        self.ops_global: wasmtime.Global | None = None
        self.limit_global: wasmtime.Global | None = None
        self.ops = 0  # operators already converted into gas
        self.limit = 0

    def bind(self, instance: wasmtime.Instance) -> None:
        ops, limit = _export(self.store, instance, meter.OPS_GLOBAL), _export(self.store, instance, meter.LIMIT_GLOBAL)
        assert isinstance(ops, wasmtime.Global) and isinstance(limit, wasmtime.Global)
        self.ops_global, self.limit_global = ops, limit

    def counted(self) -> int:
        if self.ops_global is None:
            return self.ops
        return _get_i64(self.store, self.ops_global)

    def refill(self) -> None:
        """Let the guest run as many operators as the gas left pays for."""
        self.limit = self.ops + max(0, self.gas.remaining) // self.op_cost
        if self.limit_global is not None:
            _set_i64(self.store, self.limit_global, self.limit)

    def settle(self) -> None:
        """Burn the gas of the operators counted since the last settle (raises GasExceeded & co.)."""
        counted = self.counted()
        consumed, self.ops = counted - self.ops, counted
        if consumed > 0:
            self.gas.burn(consumed * self.op_cost)

    @property
    def exhausted(self) -> bool:
        return self.counted() > self.limit


def run_function_call(
    code: bytes, method: str, context: VMContext, ext: External, config: RuntimeConfig | None = None
) -> VMOutcome:
    """Run `method` of `code` like nearcore's VM. Contract failures come back in `VMOutcome.error`;
    exceptions raised by `ext` (chain bugs) propagate."""
    config = config or default_config()
    if not method:
        return _aborted(context, errors.method_resolve_error("MethodEmptyName"))
    max_burnt = config.limits.max_gas_burnt_view if context.is_view else config.limits.max_gas_burnt
    gas = GasCounter(max_burnt, context.prepaid_gas, context.is_view)
    # nearcore `before_loading_executable`: the loading fee is charged before compiling or resolving the method,
    # so compilation, link and method-resolve errors burn it too; failing to pay it is reported as GasExceeded.
    try:
        gas.pay_per(config.ext_costs.contract_loading_bytes, len(code))
        gas.pay_base(config.ext_costs.contract_loading_base)
    except errors.HostErrorSignal:
        return _aborted(context, errors.host_vm_error(errors.gas_exceeded()), gas)
    linked = _load_linked(code, config)
    if isinstance(linked, VMError):
        return _aborted(context, linked, gas)
    resolve_error = _resolve_method(linked, method)
    if resolve_error is not None:
        return _aborted(context, resolve_error, gas)

    logic = VMLogic(context, ext, config, gas)
    store = wasmtime.Store(engine_for(config))
    ops = _OpMeter(store, gas, config.regular_op_cost)
    memory = wasmtime.Memory(
        store,
        wasmtime.MemoryType(wasmtime.Limits(config.limits.initial_memory_pages, config.limits.max_memory_pages)),
    )
    logic.memory = GuestMemory(store, memory, gas, config.ext_costs)

    error: VMError | None = None
    ops.refill()
    try:
        with hostlink.active(hostlink.HostCall(logic, ops.settle, ops.refill)):
            instance = hostlink.instantiate(store, engine_for(config), linked.module, memory)
            ops.bind(instance)
            ops.settle()  # a start function's operators
            ops.refill()
            entry = _export(store, instance, method)
            assert isinstance(entry, wasmtime.Func)
            entry(store)
            ops.settle()
    except errors.HostErrorSignal as signal:
        error = errors.host_vm_error(signal)
    except wasmtime.Trap as trap:
        error = _trap_error(trap, ops, gas)
    except wasmtime.WasmtimeError as exc:  # instantiation failures not expressed as traps
        error = errors.link_vm_error(str(exc))

    if error is None and not context.is_view:
        unused = context.prepaid_gas - gas.used_gas
        if unused > 0 and logic.receipts.distribute_unused_gas(unused):
            gas.prepay(unused)

    return VMOutcome(
        balance=logic.balance,
        storage_usage=logic.storage_usage_now,
        return_data=logic.return_data if error is None else ReturnData(ReturnKind.NONE),
        burnt_gas=gas.burnt_gas,
        used_gas=gas.used_gas,
        logs=logic.logs,
        receipts=logic.receipts.receipts if error is None else [],
        yield_resumes=logic.yield_resumes if error is None else [],
        error=error,
        wasm_ops=ops.counted(),
    )


def _trap_error(trap: wasmtime.Trap, ops: _OpMeter, gas: GasCounter) -> VMError:
    code = trap.trap_code
    if code == wasmtime.TrapCode.UNREACHABLE and ops.exhausted:
        # The metering check of a basic block that costs more than the gas left: burn up to the limit.
        return errors.host_vm_error(gas.exhaust())
    try:
        ops.settle()
    except errors.HostErrorSignal as signal:
        return errors.host_vm_error(signal)
    if code == wasmtime.TrapCode.STACK_OVERFLOW:
        # nearcore's finite-wasm stack accounting reports exhaustion as a host error.
        return errors.host_vm_error(errors.memory_access_violation())
    if code is not None and code in _TRAPS:
        return errors.trap_vm_error(_TRAPS[code])
    return errors.trap_vm_error("GenericTrap")
