"""Accounts and contracts with near-workspaces' builder API.

    result = await alice.call(contract.id, "set").args_json({"v": 1}).deposit(1).gas(50 * TGAS).transact()
    value = (await contract.view("get", {})).json()
    bob = await root.create_subaccount("bob").initial_balance(5 * NEAR).transact()
    await alice.batch(bob.id).transfer(1).add_key(pk).transact()
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from localnet.chain.keys import InMemorySigner, SecretKey
from localnet.types import (
    AccessKey,
    Action,
    AddKey,
    CreateAccount,
    DeleteAccount,
    DeleteKey,
    DeployContract,
    FunctionCall,
    FunctionCallPermission,
    PublicKey,
    Transfer,
)
from localnet.workspaces.results import ExecutionFinalResult, ViewResult
from localnet.workspaces.sending import DEFAULT_WAIT, PendingTransaction

if TYPE_CHECKING:
    from localnet.workspaces.worker import Worker

NEAR = 10**24
TGAS = 10**12
DEFAULT_CALL_GAS = 30 * TGAS  # near-workspaces' default for function calls


def _encode_args(args: Any) -> bytes:
    return json.dumps(args, separators=(",", ":")).encode()


class Account:
    """An account with a full-access key held in memory (the key's repr is redacted)."""

    def __init__(self, worker: Worker, account_id: str, secret_key: SecretKey) -> None:
        self.worker = worker
        self.id = account_id
        self.secret_key = secret_key
        self.signer = InMemorySigner(account_id, secret_key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"

    @property
    def public_key(self) -> PublicKey:
        return self.secret_key.public_key

    # ---- transactions ---------------------------------------------------------------------------
    def call(self, receiver_id: str, method_name: str) -> CallTransaction:
        return CallTransaction(self, receiver_id, method_name)

    def batch(self, receiver_id: str) -> Transaction:
        return Transaction(self, receiver_id)

    def create_subaccount(self, prefix: str) -> CreateAccountTransaction:
        return CreateAccountTransaction(self, f"{prefix}.{self.id}")

    async def transfer_near(self, receiver_id: str, amount_yocto: int) -> ExecutionFinalResult:
        return await self.batch(receiver_id).transfer(amount_yocto).transact()

    async def deploy(self, wasm: bytes) -> ExecutionFinalResult:
        """Deploy `wasm` to this account; the account can then be used as `Contract(…)`."""
        return await self.batch(self.id).deploy(wasm).transact()

    async def delete_account(self, beneficiary_id: str) -> ExecutionFinalResult:
        return await self.batch(self.id).delete_account(beneficiary_id).transact()

    def as_contract(self) -> Contract:
        return Contract(self.worker, self.id, self.secret_key)

    # ---- views ----------------------------------------------------------------------------------
    async def view(self, contract_id: str, method_name: str, args: Any = None) -> ViewResult:
        return await self.worker.view(contract_id, method_name, args)

    async def view_account(self) -> dict[str, Any]:
        return await self.worker.view_account(self.id)

    async def view_access_keys(self) -> list[dict[str, Any]]:
        return await self.worker.view_access_keys(self.id)


class Contract(Account):
    """An account with code; `call`/`view` default to itself as the receiver."""

    def call(self, receiver_id_or_method: str, method_name: str | None = None) -> CallTransaction:
        """`contract.call("method")` calls itself; `contract.call(other_id, "method")` calls another account."""
        if method_name is None:
            return CallTransaction(self, self.id, receiver_id_or_method)
        return CallTransaction(self, receiver_id_or_method, method_name)

    async def view(self, method_name: str, args: Any = None, contract_id: str | None = None) -> ViewResult:  # type: ignore[override]
        return await self.worker.view(contract_id or self.id, method_name, args)

    async def view_state(self, prefix: bytes = b"") -> dict[bytes, bytes]:
        return await self.worker.view_state(self.id, prefix)

    def as_account(self) -> Account:
        return Account(self.worker, self.id, self.secret_key)


class Transaction:
    """A batch of actions from `signer` to `receiver_id`; `transact()` sends them in one transaction."""

    def __init__(self, signer: Account, receiver_id: str) -> None:
        self.signer = signer
        self.receiver_id = receiver_id
        self.actions: list[Action] = []

    def create_account(self) -> Transaction:
        self.actions.append(CreateAccount())
        return self

    def deploy(self, wasm: bytes) -> Transaction:
        self.actions.append(DeployContract(bytes(wasm)))
        return self

    def call(self, method_name: str, args: Any = None, *, gas: int = DEFAULT_CALL_GAS, deposit: int = 0) -> Transaction:
        raw = args if isinstance(args, bytes) else _encode_args({} if args is None else args)
        self.actions.append(FunctionCall(method_name, raw, gas, deposit))
        return self

    def transfer(self, amount_yocto: int) -> Transaction:
        self.actions.append(Transfer(amount_yocto))
        return self

    def add_key(self, public_key: PublicKey, permission: FunctionCallPermission | None = None) -> Transaction:
        """Full access when `permission` is None, else a function-call key."""
        self.actions.append(AddKey(public_key, AccessKey(0, permission)))
        return self

    def delete_key(self, public_key: PublicKey) -> Transaction:
        self.actions.append(DeleteKey(public_key))
        return self

    def delete_account(self, beneficiary_id: str) -> Transaction:
        self.actions.append(DeleteAccount(beneficiary_id))
        return self

    async def transact(self, wait_until: str = DEFAULT_WAIT) -> ExecutionFinalResult:
        return await self.signer.worker.sender.send(self.signer.signer, self.receiver_id, self.actions, wait_until)

    async def transact_async(self) -> PendingTransaction:
        return await self.signer.worker.sender.send_async(self.signer.signer, self.receiver_id, self.actions)


class CallTransaction:
    """One function call: `.args_json(..)`/`.args(..)`, `.deposit(..)`, `.gas(..)`, then `.transact()`."""

    def __init__(self, signer: Account, receiver_id: str, method_name: str) -> None:
        self.signer = signer
        self.receiver_id = receiver_id
        self.method_name = method_name
        self._args = b"{}"
        self._deposit = 0
        self._gas = DEFAULT_CALL_GAS

    def args_json(self, args: Any) -> CallTransaction:
        self._args = _encode_args(args)
        return self

    def args(self, raw: bytes) -> CallTransaction:
        self._args = bytes(raw)
        return self

    def deposit(self, amount_yocto: int) -> CallTransaction:
        self._deposit = amount_yocto
        return self

    def gas(self, gas: int) -> CallTransaction:
        self._gas = gas
        return self

    def _batch(self) -> Transaction:
        return Transaction(self.signer, self.receiver_id).call(
            self.method_name, self._args, gas=self._gas, deposit=self._deposit
        )

    async def transact(self, wait_until: str = DEFAULT_WAIT) -> ExecutionFinalResult:
        return await self._batch().transact(wait_until)

    async def transact_async(self) -> PendingTransaction:
        return await self._batch().transact_async()


class CreateAccountTransaction:
    """`create_subaccount(prefix).initial_balance(..).keys(..).transact()` → the new `Account`."""

    def __init__(self, parent: Account, new_account_id: str) -> None:
        self.parent = parent
        self.new_account_id = new_account_id
        self._balance = 10 * NEAR
        self._secret_key: SecretKey | None = None

    def initial_balance(self, amount_yocto: int) -> CreateAccountTransaction:
        self._balance = amount_yocto
        return self

    def keys(self, secret_key: SecretKey) -> CreateAccountTransaction:
        self._secret_key = secret_key
        return self

    async def transact(self) -> Account:
        """Creates the account; raises `TransactionFailed` if the chain refused it."""
        key = self._secret_key or SecretKey.generate()
        batch = (
            self.parent.batch(self.new_account_id)
            .create_account()
            .transfer(self._balance)
            .add_key(key.public_key)
        )
        (await batch.transact()).into_result()
        account = Account(self.parent.worker, self.new_account_id, key)
        self.parent.worker.record_created(account)
        return account


def args_base64(args: Any) -> str:
    raw = args if isinstance(args, bytes) else _encode_args({} if args is None else args)
    return base64.b64encode(raw).decode()
