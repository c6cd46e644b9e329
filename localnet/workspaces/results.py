"""Immutable views of transaction and view-call results, built from nearcore's RPC JSON."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from localnet.workspaces.errors import TransactionFailed, ViewFailed

JSON = dict[str, Any]


@dataclass(frozen=True)
class ExecutionOutcome:
    """One outcome (of the transaction or of a receipt): `{"id", "block_hash", "outcome": {...}}`."""

    id: str
    block_hash: str
    executor_id: str
    logs: tuple[str, ...]
    receipt_ids: tuple[str, ...]
    gas_burnt: int
    tokens_burnt: int
    status: Any

    @classmethod
    def from_json(cls, entry: JSON) -> ExecutionOutcome:
        outcome = entry["outcome"]
        return cls(
            id=entry["id"],
            block_hash=entry.get("block_hash", ""),
            executor_id=outcome["executor_id"],
            logs=tuple(outcome.get("logs", ())),
            receipt_ids=tuple(outcome.get("receipt_ids", ())),
            gas_burnt=int(outcome["gas_burnt"]),
            tokens_burnt=int(outcome["tokens_burnt"]),
            status=outcome["status"],
        )

    @property
    def is_failure(self) -> bool:
        return isinstance(self.status, dict) and "Failure" in self.status

    @property
    def is_success(self) -> bool:
        return not self.is_failure


@dataclass(frozen=True)
class ExecutionFinalResult:
    """The outcome of a transaction, as `tx`/`send_tx` report it."""

    tx_hash: str
    status: Any  # {"SuccessValue": b64} | {"Failure": ...} | "Started" | "NotStarted"
    final_execution_status: str
    transaction_outcome: ExecutionOutcome
    receipt_outcomes: tuple[ExecutionOutcome, ...]
    raw: JSON

    @classmethod
    def from_json(cls, view: JSON) -> ExecutionFinalResult:
        tx_outcome = ExecutionOutcome.from_json(view["transaction_outcome"])
        return cls(
            tx_hash=view["transaction"]["hash"],
            status=view["status"],
            final_execution_status=view.get("final_execution_status", ""),
            transaction_outcome=tx_outcome,
            receipt_outcomes=tuple(ExecutionOutcome.from_json(e) for e in view.get("receipts_outcome", ())),
            raw=view,
        )

    @property
    def is_success(self) -> bool:
        return isinstance(self.status, dict) and "SuccessValue" in self.status

    @property
    def is_failure(self) -> bool:
        return isinstance(self.status, dict) and "Failure" in self.status

    @property
    def failure(self) -> Any:
        return self.status["Failure"] if self.is_failure else None

    @property
    def outcomes(self) -> tuple[ExecutionOutcome, ...]:
        return (self.transaction_outcome, *self.receipt_outcomes)

    @property
    def failures(self) -> tuple[ExecutionOutcome, ...]:
        return tuple(o for o in self.outcomes if o.is_failure)

    @property
    def logs(self) -> list[str]:
        return [line for o in self.outcomes for line in o.logs]

    @property
    def total_gas_burnt(self) -> int:
        return sum(o.gas_burnt for o in self.outcomes)

    @property
    def raw_bytes(self) -> bytes:
        self.into_result()
        return base64.b64decode(self.status["SuccessValue"])

    def json(self) -> Any:
        """The returned value decoded as JSON (raises TransactionFailed on failure)."""
        return json.loads(self.raw_bytes)

    def into_result(self) -> ExecutionFinalResult:
        """Self when successful; raises `TransactionFailed` otherwise."""
        if not self.is_success:
            raise TransactionFailed(self.failure if self.is_failure else self.status, self.logs)
        return self


@dataclass(frozen=True)
class ViewResult:
    """A `call_function` view: the returned bytes, logs and the block it was read at."""

    result: bytes
    logs: tuple[str, ...]
    block_height: int
    block_hash: str

    @classmethod
    def from_json(cls, answer: JSON) -> ViewResult:
        if "error" in answer:
            raise ViewFailed(str(answer["error"]), list(answer.get("logs", ())))
        return cls(bytes(answer["result"]), tuple(answer.get("logs", ())), answer["block_height"], answer["block_hash"])

    def json(self) -> Any:
        return json.loads(self.result)
