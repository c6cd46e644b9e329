"""Block and chunk views in nearcore's RPC shapes (one shard, one chunk per block, instant finality)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localnet.chain.records import b58

JSON = dict[str, Any]
PROTOCOL_VERSION = 86
ZERO_HASH = b58(bytes(32))


def _digest(*parts: Any) -> bytes:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).digest()


def rfc3339(timestamp_ns: int) -> str:
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def next_random_value(seed: bytes, prev_random_value: bytes, height: int) -> bytes:
    """A per-block random value: sha256(chain seed ‖ previous value ‖ height LE).

    nearcore derives it from the block producer's VRF over the previous value; the chain seed (secret,
    created at genesis) plays the producer key's role, so values cannot be predicted from outside.
    """
    return hashlib.sha256(seed + prev_random_value + height.to_bytes(8, "little")).digest()


@dataclass(frozen=True)
class BlockInput:
    height: int
    prev_height: int
    prev_hash: str
    timestamp_ns: int
    random_value: bytes
    author: str
    gas_price: int
    total_supply: int
    gas_burnt: int
    tokens_burnt: int
    transactions: list[JSON]
    receipts: list[JSON]
    outcome_ids: list[str]
    state_digest: bytes


def build_block(inp: BlockInput) -> tuple[JSON, JSON]:
    """Returns (block view, chunk view) for one produced block."""
    tx_root = b58(_digest("tx", [t["hash"] for t in inp.transactions]))
    receipts_root = b58(_digest("receipts", [r["receipt_id"] for r in inp.receipts]))
    outcome_root = b58(_digest("outcomes", inp.outcome_ids))
    state_root = b58(inp.state_digest)
    chunk_hash = b58(_digest("chunk", inp.height, inp.prev_hash, tx_root, receipts_root, outcome_root, state_root))
    chunk_header: JSON = {
        "chunk_hash": chunk_hash,
        "prev_block_hash": inp.prev_hash,
        "outcome_root": outcome_root,
        "prev_state_root": state_root,
        "encoded_merkle_root": ZERO_HASH,
        "encoded_length": 0,
        "height_created": inp.height,
        "height_included": inp.height,
        "shard_id": 0,
        "gas_used": inp.gas_burnt,
        "gas_limit": 1_000_000_000_000_000,
        "rent_paid": "0",
        "validator_reward": "0",
        "balance_burnt": str(inp.tokens_burnt),
        "outgoing_receipts_root": receipts_root,
        "tx_root": tx_root,
        "validator_proposals": [],
        "signature": "ed25519:" + b58(bytes(64)),
    }
    block_hash = b58(_digest("block", inp.height, inp.prev_hash, inp.timestamp_ns, b58(inp.random_value), chunk_hash))
    header: JSON = {
        "height": inp.height,
        "prev_height": inp.prev_height,
        "epoch_id": ZERO_HASH,
        "next_epoch_id": ZERO_HASH,
        "hash": block_hash,
        "prev_hash": inp.prev_hash,
        "prev_state_root": state_root,
        "block_body_hash": b58(_digest("body", chunk_hash)),
        "chunk_receipts_root": receipts_root,
        "chunk_headers_root": b58(_digest("headers", chunk_hash)),
        "chunk_tx_root": tx_root,
        "outcome_root": outcome_root,
        "chunks_included": 1,
        "challenges_root": ZERO_HASH,
        "timestamp": inp.timestamp_ns,
        "timestamp_nanosec": str(inp.timestamp_ns),
        "random_value": b58(inp.random_value),
        "validator_proposals": [],
        "chunk_mask": [True],
        "gas_price": str(inp.gas_price),
        "block_ordinal": inp.height + 1,
        "rent_paid": "0",
        "validator_reward": "0",
        "total_supply": str(inp.total_supply),
        "challenges_result": [],
        "last_final_block": inp.prev_hash,
        "last_ds_final_block": inp.prev_hash,
        "next_bp_hash": ZERO_HASH,
        "block_merkle_root": ZERO_HASH,
        "epoch_sync_data_hash": None,
        "approvals": [],
        "signature": "ed25519:" + b58(bytes(64)),
        "latest_protocol_version": PROTOCOL_VERSION,
    }
    block = {"author": inp.author, "header": header, "chunks": [chunk_header]}
    chunk = {"author": inp.author, "header": chunk_header, "transactions": inp.transactions, "receipts": inp.receipts}
    return block, chunk
