"""The chain's service interface, consumed by the JSON-RPC node (`localnet.rpc`) and the harness.

`localnet.chain.Chain` implements `ChainService`. Everything here is synchronous and single-threaded:
the RPC node owns the asyncio loop and calls `produce_block()` on its block timer; the chain never
sleeps. Views return JSON-ready dicts in nearcore's RPC result shapes (see
`../shared/reference/near-runtime.md` and nearcore's `chain/jsonrpc/openapi/openapi.json`), so the
RPC layer only routes and wraps. Errors are `localnet.errors.RpcError` subclasses.

`BlockRef` selects a block the way RPC does: {"finality": "optimistic"|"near-final"|"final"} or
{"block_id": height_int_or_hash_b58}. The embedded chain has instant finality: every finality maps
to the latest block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from localnet.chain.transaction import SignedTransaction

JSON = dict[str, Any]
BlockRef = dict[str, Any]


class ChainService(Protocol):
    chain_id: str
    genesis_height: int

    # ---- blocks ---------------------------------------------------------------------------
    def produce_block(self) -> JSON:
        """Apply pending transactions and receipts into a new block; returns the block view."""
        ...

    def fast_forward(self, delta_height: int) -> None:
        """Advance `delta_height` heights (like sandbox_fast_forward), firing yield timeouts that expire."""
        ...

    def latest_height(self) -> int: ...

    def block(self, ref: BlockRef) -> JSON:
        """`block` RPC result: {"author", "header": {..., "height", "hash", "prev_hash", "timestamp",
        "timestamp_nanosec", "random_value", "gas_price", "chunks_included", ...}, "chunks": [...]}."""
        ...

    def chunk(self, params: JSON) -> JSON:
        """`chunk` RPC result for {"chunk_id"} or {"block_id", "shard_id"}."""
        ...

    # ---- state ----------------------------------------------------------------------------
    def query(self, params: JSON) -> JSON:
        """`query` RPC: params carry request_type (view_account, view_code, view_state, view_access_key,
        view_access_key_list, call_function) plus finality/block_id; result carries block_height/block_hash.
        A contract error in call_function returns {"error": text, "logs": [], block_height, block_hash}."""
        ...

    def status(self) -> JSON: ...

    def gas_price(self, block_id: Any = None) -> JSON: ...

    def validators(self, params: Any = None) -> JSON: ...

    # ---- transactions ---------------------------------------------------------------------
    def submit_transaction(self, signed_tx: bytes | SignedTransaction) -> str:
        """Validate (size, action count, signature, key, nonce, balance, block hash) and queue for the next block.
        Bytes are decoded first; a `SignedTransaction` from `validation.decode_within_limits` is taken as is.
        Returns the tx hash (base58). Raises InvalidTransaction with nearcore's InvalidTxError."""
        ...

    def tx_status(self, tx_hash: str, sender_account_id: str, *, with_receipts: bool = False) -> JSON:
        """`tx` / `EXPERIMENTAL_tx_status` result: {"final_execution_status", "status", "transaction",
        "transaction_outcome", "receipts_outcome"} (+ "receipts" when with_receipts). Raises UnknownTransaction.
        final_execution_status is "NONE" (queued), "INCLUDED"/"EXECUTED_OPTIMISTIC" (some receipts pending,
        e.g. a waiting yield) or "FINAL" when every receipt has an outcome."""
        ...

    def receipt(self, receipt_id: str) -> JSON:
        """`EXPERIMENTAL_receipt` result. Raises UnknownReceipt."""
        ...

    # ---- sandbox --------------------------------------------------------------------------
    def patch_state(self, records: list[JSON]) -> None:
        """sandbox_patch_state records: {"Account"}, {"Data"}, {"Contract"}, {"AccessKey"}."""
        ...

    def close(self) -> None:
        """Flush and close persistence."""
        ...
