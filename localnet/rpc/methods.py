"""The JSON-RPC methods: route each call to the chain and wait for transactions the way nearcore does.

The chain is synchronous; every call here runs in the event-loop thread between awaits, so the chain is never
entered concurrently. Transaction waits (`send_tx`, `broadcast_tx_commit`, `tx` with `wait_until`) re-check the
chain after each produced block and give up with TIMEOUT_ERROR after `wait_timeout_s` (nearcore: 10 s).

Levels of `wait_until` on a chain with instant finality:
    NONE                         accepted into the pool
    INCLUDED, INCLUDED_FINAL     the transaction has an outcome in a block
    EXECUTED_OPTIMISTIC          the final status is known (SuccessValue or Failure)
    EXECUTED, FINAL              every receipt has an outcome (the chain reports "FINAL")
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from localnet.chain.api import ChainService
from localnet.chain.transaction import SignedTransaction
from localnet.chain.validation import decode_within_limits
from localnet.errors import TimeoutError_, UnknownAccessKey, UnknownEpoch
from localnet.rpc import params as p
from localnet.rpc.envelope import EncodedResult, MethodNotFound
from localnet.rpc.protocol_config import protocol_config

JSON = dict[str, Any]
Handler = Callable[[Any], Awaitable[Any]]
ENCODED_CACHE_SIZE = 256  # blocks and chunks kept serialised: every MPC node reads each one
# Transactions above this size are decoded in a worker thread (borsh decoding here is pure Python), so the
# block timer keeps its pace; smaller ones are decoded inline, where a thread hop would cost more than it saves.
DECODE_IN_THREAD_BYTES = 16 * 1024


async def decode_transaction(raw: bytes) -> SignedTransaction:
    """`decode_within_limits` (size and action count checked before decoding), off the loop when big."""
    if len(raw) > DECODE_IN_THREAD_BYTES:
        return await asyncio.to_thread(decode_within_limits, raw)
    return decode_within_limits(raw)


class BlockTicker:
    """Wakes waiters each time the node produces a block."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def tick(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout_s: float) -> None:
        """Return after the next block or after `timeout_s`, whichever is first."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout_s)
        except TimeoutError:
            pass


def _is_terminal(view: JSON) -> bool:
    status = view.get("status")
    return isinstance(status, dict) and ("SuccessValue" in status or "Failure" in status)


def _included(view: JSON) -> bool:
    return view.get("final_execution_status", "NONE") != "NONE" and "transaction_outcome" in view


def reached_level(view: JSON) -> str:
    """The `final_execution_status` to report for a chain tx view."""
    if not _included(view):
        return "NONE"
    if view.get("final_execution_status") == "FINAL" and _is_terminal(view):
        return "FINAL"
    if _is_terminal(view):
        return "EXECUTED_OPTIMISTIC"
    return "INCLUDED_FINAL"


def satisfies(view: JSON, wait_until: str) -> bool:
    if wait_until == "NONE":
        return True
    if wait_until in ("INCLUDED", "INCLUDED_FINAL"):
        return _included(view)
    if wait_until == "EXECUTED_OPTIMISTIC":
        return _is_terminal(view)
    return reached_level(view) == "FINAL"


def shape(view: JSON, level: str) -> JSON:
    """nearcore omits the outcome until the transaction is included."""
    if level == "NONE":
        return {"final_execution_status": "NONE"}
    return {**view, "final_execution_status": level}


def legacy_unknown_access_key(request: JSON, error: UnknownAccessKey) -> JSON:
    """nearcore's `process_query_response` answers an unknown key in `view_access_key` with a *result*
    `{"error": "access key <pk> does not exist while viewing", "logs": [], block_height, block_hash}`
    (py-near and near-api-js match on that text), not with an RPC error."""
    info = error.info or {}
    return {
        "error": f"access key {info.get('public_key', request.get('public_key'))} does not exist while viewing",
        "logs": [],
        "block_height": info.get("block_height"),
        "block_hash": info.get("block_hash"),
    }


class RpcMethods:
    """Method table of the node. `dispatch(method, params)` returns the JSON `result` or raises `RpcError`."""

    def __init__(self, chain: ChainService, ticker: BlockTicker, *, wait_timeout_s: float = 10.0) -> None:
        self.chain = chain
        self.ticker = ticker
        self.wait_timeout_s = wait_timeout_s
        self._encoded: OrderedDict[str, EncodedResult] = OrderedDict()
        self._table: dict[str, Handler] = {
            "status": self._status,
            "block": self._block,
            "chunk": self._chunk,
            "gas_price": self._gas_price,
            "validators": self._validators,
            "query": self._query,
            "send_tx": self._send_tx,
            "broadcast_tx_async": self._broadcast_tx_async,
            "broadcast_tx_commit": self._broadcast_tx_commit,
            "tx": self._tx,
            "EXPERIMENTAL_tx_status": self._experimental_tx_status,
            "EXPERIMENTAL_receipt": self._experimental_receipt,
            "EXPERIMENTAL_protocol_config": self._experimental_protocol_config,
            "sandbox_patch_state": self._sandbox_patch_state,
            "sandbox_fast_forward": self._sandbox_fast_forward,
        }

    @property
    def names(self) -> list[str]:
        return sorted(self._table)

    async def dispatch(self, method: str, params: Any) -> Any:
        handler = self._table.get(method)
        if handler is None:
            raise MethodNotFound(method)
        return await handler(params)

    # ---- views ----------------------------------------------------------------------------------
    async def _status(self, _params: Any) -> Any:
        return self.chain.status()

    async def _block(self, params: Any) -> Any:
        ref = p.block_params(params)
        if ref.get("block_id") is None:  # a finality: the answer moves with the head
            return self.chain.block(ref)
        return self._immutable("block", ref, self.chain.block)

    async def _chunk(self, params: Any) -> Any:
        return self._immutable("chunk", p.chunk_params(params), self.chain.chunk)

    def _immutable(self, method: str, ref: Any, read: Callable[[Any], Any]) -> EncodedResult:
        """A block or chunk named by height or hash never changes once produced, and each MPC node's indexer reads
        every one: serialise it once. Unknown ones raise from `read` and are not remembered."""
        key = method + json.dumps(ref, sort_keys=True)
        hit = self._encoded.get(key)
        if hit is not None:
            self._encoded.move_to_end(key)
            return hit
        encoded = EncodedResult(json.dumps(read(ref), allow_nan=False))
        self._encoded[key] = encoded
        while len(self._encoded) > ENCODED_CACHE_SIZE:
            self._encoded.popitem(last=False)
        return encoded

    async def _gas_price(self, params: Any) -> Any:
        return self.chain.gas_price(p.optional_block_id(params))

    async def _validators(self, params: Any) -> Any:
        request = p.validators_params(params)
        if request is not None and "block_id" in request:
            self.chain.block(request)  # UNKNOWN_BLOCK for a block the chain does not have
        if request is not None and "epoch_id" in request:
            # One epoch for the whole chain: its id is in every block header.
            current = self.chain.block({"finality": "final"})["header"]["epoch_id"]
            if request["epoch_id"] != current:
                raise UnknownEpoch(
                    f"Epoch id {request['epoch_id']} is unknown", info={"epoch_id": request["epoch_id"]}
                )
        return self.chain.validators(request)

    async def _query(self, params: Any) -> Any:
        request = p.query_params(params)
        try:
            return self.chain.query(request)
        except UnknownAccessKey as error:
            return legacy_unknown_access_key(request, error)

    async def _experimental_receipt(self, params: Any) -> Any:
        return self.chain.receipt(p.receipt_id_params(params))

    async def _experimental_protocol_config(self, params: Any) -> Any:
        self.chain.block(p.block_params(params))  # UNKNOWN_BLOCK for an unknown block; the config never changes
        return protocol_config(self.chain.status())

    # ---- transactions ---------------------------------------------------------------------------
    async def _send_tx(self, params: Any) -> Any:
        return await self._submit_and_wait(p.send_tx_params(params), with_receipts=False)

    async def _broadcast_tx_commit(self, params: Any) -> Any:
        return await self._submit_and_wait(p.send_tx_params(params), with_receipts=False)

    async def _broadcast_tx_async(self, params: Any) -> Any:
        request = p.send_tx_params(params)
        return self.chain.submit_transaction(await decode_transaction(request.signed_tx))

    async def _tx(self, params: Any) -> Any:
        return await self._status_and_wait(p.tx_status_params(params), with_receipts=False)

    async def _experimental_tx_status(self, params: Any) -> Any:
        return await self._status_and_wait(p.tx_status_params(params), with_receipts=True)

    async def _status_and_wait(self, request: p.TxStatus | p.SendTx, *, with_receipts: bool) -> JSON:
        if isinstance(request, p.SendTx):
            return await self._submit_and_wait(request, with_receipts=with_receipts)
        return await self._wait(request.tx_hash, request.sender_account_id, request.wait_until, with_receipts)

    async def _submit_and_wait(self, request: p.SendTx, *, with_receipts: bool) -> JSON:
        signed = await decode_transaction(request.signed_tx)  # malformed bytes raise PARSE_ERROR here
        tx_hash = self.chain.submit_transaction(signed)
        sender = signed.transaction.signer_id
        if request.wait_until == "NONE":
            return {"final_execution_status": "NONE"}
        return await self._wait(tx_hash, sender, request.wait_until, with_receipts)

    async def _wait(self, tx_hash: str, sender: str, wait_until: str, with_receipts: bool) -> JSON:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout_s
        while True:
            view = self.chain.tx_status(tx_hash, sender, with_receipts=with_receipts)
            if satisfies(view, wait_until):
                return shape(view, reached_level(view))
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError_("Timeout", info={}, data="Timeout")
            await self.ticker.wait(remaining)

    # ---- sandbox --------------------------------------------------------------------------------
    async def _sandbox_patch_state(self, params: Any) -> Any:
        self.chain.patch_state(p.patch_state_params(params))
        return {}

    async def _sandbox_fast_forward(self, params: Any) -> Any:
        delta = p.fast_forward_params(params)
        self.chain.fast_forward(delta)
        self.ticker.tick()
        return {}
