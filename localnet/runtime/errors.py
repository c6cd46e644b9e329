"""Errors of the Wasm VM, shaped like nearcore's (`runtime/near-vm-runner/src/logic/errors.rs`).

    VMRuntimeError(LocalnetError)      root of everything raised inside `localnet.runtime`
    └── HostErrorSignal                a host function failed; unwinds the guest, never escapes
                                       `run_function_call` (it becomes `VMOutcome.error`)

Contract-caused failures are values (`VMError`), built here with nearcore's kind path,
Display text and RPC JSON (`{"ExecutionError": text}` for host errors and traps, as
nearcore's `near_primitives::errors::FunctionCallError` serialises them).
"""

from __future__ import annotations

from localnet.errors import LocalnetError
from localnet.runtime.api import VMError


class VMRuntimeError(LocalnetError):
    """Root of errors raised inside the Wasm VM."""


class HostErrorSignal(VMRuntimeError):
    """A nearcore `HostError` raised by a host function: `name` is the variant, `message` its Display text,
    `fields` the variant's fields (for its Rust Debug form, which view-call errors print)."""

    def __init__(self, name: str, message: str, fields: dict[str, str | int] | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.fields = dict(fields or {})

    @property
    def debug(self) -> str:
        """Rust's `{:?}` of the HostError variant, e.g. `GuestPanic { panic_msg: "boom" }`."""
        if not self.fields:
            return self.name
        return self.name + " { " + ", ".join(f"{k}: {_rust_debug(v)}" for k, v in self.fields.items()) + " }"


def _rust_debug(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _h(name: str, message: str, **fields: str | int) -> HostErrorSignal:
    return HostErrorSignal(name, message, fields)


# ---- HostError variants (Display strings verbatim from nearcore) ---------------------------


def bad_utf8() -> HostErrorSignal:
    return _h("BadUTF8", "String encoding is bad UTF-8 sequence.")


def bad_utf16() -> HostErrorSignal:
    return _h("BadUTF16", "String encoding is bad UTF-16 sequence.")


def gas_exceeded() -> HostErrorSignal:
    return _h("GasExceeded", "Exceeded the prepaid gas.")


def gas_limit_exceeded() -> HostErrorSignal:
    return _h("GasLimitExceeded", "Exceeded the maximum amount of gas allowed to burn per contract.")


def balance_exceeded() -> HostErrorSignal:
    return _h("BalanceExceeded", "Exceeded the account balance.")


def empty_method_name() -> HostErrorSignal:
    return _h("EmptyMethodName", "Tried to call an empty method name.")


def guest_panic(msg: str) -> HostErrorSignal:
    return _h("GuestPanic", f"Smart contract panicked: {msg}", panic_msg=msg)


def integer_overflow() -> HostErrorSignal:
    return _h("IntegerOverflow", "Integer overflow.")


def invalid_promise_index(idx: int) -> HostErrorSignal:
    return _h("InvalidPromiseIndex", f"{idx} does not correspond to existing promises", promise_idx=idx)


def cannot_append_action_to_joint_promise() -> HostErrorSignal:
    return _h("CannotAppendActionToJointPromise", "Actions can only be appended to non-joint promise.")


def cannot_return_joint_promise() -> HostErrorSignal:
    return _h("CannotReturnJointPromise", "Returning joint promise is currently prohibited.")


def invalid_promise_result_index(idx: int) -> HostErrorSignal:
    return _h("InvalidPromiseResultIndex", f"Accessed invalid promise result index: {idx}", result_idx=idx)


def invalid_register_id(register_id: int) -> HostErrorSignal:
    return _h("InvalidRegisterId", f"Accessed invalid register id: {register_id}", register_id=register_id)


def memory_access_violation() -> HostErrorSignal:
    return _h("MemoryAccessViolation", "Accessed memory outside the bounds.")


def invalid_account_id() -> HostErrorSignal:
    return _h("InvalidAccountId", "VM Logic returned an invalid account id")


def invalid_method_name() -> HostErrorSignal:
    return _h("InvalidMethodName", "VM Logic returned an invalid method name")


def invalid_public_key() -> HostErrorSignal:
    return _h("InvalidPublicKey", "VM Logic provided an invalid public key")


def prohibited_in_view(method_name: str) -> HostErrorSignal:
    return _h("ProhibitedInView", f"{method_name} is not allowed in view calls", method_name=method_name)


def number_of_logs_exceeded(limit: int) -> HostErrorSignal:
    return _h("NumberOfLogsExceeded", f"The number of logs will exceed the limit {limit}", limit=limit)


def key_length_exceeded(length: int, limit: int) -> HostErrorSignal:
    return _h(
        "KeyLengthExceeded",
        f"The length of a storage key {length} exceeds the limit {limit}",
        length=length,
        limit=limit,
    )


def value_length_exceeded(length: int, limit: int) -> HostErrorSignal:
    return _h(
        "ValueLengthExceeded",
        f"The length of a storage value {length} exceeds the limit {limit}",
        length=length,
        limit=limit,
    )


def total_log_length_exceeded(length: int, limit: int) -> HostErrorSignal:
    return _h(
        "TotalLogLengthExceeded",
        f"The length of a log message {length} exceeds the limit {limit}",
        length=length,
        limit=limit,
    )


def number_promises_exceeded(number: int, limit: int) -> HostErrorSignal:
    return _h(
        "NumberPromisesExceeded",
        f"The number of promises within a FunctionCall {number} exceeds the limit {limit}",
        number_of_promises=number,
        limit=limit,
    )


def number_input_data_dependencies_exceeded(number: int, limit: int) -> HostErrorSignal:
    return _h(
        "NumberInputDataDependenciesExceeded",
        f"The number of input data dependencies {number} exceeds the limit {limit}",
        number_of_input_data_dependencies=number,
        limit=limit,
    )


def returned_value_length_exceeded(length: int, limit: int) -> HostErrorSignal:
    return _h(
        "ReturnedValueLengthExceeded",
        f"The length of a returned value {length} exceeds the limit {limit}",
        length=length,
        limit=limit,
    )


def contract_size_exceeded(size: int, limit: int) -> HostErrorSignal:
    return _h(
        "ContractSizeExceeded",
        f"The size of a contract code in DeployContract action {size} exceeds the limit {limit}",
        size=size,
        limit=limit,
    )


def ecrecover_error(msg: str) -> HostErrorSignal:
    return _h("ECRecoverError", f"ECDSA recover error: {msg}", msg=msg)


def alt_bn128_invalid_input(msg: str) -> HostErrorSignal:
    return _h("AltBn128InvalidInput", f"AltBn128 invalid input: {msg}", msg=msg)


def bls12381_invalid_input(msg: str) -> HostErrorSignal:
    return _h("BLS12381InvalidInput", f"BLS12-381 invalid input: {msg}", msg=msg)


def ed25519_verify_invalid_input(msg: str) -> HostErrorSignal:
    return _h("Ed25519VerifyInvalidInput", f"ED25519 signature verification error: {msg}", msg=msg)


def yield_payload_length(length: int, limit: int) -> HostErrorSignal:
    return _h(
        "YieldPayloadLength",
        f"Yield resume payload is {length} bytes which exceeds the {limit} byte limit",
        length=length,
        limit=limit,
    )


def data_id_malformed() -> HostErrorSignal:
    return _h("DataIdMalformed", "yield resumption token is malformed")


# ---- VMError builders ----------------------------------------------------------------------


def host_vm_error(signal: HostErrorSignal) -> VMError:
    return VMError(
        ("FunctionCallError", "HostError", signal.name),
        signal.message,
        {"ExecutionError": signal.message},
        debug=f"HostError({signal.debug})",
    )


_TRAP_TEXT = {
    "Unreachable": "An `unreachable` opcode was executed.",
    "IncorrectCallIndirectSignature": "Call indirect incorrect signature trap.",
    "MemoryOutOfBounds": "Memory out of bounds trap.",
    "CallIndirectOOB": "Call indirect out of bounds trap.",
    "IllegalArithmetic": "An arithmetic exception, e.g. divided by zero.",
    "MisalignedAtomicAccess": "Misaligned atomic access trap.",
    "IndirectCallToNull": "Indirect call to null.",
    "StackOverflow": "Stack overflow.",
    "GenericTrap": "Generic trap.",
}


def trap_vm_error(trap: str) -> VMError:
    text = f"WebAssembly trap: {_TRAP_TEXT[trap]}"
    return VMError(("FunctionCallError", "WasmTrap", trap), text, {"ExecutionError": text}, debug=f"WasmTrap({trap})")


def method_resolve_error(variant: str) -> VMError:
    """MethodEmptyName / MethodNotFound / MethodInvalidSignature (Display = the variant name)."""
    return VMError(
        ("FunctionCallError", "MethodResolveError", variant),
        variant,
        {"MethodResolveError": variant},
        debug=f"MethodResolveError({variant})",
    )


_PREPARE_TEXT = {
    "Serialization": "Error happened while serializing the module.",
    "Deserialization": "Error happened while deserializing the module.",
    "InternalMemoryDeclared": "Internal memory declaration has been found in the module.",
    "GasInstrumentation": "Gas instrumentation failed.",
    "StackHeightInstrumentation": "Stack instrumentation failed.",
    "Instantiate": "Error happened during instantiation.",
    "Memory": "Error creating memory.",
    "TooManyFunctions": "Too many functions in contract.",
    "TooManyLocals": "Too many locals declared in the contract.",
}


def prepare_vm_error(variant: str) -> VMError:
    text = f"PrepareError: {_PREPARE_TEXT[variant]}"
    return VMError(
        ("FunctionCallError", "CompilationError", "PrepareError", variant),
        text,
        {"CompilationError": {"PrepareError": variant}},
        debug=f"CompilationError(PrepareError({variant}))",
    )


def link_vm_error(msg: str) -> VMError:
    debug = f"LinkError {{ msg: {_rust_debug(msg)} }}"
    return VMError(("FunctionCallError", "LinkError"), msg, {"LinkError": {"msg": msg}}, debug=debug)
