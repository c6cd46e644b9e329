"""Signing and sending transactions over JSON-RPC: nonces, block hashes, `send_tx` and status polling."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import base58

from localnet.chain.keys import InMemorySigner
from localnet.chain.transaction import decode_signed_transaction, sign_transaction
from localnet.types import Action
from localnet.workspaces.client import JsonRpcClient
from localnet.workspaces.errors import RpcCallError
from localnet.workspaces.results import ExecutionFinalResult

JSON = dict[str, Any]
DEFAULT_WAIT = "FINAL"


def _is_invalid_nonce(error: RpcCallError) -> bool:
    return error.cause_name == "INVALID_TRANSACTION" and "InvalidNonce" in str(error.data)


class TransactionSender:
    """Signs with locally tracked nonces (fetched once per key, refreshed after an InvalidNonce)."""

    def __init__(self, rpc: JsonRpcClient) -> None:
        self.rpc = rpc
        self._nonces: dict[tuple[str, str], int] = {}
        self._lock = asyncio.Lock()

    async def _next_nonce(self, signer: InMemorySigner) -> int:
        key = (signer.account_id, str(signer.public_key))
        async with self._lock:
            if key not in self._nonces:
                view = await self.rpc.call(
                    "query",
                    {
                        "request_type": "view_access_key",
                        "finality": "optimistic",
                        "account_id": signer.account_id,
                        "public_key": str(signer.public_key),
                    },
                )
                if "error" in view:
                    raise RpcCallError("query", {"name": "HANDLER_ERROR", "cause": {"name": "UNKNOWN_ACCESS_KEY"},
                                                 "data": view["error"]}, 200)
                self._nonces[key] = int(view["nonce"])
            self._nonces[key] += 1
            return self._nonces[key]

    def forget_nonce(self, signer: InMemorySigner) -> None:
        self._nonces.pop((signer.account_id, str(signer.public_key)), None)

    async def sign(self, signer: InMemorySigner, receiver_id: str, actions: Sequence[Action]) -> bytes:
        nonce = await self._next_nonce(signer)
        block = await self.rpc.call("block", {"finality": "final"})
        block_hash = base58.b58decode(block["header"]["hash"])
        return sign_transaction(
            signer.account_id, signer.secret_key, signer.public_key, nonce, receiver_id, block_hash, actions
        )

    async def send(
        self, signer: InMemorySigner, receiver_id: str, actions: Sequence[Action], wait_until: str = DEFAULT_WAIT
    ) -> ExecutionFinalResult:
        """Send and wait for `wait_until` (nearcore gives up with TIMEOUT_ERROR after 10 s)."""
        for attempt in range(2):
            signed = await self.sign(signer, receiver_id, actions)
            try:
                view = await self.rpc.call(
                    "send_tx", {"signed_tx_base64": base64.b64encode(signed).decode(), "wait_until": wait_until}
                )
            except RpcCallError as error:
                if attempt == 0 and _is_invalid_nonce(error):
                    self.forget_nonce(signer)
                    continue
                raise
            return ExecutionFinalResult.from_json(view)
        raise AssertionError("unreachable")

    async def send_async(
        self, signer: InMemorySigner, receiver_id: str, actions: Sequence[Action]
    ) -> PendingTransaction:
        """Submit without waiting for execution; poll the returned handle."""
        signed = await self.sign(signer, receiver_id, actions)
        tx_hash = base58.b58encode(decode_signed_transaction(signed).hash).decode()
        await self.rpc.call("send_tx", {"signed_tx_base64": base64.b64encode(signed).decode(), "wait_until": "NONE"})
        return PendingTransaction(self.rpc, tx_hash, signer.account_id)


@dataclass(frozen=True)
class PendingTransaction:
    """A submitted transaction (like near-workspaces' `TransactionStatus`)."""

    rpc: JsonRpcClient
    tx_hash: str
    sender_id: str

    async def status(self) -> JSON:
        """The current `tx` view without waiting: `final_execution_status` and, once included, `status`."""
        answer: JSON = await self.rpc.call(
            "tx", {"tx_hash": self.tx_hash, "sender_account_id": self.sender_id, "wait_until": "NONE"}
        )
        return answer

    async def is_done(self) -> bool:
        status = (await self.status()).get("status")
        return isinstance(status, dict)

    async def wait(self, wait_until: str = DEFAULT_WAIT, *, timeout_s: float = 60.0) -> ExecutionFinalResult:
        """Wait (re-asking after each server-side TIMEOUT_ERROR) until `wait_until` or `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            try:
                view = await self.rpc.call(
                    "tx", {"tx_hash": self.tx_hash, "sender_account_id": self.sender_id, "wait_until": wait_until}
                )
                return ExecutionFinalResult.from_json(view)
            except RpcCallError as error:
                if error.cause_name != "TIMEOUT_ERROR" or loop.time() >= deadline:
                    raise
