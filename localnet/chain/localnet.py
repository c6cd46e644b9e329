"""`Localnet`: the in-process Python API over `Chain` (no RPC, no event loop) for tests and scripts.

    with Localnet() as net:                                  # in memory; Localnet(home) persists in SQLite
        alice = net.create_account("alice.test.near", 10 * NEAR)
        net.deploy(alice, wasm)
        result = net.call(alice, alice.account_id, "set", {"v": 1}, deposit=1)
        assert result.is_success, result.failure
        assert net.view(alice.account_id, "get").json() == 1
        net.fast_forward(200)                                # jump heights (yield timeouts fire)

Every call signs a real borsh TransactionV0 with the signer's ed25519 key and goes through
`Chain.submit_transaction` exactly as a transaction from JSON-RPC does; `call`/`execute` then produce
blocks until every receipt of the transaction has an outcome (or the block budget runs out).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import base58

from localnet.chain import state as st
from localnet.chain.chain import DEFAULT_GENESIS_BALANCE, Chain
from localnet.chain.errors import ChainError
from localnet.chain.keys import InMemorySigner, SecretKey
from localnet.chain.queries import QueryContext, view_call
from localnet.chain.records import Account
from localnet.chain.transaction import sign_transaction
from localnet.errors import ContractExecutionError, UnknownAccount
from localnet.types import AccessKey, Action, AddKey, CreateAccount, DeployContract, FunctionCall, Transfer

JSON = dict[str, Any]
NEAR = 10**24
TGAS = 10**12
DEFAULT_GAS = 100 * TGAS
DEFAULT_MAX_BLOCKS = 20

__all__ = ["DEFAULT_GAS", "NEAR", "TGAS", "Localnet", "TxResult", "ViewResult"]


@dataclass(frozen=True)
class TxResult:
    """A transaction's `tx_status` view (`raw`) with helpers. `pending` is True while some receipt
    (e.g. a waiting yield) has no outcome yet; then `status` is "Started"."""

    tx_hash: str
    raw: JSON

    @property
    def status(self) -> Any:
        return self.raw.get("status")

    @property
    def pending(self) -> bool:
        return self.raw.get("final_execution_status") != "FINAL"

    @property
    def is_success(self) -> bool:
        return isinstance(self.status, dict) and "SuccessValue" in self.status

    @property
    def failure(self) -> Any:
        """The `Failure` value of the final status (None on success or while pending)."""
        return self.status.get("Failure") if isinstance(self.status, dict) else None

    @property
    def value(self) -> bytes:
        """The final SuccessValue bytes; raises ChainError otherwise."""
        if not self.is_success:
            raise ChainError(f"transaction {self.tx_hash} did not succeed: {self.status}")
        return base64.b64decode(self.status["SuccessValue"])

    def json(self) -> Any:
        return json.loads(self.value)

    @property
    def outcomes(self) -> list[JSON]:
        """The transaction outcome followed by every receipt outcome (execution order)."""
        return [self.raw["transaction_outcome"], *self.raw.get("receipts_outcome", [])]

    @property
    def receipt_outcomes(self) -> list[JSON]:
        return list(self.raw.get("receipts_outcome", []))

    @property
    def logs(self) -> list[str]:
        return [log for o in self.outcomes for log in o["outcome"]["logs"]]

    @property
    def gas_burnt(self) -> int:
        return sum(int(o["outcome"]["gas_burnt"]) for o in self.outcomes)

    @property
    def tokens_burnt(self) -> int:
        return sum(int(o["outcome"]["tokens_burnt"]) for o in self.outcomes)

    def receipt_failures(self) -> list[Any]:
        """`Failure` values of every receipt outcome that failed."""
        return [
            o["outcome"]["status"]["Failure"]
            for o in self.receipt_outcomes
            if isinstance(o["outcome"]["status"], dict) and "Failure" in o["outcome"]["status"]
        ]


@dataclass(frozen=True)
class ViewResult:
    value: bytes
    logs: list[str]

    def json(self) -> Any:
        return json.loads(self.value)


class Localnet:
    """A chain plus its root account's signer. `home=None` keeps everything in memory."""

    def __init__(
        self,
        home: Path | None = None,
        *,
        root_account_id: str = "test.near",
        root_key: SecretKey | None = None,
        chain_id: str = "localnet",
        genesis_balance: int = DEFAULT_GENESIS_BALANCE,
    ) -> None:
        key = root_key or SecretKey.generate()
        self.chain = Chain.open(
            home,
            root_account_id=root_account_id,
            root_public_key=key.public_key,
            chain_id=chain_id,
            genesis_balance=genesis_balance,
        )
        if str(self.chain.root_public_key) != str(key.public_key):
            self.chain.close()
            raise ChainError(f"the chain in {home} belongs to another root key; pass root_key")
        self.root = InMemorySigner(self.chain.root_account, key)
        if self.chain.latest_height() == self.chain.genesis_height:
            self.chain.produce_block()

    # ---- blocks ----
    @property
    def height(self) -> int:
        return self.chain.latest_height()

    def produce_blocks(self, count: int = 1) -> JSON:
        return self.chain.produce_blocks(count)

    def fast_forward(self, delta_height: int) -> None:
        self.chain.fast_forward(delta_height)

    # ---- transactions ----
    def sign(
        self,
        signer: InMemorySigner,
        receiver_id: str,
        actions: Sequence[Action],
        *,
        nonce: int | None = None,
        block_hash: bytes | None = None,
    ) -> bytes:
        """Borsh SignedTransaction bytes; the nonce defaults to the key's current nonce + 1."""
        if nonce is None:
            nonce = self.access_key_nonce(signer) + 1
        return sign_transaction(
            signer.account_id,
            signer.secret_key,
            None,
            nonce,
            receiver_id,
            block_hash or self.chain.latest_block_hash,
            actions,
        )

    def submit(self, signer: InMemorySigner, receiver_id: str, actions: Sequence[Action]) -> str:
        """Validate, charge and queue a transaction for the next block; returns its hash (base58).
        Raises `InvalidTransaction` with nearcore's InvalidTxError when it is rejected."""
        return self.chain.submit_transaction(self.sign(signer, receiver_id, actions))

    def result(self, tx_hash: str, sender_id: str) -> TxResult:
        return TxResult(tx_hash, self.chain.tx_status(tx_hash, sender_id))

    def wait(self, tx_hash: str, sender_id: str, max_blocks: int = DEFAULT_MAX_BLOCKS) -> TxResult:
        """Produce blocks until every receipt of the transaction ran, at most `max_blocks`; the result
        may still be `pending` (a waiting yield) after that."""
        for _ in range(max_blocks):
            self.chain.produce_block()
            result = self.result(tx_hash, sender_id)
            if not result.pending:
                return result
        return self.result(tx_hash, sender_id)

    def execute(
        self, signer: InMemorySigner, receiver_id: str, actions: Sequence[Action], max_blocks: int = DEFAULT_MAX_BLOCKS
    ) -> TxResult:
        return self.wait(self.submit(signer, receiver_id, actions), signer.account_id, max_blocks)

    def call(
        self,
        signer: InMemorySigner,
        contract_id: str,
        method: str,
        args: Any = None,
        *,
        gas: int = DEFAULT_GAS,
        deposit: int = 0,
        max_blocks: int = DEFAULT_MAX_BLOCKS,
    ) -> TxResult:
        """Call `method`; `args` is bytes (sent raw), None (empty) or anything JSON-serialisable."""
        return self.execute(signer, contract_id, [FunctionCall(method, _encode_args(args), gas, deposit)], max_blocks)

    def create_account(
        self,
        account_id: str,
        balance: int = 10 * NEAR,
        *,
        creator: InMemorySigner | None = None,
        key: SecretKey | None = None,
    ) -> InMemorySigner:
        """Create `account_id` (a sub-account of `creator`, the root by default) with a full-access key."""
        secret = key or SecretKey.generate()
        result = self.execute(
            creator or self.root,
            account_id,
            [CreateAccount(), Transfer(balance), AddKey(secret.public_key, AccessKey(0, None))],
        )
        if not result.is_success:
            raise ChainError(f"creating {account_id} failed: {result.status}")
        return InMemorySigner(account_id, secret)

    def deploy(self, signer: InMemorySigner, code: bytes) -> TxResult:
        result = self.execute(signer, signer.account_id, [DeployContract(bytes(code))])
        if not result.is_success:
            raise ChainError(f"deploying to {signer.account_id} failed: {result.status}")
        return result

    # ---- state ----
    def view(self, contract_id: str, method: str, args: Any = None) -> ViewResult:
        """Run a view method on the latest state; a contract error raises `ContractExecutionError`."""
        account = self.account(contract_id)
        ctx = QueryContext(self.chain.state, self.chain.block()["header"])
        value, logs, error = view_call(ctx, contract_id, account, method, _encode_args(args))
        if error is not None:
            raise ContractExecutionError(error, info={"logs": logs})
        return ViewResult(value, logs)

    def account(self, account_id: str) -> Account:
        found = self.chain.state.get((st.ACCOUNT, account_id))
        if not isinstance(found, Account):
            raise UnknownAccount(f"account {account_id} does not exist", info={"requested_account_id": account_id})
        return found

    def balance(self, account_id: str) -> int:
        return self.account(account_id).amount

    def storage(self, account_id: str) -> dict[bytes, bytes]:
        """The contract's key/value storage."""
        return {key[2]: bytes(self.chain.state.get(key)) for key in self.chain.state.keys_of(account_id, st.DATA)}

    def snapshot(self, *account_ids: str) -> dict[tuple[str, str, bytes], Any]:
        """Every state record of the given accounts (account, keys, code, storage, yields, postponed
        receipts), for before/after comparisons."""
        return {
            key: self.chain.state.get(key)
            for account_id in account_ids
            for kind in (st.ACCOUNT, st.ACCESS_KEY, st.CODE, st.DATA, st.YIELD, st.POSTPONED)
            for key in self.chain.state.keys_of(account_id, kind)
        }

    def access_key_nonce(self, signer: InMemorySigner) -> int:
        """The nonce of the signer's access key (0 when the key does not exist)."""
        key = self.chain.state.get((st.ACCESS_KEY, signer.account_id, signer.public_key.to_borsh()))
        if not isinstance(key, AccessKey):
            return 0
        return key.nonce

    def outcome(self, outcome_id: str) -> JSON | None:
        return self.chain.outcome(outcome_id)

    def block_hash(self) -> bytes:
        return base58.b58decode(self.chain.block()["header"]["hash"])

    # ---- lifecycle ----
    def close(self) -> None:
        self.chain.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _encode_args(args: Any) -> bytes:
    if args is None:
        return b""
    if isinstance(args, (bytes, bytearray)):
        return bytes(args)
    return json.dumps(args).encode()
