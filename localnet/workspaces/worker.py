"""The Worker: one connection to a NEAR node (embedded localnet or near-sandbox), always over JSON-RPC."""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self

from localnet.chain.keys import SecretKey
from localnet.rpc.home import ValidatorKey
from localnet.workspaces.account import NEAR, Account, Contract, args_base64
from localnet.workspaces.client import JsonRpcClient
from localnet.workspaces.errors import RpcCallError, ViewFailed, WorkspaceError
from localnet.workspaces.results import ExecutionFinalResult, ViewResult
from localnet.workspaces.sending import DEFAULT_WAIT, TransactionSender

JSON = dict[str, Any]
DEV_ACCOUNT_BALANCE = 10 * NEAR
_dev_counter = itertools.count()


class Worker:
    """Entry point of the harness (see `localnet.workspaces.sandbox`)."""

    def __init__(
        self, rpc_addr: str, root: ValidatorKey, *, on_close: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.rpc_addr = rpc_addr
        self.rpc = JsonRpcClient(rpc_addr)
        self.sender = TransactionSender(self.rpc)
        self._root = root
        self._on_close = on_close
        self._closed = False
        self._dev_accounts: list[Account] = []

    async def close(self) -> None:
        """Close the RPC session and stop the backend this worker owns (if any). Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self.rpc.close()
        if self._on_close is not None:
            await self._on_close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---- accounts -------------------------------------------------------------------------------
    def root_account(self) -> Account:
        return Account(self, self._root.account_id, self._root.secret_key)

    async def dev_create_account(self, initial_balance: int = DEV_ACCOUNT_BALANCE) -> Account:
        """A fresh `dev-<time>-<n>.<root>` account with its own full-access key."""
        prefix = f"dev-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid() % 10000}-{next(_dev_counter)}"
        return await self.root_account().create_subaccount(prefix).initial_balance(initial_balance).transact()

    def record_created(self, account: Account) -> None:
        """Remember an account created through this worker, for `cleanup()`."""
        self._dev_accounts.append(account)

    async def cleanup(self) -> list[str]:
        """Delete every account created through this worker (`dev_create_account`, `dev_deploy`,
        `create_subaccount`; balance back to the root account), so the next test
        starts from the state before this one. Returns the ids that could not be deleted (already gone counts
        as deleted)."""
        accounts, self._dev_accounts = self._dev_accounts, []
        root_id = self._root.account_id

        async def delete(account: Account) -> str | None:
            try:
                result = await account.delete_account(root_id)
            except WorkspaceError:
                result = None
            if result is not None and result.is_success:
                return None
            try:
                await self.view_account(account.id)
            except RpcCallError as error:
                if error.cause_name == "UNKNOWN_ACCOUNT":
                    return None
            return account.id

        left = await asyncio.gather(*(delete(a) for a in accounts))
        return [account_id for account_id in left if account_id is not None]

    async def dev_deploy(self, wasm: bytes, initial_balance: int = DEV_ACCOUNT_BALANCE) -> Contract:
        account = await self.dev_create_account(initial_balance)
        (await account.deploy(wasm)).into_result()
        return account.as_contract()

    def account(self, account_id: str, secret_key: SecretKey) -> Account:
        """An existing account whose key you hold."""
        return Account(self, account_id, secret_key)

    async def transfer_near(
        self, signer: Account, receiver_id: str, amount_yocto: int, wait_until: str = DEFAULT_WAIT
    ) -> ExecutionFinalResult:
        return await signer.batch(receiver_id).transfer(amount_yocto).transact(wait_until)

    # ---- views ----------------------------------------------------------------------------------
    async def _query(self, request_type: str, finality: str = "optimistic", **fields: Any) -> JSON:
        answer: JSON = await self.rpc.call("query", {"request_type": request_type, "finality": finality, **fields})
        return answer

    async def view(self, contract_id: str, method_name: str, args: Any = None) -> ViewResult:
        answer = await self._query(
            "call_function", account_id=contract_id, method_name=method_name, args_base64=args_base64(args)
        )
        return ViewResult.from_json(answer)

    async def view_state(self, account_id: str, prefix: bytes = b"") -> dict[bytes, bytes]:
        answer = await self._query("view_state", account_id=account_id, prefix_base64=base64.b64encode(prefix).decode())
        return {base64.b64decode(e["key"]): base64.b64decode(e["value"]) for e in answer["values"]}

    async def view_account(self, account_id: str) -> JSON:
        return await self._query("view_account", account_id=account_id)

    async def view_code(self, account_id: str) -> bytes:
        return base64.b64decode((await self._query("view_code", account_id=account_id))["code_base64"])

    async def view_access_key(self, account_id: str, public_key: str) -> JSON:
        answer = await self._query("view_access_key", account_id=account_id, public_key=public_key)
        if "error" in answer:
            raise ViewFailed(str(answer["error"]), [])
        return answer

    async def view_access_keys(self, account_id: str) -> list[JSON]:
        keys: list[JSON] = (await self._query("view_access_key_list", account_id=account_id))["keys"]
        return keys

    async def view_block(self, block_id: int | str | None = None) -> JSON:
        params: JSON = {"finality": "final"} if block_id is None else {"block_id": block_id}
        block: JSON = await self.rpc.call("block", params)
        return block

    async def status(self) -> JSON:
        status: JSON = await self.rpc.call("status", [])
        return status

    async def block_height(self) -> int:
        return int((await self.status())["sync_info"]["latest_block_height"])

    async def tx_status(self, tx_hash: str, sender_id: str, wait_until: str = "NONE") -> JSON:
        """The raw `tx` view (`final_execution_status`, and once included `status` and the outcomes)."""
        view: JSON = await self.rpc.call(
            "tx", {"tx_hash": tx_hash, "sender_account_id": sender_id, "wait_until": wait_until}
        )
        return view

    # ---- sandbox controls -----------------------------------------------------------------------
    async def patch_state(self, account_id: str, key: bytes, value: bytes) -> None:
        """Write one contract storage entry directly (sandbox_patch_state with a Data record)."""
        record = {
            "Data": {
                "account_id": account_id,
                "data_key": base64.b64encode(key).decode(),
                "value": base64.b64encode(value).decode(),
            }
        }
        await self.patch_records([record])

    async def patch_records(self, records: list[JSON]) -> None:
        """sandbox_patch_state with nearcore StateRecords ({"Account"}, {"Data"}, {"Contract"}, {"AccessKey"})."""
        await self.rpc.call("sandbox_patch_state", {"records": records})

    async def fast_forward(self, delta_height: int) -> None:
        """Skip `delta_height` blocks (sandbox_fast_forward); yields that expire in between time out."""
        if delta_height < 0:
            raise WorkspaceError("delta_height must be non-negative")
        await self.rpc.call("sandbox_fast_forward", {"delta_height": delta_height})
