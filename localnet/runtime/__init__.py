"""The Wasm VM of the embedded localnet: nearcore's contract preparation, host functions and gas
on wasmtime. Entry point: `run_function_call(code, method, context, ext, config=None) -> VMOutcome`."""

from localnet.runtime.config import RuntimeConfig
from localnet.runtime.runner import run_function_call

__all__ = ["RuntimeConfig", "run_function_call"]
