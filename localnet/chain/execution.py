"""Receipt execution: actions, function calls through the VM, refunds, data dependencies and yields.

Follows nearcore `runtime/runtime/src/{lib,actions}.rs`:
- a receipt runs inside a state checkpoint; on failure its state changes and created receipts are dropped;
- new receipt ids are sha256(parent receipt id ‖ height LE ‖ index LE), in the order
  [contract receipts (incl. yield callbacks)] [yield-resume data] [DeleteAccount payout] [refunds] [output data];
- action hash = sha256(receipt id ‖ height LE ‖ (u64::MAX − action index) LE); data ids derive from it;
- refunds come from `system`: the attached deposit to the predecessor on failure, unused gas to the signer;
- the receiver earns 30% of the gas its function calls burnt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from localnet.chain import state as st
from localnet.chain.costs import (
    action_exec_gas,
    attached_gas,
    receipt_exec_gas,
    storage_shortfall,
    total_deposit,
)
from localnet.chain.records import (
    SYSTEM_ACCOUNT,
    Account,
    ActionReceipt,
    DataReceipt,
    Receipt,
    access_key_storage_bytes,
    b58,
    b64,
    code_hash_of,
)
from localnet.chain.state import State
from localnet.chain.validation import is_top_level, parent_of
from localnet.chain.vm import ChainExternal, run_function_call
from localnet.runtime.api import PromiseResult, PromiseResultStatus, ReturnKind, VMContext
from localnet.runtime.fees import BURNT_GAS_REWARD, STORAGE_NUM_BYTES_ACCOUNT, STORAGE_NUM_EXTRA_BYTES_RECORD, VM_LIMITS
from localnet.types import (
    AccessKey,
    Action,
    AddKey,
    CreateAccount,
    DeleteAccount,
    DeleteKey,
    DeployContract,
    FunctionCall,
    Stake,
    Transfer,
)

JSON = dict[str, Any]
U64_MAX = 2**64 - 1
ACCESS_KEY_NONCE_RANGE_MULTIPLIER = 1_000_000
MIN_TOP_LEVEL_ACCOUNT_LENGTH = 32
REGISTRAR_ACCOUNT = "registrar"


def hash_with_index(base: bytes, block_height: int, index: int) -> bytes:
    """nearcore `create_hash_upgradable` (protocol ≥ BlockHeightForReceiptId): sha256(base ‖ height LE ‖ index LE)."""
    return hashlib.sha256(base + block_height.to_bytes(8, "little") + index.to_bytes(8, "little")).digest()


def action_hash(receipt_id: bytes, block_height: int, action_index: int) -> bytes:
    return hash_with_index(receipt_id, block_height, U64_MAX - action_index)


@dataclass(frozen=True)
class BlockInfo:
    height: int
    timestamp_ns: int
    random_value: bytes
    epoch_height: int = 1


@dataclass
class ExecutionOutcome:
    """One transaction's or action receipt's outcome (nearcore ExecutionOutcomeWithIdView)."""

    id: bytes
    executor_id: str
    status: Any
    logs: list[str] = field(default_factory=list)
    receipt_ids: list[bytes] = field(default_factory=list)
    gas_burnt: int = 0
    tokens_burnt: int = 0

    def view(self, block_hash: str) -> JSON:
        return {
            "proof": [],
            "block_hash": block_hash,
            "id": b58(self.id),
            "outcome": {
                "logs": list(self.logs),
                "receipt_ids": [b58(r) for r in self.receipt_ids],
                "gas_burnt": self.gas_burnt,
                "tokens_burnt": str(self.tokens_burnt),
                "executor_id": self.executor_id,
                "status": self.status,
                "metadata": {"version": 1, "gas_profile": None},
            },
        }


@dataclass
class BlockWork:
    """What applying receipts in one block produced."""

    outcomes: list[ExecutionOutcome] = field(default_factory=list)
    outgoing: list[Receipt] = field(default_factory=list)  # executed in the next block
    created: list[Receipt] = field(default_factory=list)  # every receipt created (for EXPERIMENTAL_receipt)


class ActionFailure(Exception):
    """An action failed; `error` is nearcore's ActionError JSON ({"index", "kind"})."""

    def __init__(self, index: int | None, kind: Any) -> None:
        super().__init__(str(kind))
        self.error: JSON = {"index": index, "kind": kind}


@dataclass
class _ReceiptRun:
    """Accumulates the effects of one action receipt."""

    gas_burnt: int = 0
    gas_used: int = 0
    fn_gas_burnt: int = 0
    logs: list[str] = field(default_factory=list)
    contract_receipts: list[ActionReceipt] = field(default_factory=list)
    resume_receipts: list[DataReceipt] = field(default_factory=list)
    payouts: list[ActionReceipt] = field(default_factory=list)
    return_value: bytes = b""
    forwarded_to: ActionReceipt | None = None
    actor_id: str = ""


class ReceiptExecutor:
    """Applies receipts to the journaled state for one block."""

    def __init__(self, state: State, block: BlockInfo, work: BlockWork) -> None:
        self.state = state
        self.block = block
        self.work = work

    # ---- entry points ----
    def apply(self, receipt: Receipt) -> None:
        if isinstance(receipt, DataReceipt):
            self._apply_data(receipt)
        else:
            self._apply_action_receipt(receipt)

    def new_yield_timeouts(self, start_index: int = 0) -> None:
        """Resolve every yield that expires at or before this height with an empty (failed) resume receipt."""
        index = start_index
        expired = sorted(
            ((v, k) for k, v in self.state.all_of_kind(st.YIELD) if int(v) <= self.block.height), key=lambda e: e[0]
        )
        for _, key in expired:
            _, account_id, data_id = key
            self.state.delete(key)
            receipt = DataReceipt(
                receipt_id=hash_with_index(data_id, self.block.height, index),
                predecessor_id=account_id,
                receiver_id=account_id,
                data_id=data_id,
                data=None,
                is_promise_resume=True,
            )
            index += 1
            self.work.outgoing.append(receipt)
            self.work.created.append(receipt)

    # ---- data receipts and dependencies ----
    def _apply_data(self, receipt: DataReceipt) -> None:
        receiver, data_id = receipt.receiver_id, receipt.data_id
        self.state.set((st.RECEIVED_DATA, receiver, data_id), receipt.data)
        waiting_key = (st.WAITING, receiver, data_id)
        waiting_id = self.state.get(waiting_key)
        if waiting_id is None:
            return
        self.state.delete(waiting_key)
        pending_key = (st.PENDING_DATA, receiver, waiting_id)
        remaining = int(self.state.get(pending_key) or 1) - 1
        if remaining > 0:
            self.state.set(pending_key, remaining)
            return
        self.state.delete(pending_key)
        postponed_key = (st.POSTPONED, receiver, waiting_id)
        postponed = self.state.get(postponed_key)
        self.state.delete(postponed_key)
        if isinstance(postponed, ActionReceipt):
            self._execute(postponed)

    def _apply_action_receipt(self, receipt: ActionReceipt) -> None:
        missing = [d for d in receipt.input_data_ids if (st.RECEIVED_DATA, receipt.receiver_id, d) not in self.state]
        if not missing:
            self._execute(receipt)
            return
        self._postpone(receipt, missing)

    def _postpone(self, receipt: ActionReceipt, missing: list[bytes]) -> None:
        for data_id in missing:
            self.state.set((st.WAITING, receipt.receiver_id, data_id), receipt.receipt_id)
        self.state.set((st.PENDING_DATA, receipt.receiver_id, receipt.receipt_id), len(missing))
        self.state.set((st.POSTPONED, receipt.receiver_id, receipt.receipt_id), receipt)

    # ---- action receipts ----
    def _execute(self, receipt: ActionReceipt) -> None:
        state, height = self.state, self.block.height
        results: list[PromiseResult] = []
        for data_id in receipt.input_data_ids:
            key = (st.RECEIVED_DATA, receipt.receiver_id, data_id)
            data = state.get(key)
            state.delete(key)
            results.append(
                PromiseResult(PromiseResultStatus.FAILED)
                if data is None
                else PromiseResult(PromiseResultStatus.SUCCESS, bytes(data))
            )
        is_refund = receipt.predecessor_id == SYSTEM_ACCOUNT
        run = _ReceiptRun(actor_id=receipt.predecessor_id)
        creation_exec = receipt_exec_gas([])
        run.gas_burnt = run.gas_used = creation_exec
        checkpoint = state.checkpoint()
        failure: JSON | None = None
        try:
            for index, action in enumerate(receipt.actions):
                exec_gas = action_exec_gas(action)
                run.gas_burnt += exec_gas
                run.gas_used += exec_gas
                self._apply_action(receipt, index, action, tuple(results), run)
            self._check_storage(receipt.receiver_id)
        except ActionFailure as exc:
            failure = exc.error
        if failure is not None:
            state.rollback(checkpoint)
            run.contract_receipts, run.resume_receipts, run.payouts, run.forwarded_to = [], [], [], None
            run.gas_used = run.gas_burnt
        else:
            for resume in run.resume_receipts:
                state.delete((st.YIELD, receipt.receiver_id, resume.data_id))

        refunds: list[ActionReceipt] = []
        if not is_refund:
            if failure is not None and total_deposit(receipt.actions) > 0:
                refunds.append(self._system_transfer(receipt, receipt.predecessor_id, total_deposit(receipt.actions)))
            prepaid = receipt_exec_gas(receipt.actions) + attached_gas(receipt.actions)
            refund_gas = prepaid - run.gas_used
            if refund_gas > 0:
                refunds.append(self._system_transfer(receipt, receipt.signer_id, refund_gas * receipt.gas_price))
        reward = run.fn_gas_burnt * BURNT_GAS_REWARD[0] // BURNT_GAS_REWARD[1] * receipt.gas_price
        if reward > 0:
            account = state.get((st.ACCOUNT, receipt.receiver_id))
            if isinstance(account, Account):
                state.set((st.ACCOUNT, receipt.receiver_id), account.with_(amount=account.amount + reward))

        outputs: list[DataReceipt] = []
        if run.forwarded_to is None:
            data = None if failure is not None else run.return_value
            for data_id, receiver_id in receipt.output_data_receivers:
                outputs.append(
                    DataReceipt(b"", receipt.receiver_id, receiver_id, data_id, data, is_promise_resume=False)
                )

        new_receipts: list[Receipt] = [*run.contract_receipts, *run.resume_receipts, *run.payouts, *refunds, *outputs]
        for index, new in enumerate(new_receipts):
            new.receipt_id = hash_with_index(receipt.receipt_id, height, index)
        for new in new_receipts:
            self.work.created.append(new)
            if isinstance(new, ActionReceipt) and new.is_promise_yield:
                self._postpone(new, list(new.input_data_ids))
                expires = height + VM_LIMITS.yield_timeout_length_in_blocks
                for data_id in new.input_data_ids:
                    state.set((st.YIELD, new.receiver_id, data_id), expires)
            else:
                self.work.outgoing.append(new)

        status: Any
        if failure is not None:
            status = {"Failure": {"ActionError": failure}}
        elif run.forwarded_to is not None:
            status = {"SuccessReceiptId": b58(run.forwarded_to.receipt_id)}
        else:
            status = {"SuccessValue": b64(run.return_value)}
        self.work.outcomes.append(
            ExecutionOutcome(
                id=receipt.receipt_id,
                executor_id=receipt.receiver_id,
                status=status,
                logs=run.logs,
                receipt_ids=[r.receipt_id for r in new_receipts if isinstance(r, ActionReceipt)],
                gas_burnt=run.gas_burnt,
                tokens_burnt=0 if is_refund else run.gas_burnt * receipt.gas_price,
            )
        )

    def _system_transfer(self, receipt: ActionReceipt, receiver_id: str, amount: int) -> ActionReceipt:
        return ActionReceipt(
            receipt_id=b"",
            predecessor_id=SYSTEM_ACCOUNT,
            receiver_id=receiver_id,
            signer_id=SYSTEM_ACCOUNT,
            signer_public_key=receipt.signer_public_key,
            gas_price=0,
            actions=[Transfer(amount)],
        )

    def _check_storage(self, account_id: str) -> None:
        account = self.state.get((st.ACCOUNT, account_id))
        if not isinstance(account, Account):
            return
        short = storage_shortfall(account.amount, account.locked, account.storage_usage)
        if short > 0:
            raise ActionFailure(None, {"LackBalanceForState": {"account_id": account_id, "amount": str(short)}})

    # ---- single actions ----
    def _account(self, account_id: str) -> Account | None:
        value = self.state.get((st.ACCOUNT, account_id))
        return value if isinstance(value, Account) else None

    def _put_account(self, account_id: str, account: Account) -> None:
        self.state.set((st.ACCOUNT, account_id), account)

    def _apply_action(
        self,
        receipt: ActionReceipt,
        index: int,
        action: Action,
        results: tuple[PromiseResult, ...],
        run: _ReceiptRun,
    ) -> None:
        account_id = receipt.receiver_id
        account = self._account(account_id)
        if isinstance(action, CreateAccount):
            self._create_account(receipt, index, account)
            run.actor_id = account_id
            return
        if account is None:
            raise ActionFailure(index, {"AccountDoesNotExist": {"account_id": account_id}})
        if isinstance(action, (DeployContract, Stake, AddKey, DeleteKey, DeleteAccount)) and run.actor_id != account_id:
            raise ActionFailure(index, {"ActorNoPermission": {"account_id": account_id, "actor_id": run.actor_id}})
        if isinstance(action, Transfer):
            self._put_account(account_id, account.with_(amount=account.amount + action.deposit))
        elif isinstance(action, DeployContract):
            old = self.state.get((st.CODE, account_id))
            old_len = len(old) if old is not None else 0
            self.state.set((st.CODE, account_id), action.code)
            self._put_account(
                account_id,
                account.with_(
                    code_hash=code_hash_of(action.code),
                    storage_usage=account.storage_usage - old_len + len(action.code),
                ),
            )
        elif isinstance(action, FunctionCall):
            self._function_call(
                receipt, index, action, account.with_(amount=account.amount + action.deposit), results, run
            )
        elif isinstance(action, AddKey):
            self._add_key(account_id, index, account, action)
        elif isinstance(action, DeleteKey):
            self._delete_key(account_id, index, account, action)
        elif isinstance(action, DeleteAccount):
            self._delete_account(receipt, index, account, action, run)
        elif isinstance(action, Stake):
            self._stake(account_id, index, account, action)

    def _create_account(self, receipt: ActionReceipt, index: int, existing: Account | None) -> None:
        account_id, predecessor = receipt.receiver_id, receipt.predecessor_id
        if existing is not None:
            raise ActionFailure(index, {"AccountAlreadyExists": {"account_id": account_id}})
        if is_top_level(account_id):
            if len(account_id) < MIN_TOP_LEVEL_ACCOUNT_LENGTH and predecessor != REGISTRAR_ACCOUNT:
                raise ActionFailure(
                    index,
                    {
                        "CreateAccountOnlyByRegistrar": {
                            "account_id": account_id,
                            "registrar_account_id": REGISTRAR_ACCOUNT,
                            "predecessor_id": predecessor,
                        }
                    },
                )
        elif parent_of(account_id) != predecessor:
            raise ActionFailure(
                index, {"CreateAccountNotAllowed": {"account_id": account_id, "predecessor_id": predecessor}}
            )
        self._put_account(account_id, Account(0, 0, storage_usage=STORAGE_NUM_BYTES_ACCOUNT))

    def _add_key(self, account_id: str, index: int, account: Account, action: AddKey) -> None:
        key = (st.ACCESS_KEY, account_id, action.public_key.to_borsh())
        if key in self.state:
            raise ActionFailure(
                index, {"AddKeyAlreadyExists": {"account_id": account_id, "public_key": str(action.public_key)}}
            )
        nonce = (self.block.height - 1) * ACCESS_KEY_NONCE_RANGE_MULTIPLIER
        access_key = AccessKey(nonce, action.access_key.permission)
        self.state.set(key, access_key)
        size = access_key_storage_bytes(action.public_key, access_key) + STORAGE_NUM_EXTRA_BYTES_RECORD
        self._put_account(account_id, account.with_(storage_usage=account.storage_usage + size))

    def _delete_key(self, account_id: str, index: int, account: Account, action: DeleteKey) -> None:
        key = (st.ACCESS_KEY, account_id, action.public_key.to_borsh())
        access_key = self.state.get(key)
        if not isinstance(access_key, AccessKey):
            raise ActionFailure(
                index, {"DeleteKeyDoesNotExist": {"account_id": account_id, "public_key": str(action.public_key)}}
            )
        self.state.delete(key)
        size = access_key_storage_bytes(action.public_key, access_key) + STORAGE_NUM_EXTRA_BYTES_RECORD
        self._put_account(account_id, account.with_(storage_usage=max(0, account.storage_usage - size)))

    def _delete_account(
        self, receipt: ActionReceipt, index: int, account: Account, action: DeleteAccount, run: _ReceiptRun
    ) -> None:
        account_id = receipt.receiver_id
        if account.locked > 0:
            raise ActionFailure(index, {"DeleteAccountStaking": {"account_id": account_id}})
        if account.amount > 0:
            run.payouts.append(self._system_transfer(receipt, action.beneficiary_id, account.amount))
        for kind in (st.ACCESS_KEY, st.DATA, st.CODE, st.ACCOUNT):
            for key in self.state.keys_of(account_id, kind):
                self.state.delete(key)

    def _stake(self, account_id: str, index: int, account: Account, action: Stake) -> None:
        # Minimal staking: the localnet has a single fixed validator, so a stake only moves balance to `locked`.
        available = account.amount + account.locked
        if action.stake > available:
            raise ActionFailure(
                index,
                {
                    "TriesToStake": {
                        "account_id": account_id,
                        "stake": str(action.stake),
                        "locked": str(account.locked),
                        "balance": str(account.amount),
                    }
                },
            )
        self._put_account(account_id, account.with_(amount=available - action.stake, locked=action.stake))

    def _function_call(
        self,
        receipt: ActionReceipt,
        index: int,
        action: FunctionCall,
        account: Account,
        results: tuple[PromiseResult, ...],
        run: _ReceiptRun,
    ) -> None:
        account_id, height = receipt.receiver_id, self.block.height
        self._put_account(account_id, account)
        a_hash = action_hash(receipt.receipt_id, height, index)
        context = VMContext(
            current_account_id=account_id,
            signer_account_id=receipt.signer_id,
            signer_account_pk=receipt.signer_public_key.to_borsh(),
            predecessor_account_id=receipt.predecessor_id,
            input=action.args,
            promise_results=results,
            block_height=height,
            block_timestamp_ns=self.block.timestamp_ns,
            epoch_height=self.block.epoch_height,
            account_balance=account.amount,
            account_locked_balance=account.locked,
            storage_usage=account.storage_usage,
            attached_deposit=action.deposit,
            prepaid_gas=action.gas,
            random_seed=hashlib.sha256(a_hash + self.block.random_value).digest(),
            is_view=False,
            output_data_receivers=tuple(r for _, r in receipt.output_data_receivers),
        )
        ext = ChainExternal(self.state, account_id, a_hash, height)
        code = self.state.get((st.CODE, account_id))
        outcome = run_function_call(None if code is None else bytes(code), action.method_name, context, ext)
        run.logs.extend(outcome.logs)
        run.gas_burnt += outcome.burnt_gas
        run.gas_used += outcome.used_gas
        run.fn_gas_burnt += outcome.burnt_gas
        if outcome.error is not None:
            raise ActionFailure(index, {"FunctionCallError": outcome.error.rpc_json})
        self._put_account(account_id, account.with_(amount=outcome.balance, storage_usage=outcome.storage_usage))
        created: list[ActionReceipt] = []
        for plan in outcome.receipts:
            created.append(
                ActionReceipt(
                    receipt_id=b"",
                    predecessor_id=account_id,
                    receiver_id=plan.receiver_id,
                    signer_id=receipt.signer_id,
                    signer_public_key=receipt.signer_public_key,
                    gas_price=receipt.gas_price,
                    actions=list(plan.actions),
                    input_data_ids=list(plan.input_data_ids),
                    output_data_receivers=list(plan.output_data_receivers),
                    is_promise_yield=plan.is_promise_yield,
                )
            )
        run.contract_receipts.extend(created)
        for data_id, payload in outcome.yield_resumes:
            run.resume_receipts.append(
                DataReceipt(b"", account_id, account_id, bytes(data_id), bytes(payload), is_promise_resume=True)
            )
        ret = outcome.return_data
        run.forwarded_to = None
        run.return_value = b""
        if ret.kind == ReturnKind.VALUE:
            run.return_value = bytes(ret.value)
        elif ret.kind == ReturnKind.RECEIPT_INDEX:
            target = created[ret.receipt_index]
            target.output_data_receivers.extend(receipt.output_data_receivers)
            run.forwarded_to = target
