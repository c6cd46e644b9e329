"""Errors of the `contract` package (the contract build step).

    ContractBuildError            root; also a RuntimeError for callers that expect one
    ├── ToolchainMissingError     emcc / nearc / near-sdk-py not installed (run `make setup`)
    ├── ContractSourceError       the contract source path is not a buildable contract
    └── CompileError              nearc / make / emcc failed (carries the tail of the build log)
"""

from __future__ import annotations


class ContractBuildError(RuntimeError):
    """Root of every error raised by `contract.build`."""


class ToolchainMissingError(ContractBuildError):
    """A tool the build needs is not installed."""


class ContractSourceError(ContractBuildError):
    """The given path is not a contract source that can be built."""


class CompileError(ContractBuildError):
    """The compiler ran and failed; `log_tail` holds the end of its output."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(f"{message}\n--- build log (tail) ---\n{log_tail}" if log_tail else message)
        self.log_tail = log_tail
