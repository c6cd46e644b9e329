"""The promise DAG and the receipts a call creates (nearcore's `ReceiptManager`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from localnet.runtime import errors
from localnet.runtime.api import External, ReceiptPlan
from localnet.types import Action, FunctionCall


@dataclass(frozen=True)
class Promise:
    """A promise is one receipt, or (from promise_and) a joint set of receipts."""

    receipt_index: int | None = None
    joint: tuple[int, ...] = ()


class ReceiptManager:
    def __init__(self, ext: External) -> None:
        self._ext = ext
        self.receipts: list[ReceiptPlan] = []
        self.promises: list[Promise] = []
        # (receipt index, action index, weight) of function calls with gas_weight > 0.
        self._weighted: list[tuple[int, int, int]] = []

    def receiver(self, receipt_index: int) -> str:
        return self.receipts[receipt_index].receiver_id

    def create_action_receipt(self, dependencies: list[int], receiver_id: str) -> int:
        input_ids: list[bytes] = []
        for dep in dependencies:
            data_id = self._ext.generate_data_id()
            self.receipts[dep].output_data_receivers.append((data_id, receiver_id))
            input_ids.append(data_id)
        self.receipts.append(ReceiptPlan(receiver_id=receiver_id, input_data_ids=input_ids))
        return len(self.receipts) - 1

    def create_promise_yield_receipt(self, receiver_id: str) -> tuple[int, bytes]:
        data_id = self._ext.generate_data_id()
        self.receipts.append(ReceiptPlan(receiver_id=receiver_id, input_data_ids=[data_id], is_promise_yield=True))
        return len(self.receipts) - 1, data_id

    def is_own_waiting_yield(self, data_id: bytes) -> bool:
        return any(r.is_promise_yield and r.input_data_ids == [data_id] for r in self.receipts)

    def append_action(self, receipt_index: int, action: Action) -> None:
        actions = self.receipts[receipt_index].actions
        if isinstance(action, FunctionCall) and action.gas_weight > 0:
            self._weighted.append((receipt_index, len(actions), action.gas_weight))
        actions.append(action)

    def push_promise(self, promise: Promise, limit: int) -> int:
        self.promises.append(promise)
        if len(self.promises) > limit:
            raise errors.number_promises_exceeded(len(self.promises), limit)
        return len(self.promises) - 1

    def promise(self, index: int) -> Promise:
        if index >= len(self.promises):
            raise errors.invalid_promise_index(index)
        return self.promises[index]

    def receipt_of(self, promise_index: int) -> int:
        promise = self.promise(promise_index)
        if promise.receipt_index is None:
            raise errors.cannot_append_action_to_joint_promise()
        return promise.receipt_index

    def distribute_unused_gas(self, unused_gas: int) -> bool:
        """Split `unused_gas` by weight (floor per weight, remainder to the last); True if any weight."""
        total = sum(w for _, _, w in self._weighted)
        if total == 0:
            return False
        per_weight = unused_gas // total
        distributed = 0
        for n, (receipt_index, action_index, weight) in enumerate(self._weighted):
            assigned = per_weight * weight
            if n == len(self._weighted) - 1:
                assigned = unused_gas - distributed
            distributed += assigned
            actions = self.receipts[receipt_index].actions
            call = actions[action_index]
            assert isinstance(call, FunctionCall)
            actions[action_index] = dataclasses.replace(call, gas=call.gas + assigned)
        return True
