"""`Chain`: the embedded localnet's blockchain (implements `localnet.chain.api.ChainService`).

Transactions are validated and charged when submitted (as the next chunk would), then converted into
receipts in the next block. Receipts a block creates run in the following block, except a transaction's
receipt to its own signer, which runs in the block that includes it (nearcore's local receipts).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import base58

from localnet.chain import state as st
from localnet.chain.blocks import PROTOCOL_VERSION, BlockInput, build_block, next_random_value, rfc3339
from localnet.chain.costs import GAS_PRICE_YOCTO, TransactionCost, storage_shortfall, transaction_cost
from localnet.chain.errors import ChainError, InvalidRequest
from localnet.chain.execution import (
    ACCESS_KEY_NONCE_RANGE_MULTIPLIER,
    BlockInfo,
    BlockWork,
    ExecutionOutcome,
    ReceiptExecutor,
    hash_with_index,
)
from localnet.chain.history import StateHistory
from localnet.chain.keys import verify_ed25519
from localnet.chain.patch import AccountPatch, ContractPatch, DataPatch, StatePatch, parse_state_records
from localnet.chain.queries import QueryContext, run_query
from localnet.chain.records import (
    Account,
    ActionReceipt,
    Receipt,
    access_key_storage_bytes,
    action_to_json,
    b58,
    code_hash_of,
    receipt_from_json,
)
from localnet.chain.state import State
from localnet.chain.store import Store
from localnet.chain.transaction import SignedTransaction
from localnet.chain.validation import decode_within_limits, invalid_tx, is_valid_account_id, validate_actions
from localnet.errors import UnknownBlock, UnknownChunk, UnknownReceipt, UnknownTransaction
from localnet.runtime.fees import STORAGE_NUM_BYTES_ACCOUNT, STORAGE_NUM_EXTRA_BYTES_RECORD, VM_LIMITS
from localnet.types import AccessKey, FunctionCall, PublicKey

JSON = dict[str, Any]
BlockRef = dict[str, Any]
TX_VALIDITY_PERIOD = 100
DEFAULT_GENESIS_BALANCE = 10**33  # 1e9 NEAR
_NS_PER_BLOCK = 1_000_000  # minimum spacing between block timestamps


@dataclass
class _PendingTx:
    signed: SignedTransaction
    cost: TransactionCost


class Chain:
    """A single-shard, single-validator NEAR-compatible chain persisted in SQLite under `home`."""

    def __init__(
        self,
        home: Path | None = None,
        chain_id: str = "localnet",
        root_account: str = "test.near",
        root_public_key: PublicKey | str | None = None,
        genesis_balance: int = DEFAULT_GENESIS_BALANCE,
        genesis_height: int = 0,
    ) -> None:
        self._store = Store(home)
        self._pending: list[_PendingTx] = []
        self._pending_hashes: set[bytes] = set()
        config = self._store.meta("config")
        if config is None:
            if root_public_key is None:
                raise ChainError("a new chain needs root_public_key")
            pk = root_public_key if isinstance(root_public_key, PublicKey) else PublicKey.from_string(root_public_key)
            self._genesis(chain_id, root_account, pk, genesis_balance, genesis_height)
        else:
            self.state = State(self._store.load_state())
            self._config = config
            self._seed = bytes.fromhex(config["seed"])
            self._incoming: list[Receipt] = [receipt_from_json(r) for r in self._store.meta("incoming") or []]
            head = self._store.latest_block()
            assert head is not None
            self._head: JSON = head
        self.chain_id: str = self._config["chain_id"]
        self.genesis_height: int = self._config["genesis_height"]
        self.root_account: str = self._config["root_account"]
        self.root_public_key = PublicKey.from_string(self._config["root_public_key"])
        self._history = StateHistory(self.latest_height())
        self._closed = False

    @classmethod
    def open(
        cls,
        home: Path | None,
        *,
        root_account_id: str = "test.near",
        root_public_key: PublicKey | str | None = None,
        chain_id: str = "localnet",
        genesis_balance: int = DEFAULT_GENESIS_BALANCE,
    ) -> Chain:
        """Open the chain in `home` (creating its genesis on first use)."""
        return cls(home, chain_id, root_account_id, root_public_key, genesis_balance)

    # ---- genesis ----
    def _genesis(self, chain_id: str, root: str, pk: PublicKey, balance: int, height: int) -> None:
        if not is_valid_account_id(root):
            raise ChainError(f"invalid root account id {root!r}")
        self._seed = os.urandom(32)
        self._config = {
            "chain_id": chain_id,
            "genesis_height": height,
            "root_account": root,
            "root_public_key": str(pk),
            "seed": self._seed.hex(),
            "genesis_time_ns": time.time_ns(),
        }
        self.state = State()
        key = AccessKey(0, None)
        usage = STORAGE_NUM_BYTES_ACCOUNT + access_key_storage_bytes(pk, key) + STORAGE_NUM_EXTRA_BYTES_RECORD
        self.state.set((st.ACCOUNT, root), Account(balance, 0, storage_usage=usage))
        self.state.set((st.ACCESS_KEY, root, pk.to_borsh()), key)
        self._incoming = []
        random_value = hashlib.sha256(self._seed + b"genesis").digest()
        block, chunk = build_block(
            BlockInput(
                height=height,
                prev_height=0,
                prev_hash=b58(bytes(32)),
                timestamp_ns=self._config["genesis_time_ns"],
                random_value=random_value,
                author=root,
                gas_price=GAS_PRICE_YOCTO,
                total_supply=balance,
                gas_burnt=0,
                tokens_burnt=0,
                transactions=[],
                receipts=[],
                outcome_ids=[],
                state_digest=self._state_digest(),
            )
        )
        self._head = block
        self._store.commit_block(
            state_changes=self.state.take_dirty(),
            block=block,
            chunk=chunk,
            outcomes={},
            transactions={},
            receipts={},
            meta={"config": self._config, "incoming": [], "total_supply": balance},
        )

    # ---- blocks ----
    def latest_height(self) -> int:
        return int(self._head["header"]["height"])

    @property
    def latest_block_hash(self) -> bytes:
        return base58.b58decode(self._head["header"]["hash"])

    def produce_block(self) -> JSON:
        return self._produce(self.latest_height() + 1)

    def produce_blocks(self, count: int) -> JSON:
        block = self._head
        for _ in range(count):
            block = self.produce_block()
        return block

    def fast_forward(self, delta_height: int) -> None:
        """Jump `delta_height` heights in one block (as sandbox_fast_forward); yields that expire fire there."""
        if not isinstance(delta_height, int) or delta_height < 1:
            raise InvalidRequest(f"delta_height must be a positive integer, got {delta_height!r}")
        self._produce(self.latest_height() + delta_height)

    def _produce(self, height: int) -> JSON:
        self._check_open()
        prev = self._head["header"]
        timestamp = max(time.time_ns(), int(prev["timestamp"]) + _NS_PER_BLOCK * (height - int(prev["height"])))
        random_value = next_random_value(self._seed, base58.b58decode(prev["random_value"]), height)
        info = BlockInfo(height=height, timestamp_ns=timestamp, random_value=random_value)
        work = BlockWork()
        executor = ReceiptExecutor(self.state, info, work)
        tx_outcomes: list[ExecutionOutcome] = []
        tx_views: list[JSON] = []
        tx_records: dict[str, JSON] = {}
        local: list[Receipt] = []
        for pending in self._pending:
            signed, tx = pending.signed, pending.signed.transaction
            tx_hash = signed.hash
            receipt = ActionReceipt(
                receipt_id=hash_with_index(tx_hash, height, 0),
                predecessor_id=tx.signer_id,
                receiver_id=tx.receiver_id,
                signer_id=tx.signer_id,
                signer_public_key=tx.public_key,
                gas_price=pending.cost.gas_price,
                actions=list(tx.actions),
            )
            work.created.append(receipt)
            (local if tx.signer_id == tx.receiver_id else work.outgoing).append(receipt)
            tx_outcomes.append(
                ExecutionOutcome(
                    id=tx_hash,
                    executor_id=tx.signer_id,
                    status={"SuccessReceiptId": b58(receipt.receipt_id)},
                    receipt_ids=[receipt.receipt_id],
                    gas_burnt=pending.cost.gas_burnt,
                    tokens_burnt=pending.cost.burnt_amount,
                )
            )
            view = transaction_view(signed)
            tx_views.append(view)
            tx_records[b58(tx_hash)] = {"transaction": view, "receipt_id": b58(receipt.receipt_id)}
        incoming, self._incoming = self._incoming, []
        self._pending, self._pending_hashes = [], set()
        for queued in [*local, *incoming]:
            executor.apply(queued)
        executor.new_yield_timeouts()
        self._incoming = list(work.outgoing)

        outcomes = [*tx_outcomes, *work.outcomes]
        gas_burnt = sum(o.gas_burnt for o in outcomes)
        tokens_burnt = sum(o.tokens_burnt for o in outcomes)
        total_supply = int(self._store.meta("total_supply") or 0) - tokens_burnt
        block, chunk = build_block(
            BlockInput(
                height=height,
                prev_height=int(prev["height"]),
                prev_hash=prev["hash"],
                timestamp_ns=timestamp,
                random_value=random_value,
                author=self.root_account,
                gas_price=GAS_PRICE_YOCTO,
                total_supply=total_supply,
                gas_burnt=gas_burnt,
                tokens_burnt=tokens_burnt,
                transactions=tx_views,
                receipts=[r.view() for r in incoming],
                outcome_ids=[b58(o.id) for o in outcomes],
                state_digest=hashlib.sha256(prev["prev_state_root"].encode() + str(height).encode()).digest(),
            )
        )
        block_hash = block["header"]["hash"]
        for record in tx_records.values():
            record["block_hash"] = block_hash
        self._history.record(height, self.state.undo_log())
        self._store.commit_block(
            state_changes=self.state.take_dirty(),
            block=block,
            chunk=chunk,
            outcomes={b58(o.id): o.view(block_hash) for o in outcomes},
            transactions=tx_records,
            receipts={b58(r.receipt_id): r.view() for r in work.created},
            meta={"incoming": [r.view(for_view=False) for r in self._incoming], "total_supply": total_supply},
        )
        self._head = block
        return block

    def _state_digest(self) -> bytes:
        return hashlib.sha256(b"state" + self._seed).digest()

    def block(self, ref: BlockRef | None = None) -> JSON:
        return self._resolve_block(ref or {"finality": "final"})

    def _resolve_block(self, ref: BlockRef) -> JSON:
        if "block_id" in ref and ref["block_id"] is not None:
            block_id = ref["block_id"]
            found = (
                self._store.block_by_height(block_id)
                if isinstance(block_id, int) and not isinstance(block_id, bool)
                else self._store.block_by_hash(str(block_id))
            )
            if found is None:
                raise UnknownBlock(
                    f"DB Not Found Error: BLOCK: {block_id}", info={"block_reference": {"block_id": block_id}}
                )
            return found
        if "sync_checkpoint" in ref:
            return self._store.block_by_height(self.genesis_height) or self._head
        finality = ref.get("finality", "final")
        if finality not in ("optimistic", "near-final", "final"):
            raise InvalidRequest(f"unknown finality {finality!r}")
        return self._head

    def chunk(self, params: JSON) -> JSON:
        if "chunk_id" in params:
            found = self._store.chunk(str(params["chunk_id"]))
        else:
            if int(params.get("shard_id", 0)) != 0:
                raise UnknownChunk(
                    f"Shard id {params.get('shard_id')} does not exist", info={"shard_id": params.get("shard_id")}
                )
            block = self._resolve_block({"block_id": params.get("block_id")})
            found = self._store.chunk(block["chunks"][0]["chunk_hash"])
        if found is None:
            raise UnknownChunk(f"Chunk Missing: {params.get('chunk_id')}", info={"chunk_hash": params.get("chunk_id")})
        return found

    # ---- state ----
    def query(self, params: JSON) -> JSON:
        block = self._resolve_block(params)
        header = block["header"]
        state = self.state
        if int(header["height"]) != self.latest_height():
            state = self._history.state_at(self.state, int(header["height"]), header["hash"])
        return run_query(QueryContext(state, header), params)

    def status(self) -> JSON:
        header = self._head["header"]
        genesis = self._store.block_by_height(self.genesis_height) or self._head
        return {
            "version": {"version": "2.6.0-localnet", "build": "localnet", "rustc_version": "none"},
            "chain_id": self.chain_id,
            "protocol_version": PROTOCOL_VERSION,
            "latest_protocol_version": PROTOCOL_VERSION,
            "rpc_addr": None,
            "validators": [{"account_id": self.root_account, "is_slashed": False}],
            "sync_info": {
                "latest_block_hash": header["hash"],
                "latest_block_height": header["height"],
                "latest_state_root": header["prev_state_root"],
                "latest_block_time": rfc3339(int(header["timestamp"])),
                "syncing": False,
                "earliest_block_hash": genesis["header"]["hash"],
                "earliest_block_height": genesis["header"]["height"],
                "earliest_block_time": rfc3339(int(genesis["header"]["timestamp"])),
                "epoch_id": header["epoch_id"],
                "epoch_start_height": self.genesis_height,
            },
            "validator_account_id": self.root_account,
            "validator_public_key": str(self.root_public_key),
            "node_public_key": str(self.root_public_key),
            "node_key": None,
            "uptime_sec": 0,
            "genesis_hash": genesis["header"]["hash"],
            "detailed_debug_status": None,
        }

    def gas_price(self, block_id: Any = None) -> JSON:
        if block_id is not None:
            self._resolve_block({"block_id": block_id})
        return {"gas_price": str(GAS_PRICE_YOCTO)}

    def validators(self, params: Any = None) -> JSON:
        account = self.state.get((st.ACCOUNT, self.root_account))
        stake = str(account.locked) if isinstance(account, Account) else "0"
        height = self.latest_height()
        validator = {
            "account_id": self.root_account,
            "public_key": str(self.root_public_key),
            "is_slashed": False,
            "stake": stake,
            "shards": [0],
            "num_produced_blocks": height - self.genesis_height,
            "num_expected_blocks": height - self.genesis_height,
            "num_produced_chunks": height - self.genesis_height,
            "num_expected_chunks": height - self.genesis_height,
        }
        return {
            "current_validators": [validator],
            "next_validators": [
                {
                    "account_id": self.root_account,
                    "public_key": str(self.root_public_key),
                    "stake": stake,
                    "shards": [0],
                }
            ],
            "current_fishermen": [],
            "next_fishermen": [],
            "current_proposals": [],
            "prev_epoch_kickout": [],
            "epoch_start_height": self.genesis_height,
            "epoch_height": 1,
        }

    # ---- transactions ----
    def submit_transaction(self, signed_tx: bytes | SignedTransaction) -> str:
        """Validate and charge `signed_tx` now; it is included in the next block. Returns its base58 hash.

        Bytes are decoded here (size and action count checked first); a `SignedTransaction` from
        `decode_within_limits` lets the RPC decode big transactions in a worker thread."""
        self._check_open()
        signed = signed_tx if isinstance(signed_tx, SignedTransaction) else decode_within_limits(signed_tx)
        tx_hash = signed.hash
        if tx_hash in self._pending_hashes or self._store.transaction(b58(tx_hash)) is not None:
            return b58(tx_hash)
        cost = self._validate_and_charge(signed)
        self._pending.append(_PendingTx(signed, cost))
        self._pending_hashes.add(tx_hash)
        return b58(tx_hash)

    def _validate_and_charge(self, signed: SignedTransaction) -> TransactionCost:
        """nearcore's `validate_transaction` + `verify_and_charge_transaction`, in the same order."""
        tx = signed.transaction
        base = self._store.block_by_hash(b58(tx.block_hash))
        if base is None or self.latest_height() - int(base["header"]["height"]) > TX_VALIDITY_PERIOD:
            raise invalid_tx("Expired", "Transaction has expired")
        if signed.size > VM_LIMITS.max_transaction_size:
            raise invalid_tx(
                {"TransactionSizeExceeded": {"size": signed.size, "limit": VM_LIMITS.max_transaction_size}},
                "Transaction size exceeds the limit",
            )
        if not is_valid_account_id(tx.signer_id):
            raise invalid_tx(
                {"InvalidSignerId": {"signer_id": tx.signer_id}}, f"Invalid signer account ID {tx.signer_id!r}"
            )
        if not is_valid_account_id(tx.receiver_id):
            raise invalid_tx(
                {"InvalidReceiverId": {"receiver_id": tx.receiver_id}},
                f"Invalid receiver account ID {tx.receiver_id!r}",
            )
        if signed.signature.key_type != tx.public_key.key_type or not verify_ed25519(
            tx.public_key, tx.hash(), signed.signature.data
        ):
            raise invalid_tx("InvalidSignature", "Transaction is not signed with the given public key")
        validate_actions(tx.actions)
        cost = transaction_cost(tx.signer_id, tx.receiver_id, tx.actions, GAS_PRICE_YOCTO)

        account = self.state.get((st.ACCOUNT, tx.signer_id))
        if not isinstance(account, Account):
            raise invalid_tx(
                {"SignerDoesNotExist": {"signer_id": tx.signer_id}}, f"Signer {tx.signer_id} does not exist"
            )
        key_id = (st.ACCESS_KEY, tx.signer_id, tx.public_key.to_borsh())
        access_key = self.state.get(key_id)
        if not isinstance(access_key, AccessKey):
            raise invalid_tx(
                {
                    "InvalidAccessKeyError": {
                        "AccessKeyNotFound": {"account_id": tx.signer_id, "public_key": str(tx.public_key)}
                    }
                },
                f"Signer {tx.signer_id} doesn't have access key {tx.public_key}",
            )
        if tx.nonce <= access_key.nonce:
            raise invalid_tx(
                {"InvalidNonce": {"tx_nonce": tx.nonce, "ak_nonce": access_key.nonce}},
                f"Transaction nonce {tx.nonce} must be larger than nonce of the used access key {access_key.nonce}",
            )
        upper_bound = (self.latest_height() + 1) * ACCESS_KEY_NONCE_RANGE_MULTIPLIER
        if tx.nonce >= upper_bound:
            raise invalid_tx(
                {"NonceTooLarge": {"tx_nonce": tx.nonce, "upper_bound": upper_bound}},
                f"Transaction nonce {tx.nonce} must be smaller than the access key nonce upper bound {upper_bound}",
            )
        if account.amount < cost.total_cost:
            raise invalid_tx(
                {
                    "NotEnoughBalance": {
                        "signer_id": tx.signer_id,
                        "balance": str(account.amount),
                        "cost": str(cost.total_cost),
                    }
                },
                f"Sender {tx.signer_id} does not have enough balance {account.amount} for operation costing {cost.total_cost}",
            )
        permission = access_key.permission
        new_permission = permission
        if permission is not None and permission.allowance is not None:
            if permission.allowance < cost.total_cost:
                raise invalid_tx(
                    {
                        "InvalidAccessKeyError": {
                            "NotEnoughAllowance": {
                                "account_id": tx.signer_id,
                                "public_key": str(tx.public_key),
                                "allowance": str(permission.allowance),
                                "cost": str(cost.total_cost),
                            }
                        }
                    },
                    f"Access Key {tx.signer_id}:{tx.public_key} does not have enough balance {permission.allowance} "
                    f"for transaction costing {cost.total_cost}",
                )
            new_permission = type(permission)(
                permission.allowance - cost.total_cost, permission.receiver_id, permission.method_names
            )
        charged = account.with_(amount=account.amount - cost.total_cost)
        short = storage_shortfall(charged.amount, charged.locked, charged.storage_usage)
        if short > 0:
            raise invalid_tx(
                {"LackBalanceForState": {"signer_id": tx.signer_id, "amount": str(short)}},
                f"Failed to execute, because the account {tx.signer_id} wouldn't have enough balance to cover storage, "
                f"required to have {short} yoctoNEAR more",
            )
        if permission is not None:
            self._check_function_call_key(tx, permission)
        self.state.set((st.ACCOUNT, tx.signer_id), charged)
        self.state.set(key_id, AccessKey(tx.nonce, new_permission))
        return cost

    @staticmethod
    def _check_function_call_key(tx: Any, permission: Any) -> None:
        def fail(kind: Any, message: str) -> None:
            raise invalid_tx({"InvalidAccessKeyError": kind}, message)

        if len(tx.actions) != 1 or not isinstance(tx.actions[0], FunctionCall):
            fail(
                "RequiresFullAccess",
                "The transaction contains more then one action, but it was signed with an access key which allows transaction to apply only one specific action",
            )
        call: FunctionCall = tx.actions[0]
        if call.deposit > 0:
            fail(
                "DepositWithFunctionCall",
                "Having a deposit with a function call action is not allowed with a function call access key.",
            )
        if tx.receiver_id != permission.receiver_id:
            fail(
                {"ReceiverMismatch": {"tx_receiver": tx.receiver_id, "ak_receiver": permission.receiver_id}},
                f"Transaction receiver_id {tx.receiver_id} doesn't match the access key receiver_id {permission.receiver_id}",
            )
        if permission.method_names and call.method_name not in permission.method_names:
            fail(
                {"MethodNameMismatch": {"method_name": call.method_name}},
                f"Transaction method name {call.method_name} isn't allowed by the access key",
            )

    def tx_status(self, tx_hash: str, sender_account_id: str, *, with_receipts: bool = False) -> JSON:
        record = self._store.transaction(tx_hash)
        if record is None:
            try:
                raw_hash = base58.b58decode(tx_hash)
            except ValueError:
                raw_hash = b""
            if raw_hash in self._pending_hashes:
                return {"final_execution_status": "NONE"}
            raise UnknownTransaction(
                f"Transaction {tx_hash} doesn't exist", info={"requested_transaction_hash": tx_hash}
            )
        tx_outcome = self._store.outcome(tx_hash)
        assert tx_outcome is not None
        receipts_outcome: list[JSON] = []
        pending = False
        stack = list(reversed(tx_outcome["outcome"]["receipt_ids"]))
        seen: set[str] = set()
        while stack:
            rid = stack.pop()
            if rid in seen:
                continue
            seen.add(rid)
            outcome = self._store.outcome(rid)
            if outcome is None:
                pending = True
                continue
            receipts_outcome.append(outcome)
            stack.extend(reversed(outcome["outcome"]["receipt_ids"]))
        status = self._final_status(tx_outcome)
        result: JSON = {
            "final_execution_status": "INCLUDED" if pending else "FINAL",
            "status": status,
            "transaction": record["transaction"],
            "transaction_outcome": tx_outcome,
            "receipts_outcome": receipts_outcome,
        }
        if with_receipts:
            result["receipts"] = [r for o in receipts_outcome if (r := self._store.receipt(o["id"])) is not None]
        return result

    def _final_status(self, tx_outcome: JSON) -> Any:
        status = tx_outcome["outcome"]["status"]
        for _ in range(10_000):
            if "SuccessReceiptId" not in status:
                return status
            outcome = self._store.outcome(status["SuccessReceiptId"])
            if outcome is None:
                return "Started"
            status = outcome["outcome"]["status"]
        return "Started"

    def receipt(self, receipt_id: str) -> JSON:
        found = self._store.receipt(receipt_id)
        if found is None:
            raise UnknownReceipt(
                f"Receipt with id {receipt_id} has never been observed on this node", info={"receipt_id": receipt_id}
            )
        return found

    def outcome(self, outcome_id: str) -> JSON | None:
        """The stored execution outcome of a transaction or receipt (None if not executed yet)."""
        return self._store.outcome(outcome_id)

    # ---- sandbox ----
    def patch_state(self, records: list[JSON]) -> None:
        """Apply sandbox_patch_state records directly to state (persisted immediately), all or nothing: every
        record is parsed before any is applied (InvalidRequest names the first bad one), and a failure while
        applying rolls back the ones before it."""
        self._check_open()
        patches = parse_state_records(records)
        checkpoint = self.state.checkpoint()
        try:
            for patch in patches:
                self._apply_patch(patch)
        except BaseException:
            self.state.rollback(checkpoint)
            raise
        self._history.record(self.latest_height(), self.state.undo_log())
        self._store.commit_block(
            state_changes=self.state.take_dirty(),
            block=None,
            chunk=None,
            outcomes={},
            transactions={},
            receipts={},
            meta={},
        )

    def _apply_patch(self, patch: StatePatch) -> None:
        account_id = patch.account_id
        if isinstance(patch, AccountPatch):
            self.state.set((st.ACCOUNT, account_id), patch.account)
        elif isinstance(patch, DataPatch):
            self.state.set((st.DATA, account_id, patch.key), patch.value)
        elif isinstance(patch, ContractPatch):
            self.state.set((st.CODE, account_id), patch.code)
            account = self.state.get((st.ACCOUNT, account_id))
            if isinstance(account, Account):
                self.state.set((st.ACCOUNT, account_id), account.with_(code_hash=code_hash_of(patch.code)))
        else:
            self.state.set((st.ACCESS_KEY, account_id, patch.public_key.to_borsh()), patch.access_key)

    # ---- lifecycle ----
    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._store.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ChainError("the chain is closed")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def transaction_view(signed: SignedTransaction) -> JSON:
    """nearcore SignedTransactionView."""
    tx = signed.transaction
    return {
        "signer_id": tx.signer_id,
        "public_key": str(tx.public_key),
        "nonce": tx.nonce,
        "receiver_id": tx.receiver_id,
        "actions": [action_to_json(a) for a in tx.actions],
        "priority_fee": 0,
        "signature": str(signed.signature),
        "hash": b58(signed.hash),
    }
