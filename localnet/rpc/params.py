"""Parsing of JSON-RPC `params` into what the chain expects, following nearcore's `RpcRequest::parse`.

Every parser raises `ParseError` (REQUEST_VALIDATION_ERROR / PARSE_ERROR) for params of the wrong shape,
so a bad request never reaches the chain. Both the positional (array) and the named (object) forms that
nearcore accepts are handled.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Any

import base58

from localnet.rpc.envelope import ParseError
from localnet.types import PublicKey

JSON = dict[str, Any]

FINALITIES = ("optimistic", "near-final", "final")
WAIT_LEVELS = ("NONE", "INCLUDED", "EXECUTED_OPTIMISTIC", "INCLUDED_FINAL", "EXECUTED", "FINAL")
QUERY_REQUEST_TYPES = (
    "view_account",
    "view_code",
    "view_state",
    "view_access_key",
    "view_access_key_list",
    "call_function",
)


HASH_BYTES = 32
# The legacy `query` path form carries its data in base58, whose decoding is quadratic in its length: it is
# bounded (nearcore has no such bound, but nobody sends kilobytes of base58 there; use `call_function`).
MAX_LEGACY_QUERY_DATA_BYTES = 2048


def _fail(message: str) -> ParseError:
    return ParseError(f"Failed parsing args: {message}")


def max_base58_chars(n_bytes: int) -> int:
    """The longest base58 text of `n_bytes` bytes (44 for a 32-byte hash): anything longer is refused before
    decoding, which is quadratic in the text's length."""
    return math.ceil(n_bytes * math.log(256) / math.log(58))


def _short(value: Any) -> str:
    """`value` for an error message, cut so a huge input does not come back whole."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} chars)"


def block_id(value: Any) -> int | str:
    """A block height (non-negative int) or a base58 block hash of 32 bytes."""
    if isinstance(value, bool):
        raise _fail(f"invalid block id {_short(value)}")
    if isinstance(value, int):
        if value < 0 or value >= 2**64:
            raise _fail(f"block height {value} out of range")
        return value
    if isinstance(value, str):
        return _hash32(value, "block hash")
    raise _fail(f"invalid block id {_short(value)}")


def block_reference(params: JSON, *, required: bool = True) -> JSON:
    """{"finality": ...} | {"block_id": ...} | {"sync_checkpoint": "genesis"|"earliest_available"}."""
    if "block_id" in params and params["block_id"] is not None:
        return {"block_id": block_id(params["block_id"])}
    if "finality" in params:
        finality = params["finality"]
        if finality not in FINALITIES:
            raise _fail(f"unknown finality {_short(finality)}")
        return {"finality": finality}
    if "sync_checkpoint" in params:
        checkpoint = params["sync_checkpoint"]
        if checkpoint not in ("genesis", "earliest_available"):
            raise _fail(f"unknown sync_checkpoint {_short(checkpoint)}")
        return {"sync_checkpoint": checkpoint}
    if required:
        raise _fail("expected one of `block_id`, `finality`, `sync_checkpoint`")
    return {"finality": "final"}


def block_params(params: Any) -> JSON:
    """`block`: [block_id] or {block_id | finality | sync_checkpoint}."""
    if isinstance(params, list):
        if len(params) != 1:
            raise _fail("expected [block_id]")
        return {"block_id": block_id(params[0])}
    if isinstance(params, dict):
        return block_reference(params)
    raise _fail("params must be an array or an object")


def chunk_params(params: Any) -> JSON:
    """`chunk`: [chunk_hash] or {chunk_id} or {block_id, shard_id}."""
    if isinstance(params, list):
        if len(params) != 1:
            raise _fail("expected [chunk_id]")
        params = {"chunk_id": params[0]}
    if not isinstance(params, dict):
        raise _fail("params must be an array or an object")
    if "chunk_id" in params:
        chunk_id = params["chunk_id"]
        return {"chunk_id": _hash32(chunk_id, "chunk_id")}
    if "block_id" in params and "shard_id" in params:
        shard_id = params["shard_id"]
        if isinstance(shard_id, bool) or not isinstance(shard_id, int) or shard_id < 0:
            raise _fail(f"invalid shard_id {_short(shard_id)}")
        return {"block_id": block_id(params["block_id"]), "shard_id": shard_id}
    raise _fail("expected `chunk_id` or `block_id` and `shard_id`")


def optional_block_id(params: Any) -> int | str | None:
    """`gas_price`: [block_id|null] or {block_id}."""
    if isinstance(params, list):
        if len(params) > 1:
            raise _fail("expected [block_id]")
        value = params[0] if params else None
    elif isinstance(params, dict):
        value = params.get("block_id")
    elif params is None:
        value = None
    else:
        raise _fail("params must be an array or an object")
    return None if value is None else block_id(value)


def validators_params(params: Any) -> Any:
    """`validators`: [null] | [epoch_id] | {"epoch_id"} | {"block_id"} | "latest"."""
    if params is None or params == [None] or params == "latest" or params == {"latest": None} or params == []:
        return None
    if isinstance(params, list) and len(params) == 1 and isinstance(params[0], str):
        return {"epoch_id": _hash32(params[0], "epoch_id")}
    if isinstance(params, dict) and ("epoch_id" in params or "block_id" in params):
        if "block_id" in params:
            return {"block_id": block_id(params["block_id"])}
        return {"epoch_id": _hash32(params["epoch_id"], "epoch_id")}
    raise _fail("expected [null], [epoch_id], {epoch_id} or {block_id}")


def _b58(text: str, what: str, max_bytes: int) -> bytes:
    """Decode base58 of at most `max_bytes` bytes; longer text is refused without decoding it."""
    if len(text) > max_base58_chars(max_bytes):
        raise _fail(f"invalid base58 {what}: {len(text)} chars is too long")
    try:
        return base58.b58decode(text)
    except ValueError as exc:
        raise _fail(f"invalid base58 {what}") from exc


def _hash32(value: Any, what: str) -> str:
    """A base58 CryptoHash (32 bytes), as nearcore's serde parses hashes."""
    if not isinstance(value, str) or len(_b58(value, what, HASH_BYTES)) != HASH_BYTES:
        raise _fail(f"invalid {what} {_short(value)}")
    return value


def public_key_text(text: str) -> str:
    """A public key as nearcore's serde reads it (`ed25519:<base58>` / `secp256k1:<base58>`), checked with its
    length bounded before any decoding."""
    try:
        PublicKey.from_string(text)
    except ValueError as exc:
        raise _fail(f"invalid public key {_short(text)}: {exc}") from exc
    return text


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise _fail(f"`{what}` must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _fail(f"invalid base64 in `{what}`") from exc


def _string(params: JSON, key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str):
        raise _fail(f"missing or non-string field `{key}`")
    return value


def query_params(params: Any) -> JSON:
    """`query`: the structured object form, or the legacy [path, data] form (data is base58)."""
    if isinstance(params, list):
        return _legacy_query(params)
    if not isinstance(params, dict):
        raise _fail("params must be an object")
    request_type = params.get("request_type")
    if request_type not in QUERY_REQUEST_TYPES:
        raise _fail(f"unknown request_type {_short(request_type)}")
    out: JSON = {"request_type": request_type, **block_reference(params)}
    out["account_id"] = _string(params, "account_id")
    if request_type == "view_state":
        prefix = params.get("prefix_base64", "")
        _b64(prefix, "prefix_base64")
        out["prefix_base64"] = prefix
        if "include_proof" in params:
            out["include_proof"] = bool(params["include_proof"])
    elif request_type == "view_access_key":
        out["public_key"] = public_key_text(_string(params, "public_key"))
    elif request_type == "call_function":
        out["method_name"] = _string(params, "method_name")
        args = params.get("args_base64", "")
        _b64(args, "args_base64")
        out["args_base64"] = args
    return out


def _legacy_query(params: list[Any]) -> JSON:
    """nearcore's old `query` form: ["account/<id>" | "access_key/<id>[/<pk>]" | "code/<id>" |
    "contract/<id>" | "call/<id>/<method>", base58 data]."""
    if len(params) != 2 or not all(isinstance(p, str) for p in params):
        raise _fail("expected [path, data]")
    path, data = params
    raw = _b58(data, "data", MAX_LEGACY_QUERY_DATA_BYTES)
    parts = path.split("/")
    kind, rest = parts[0], parts[1:]
    base: JSON = {"finality": "optimistic"}
    if kind == "account" and len(rest) == 1:
        return {"request_type": "view_account", "account_id": rest[0], **base}
    if kind == "access_key" and len(rest) == 1:
        return {"request_type": "view_access_key_list", "account_id": rest[0], **base}
    if kind == "access_key" and len(rest) == 2:
        return {"request_type": "view_access_key", "account_id": rest[0], "public_key": public_key_text(rest[1]), **base}
    if kind == "code" and len(rest) == 1:
        return {"request_type": "view_code", "account_id": rest[0], **base}
    if kind == "contract" and len(rest) == 1:
        prefix = base64.b64encode(raw).decode()
        return {"request_type": "view_state", "account_id": rest[0], "prefix_base64": prefix, **base}
    if kind == "call" and len(rest) == 2:
        args = base64.b64encode(raw).decode()
        return {
            "request_type": "call_function",
            "account_id": rest[0],
            "method_name": rest[1],
            "args_base64": args,
            **base,
        }
    raise _fail(f"Unknown path {path}")


@dataclass(frozen=True)
class SendTx:
    signed_tx: bytes
    wait_until: str


def send_tx_params(params: Any, *, default_wait: str = "EXECUTED_OPTIMISTIC") -> SendTx:
    """`send_tx` {signed_tx_base64, wait_until}; `broadcast_tx_*` [signed_tx_base64]."""
    if isinstance(params, list):
        if len(params) != 1:
            raise _fail("expected [signed_tx_base64]")
        return SendTx(_b64(params[0], "signed_tx_base64"), default_wait)
    if not isinstance(params, dict):
        raise _fail("params must be an array or an object")
    wait_until = params.get("wait_until", default_wait)
    if wait_until not in WAIT_LEVELS:
        raise _fail(f"unknown wait_until {_short(wait_until)}")
    return SendTx(_b64(params.get("signed_tx_base64"), "signed_tx_base64"), wait_until)


@dataclass(frozen=True)
class TxStatus:
    tx_hash: str
    sender_account_id: str
    wait_until: str


def tx_status_params(params: Any) -> TxStatus | SendTx:
    """`tx` / `EXPERIMENTAL_tx_status`: [hash, sender] | {tx_hash, sender_account_id, wait_until} |
    {signed_tx_base64, wait_until} (the last one is answered from the transaction itself)."""
    default_wait = "EXECUTED_OPTIMISTIC"
    if isinstance(params, list):
        if len(params) != 2 or not all(isinstance(p, str) for p in params):
            raise _fail("expected [tx_hash, sender_account_id]")
        tx_hash, sender = params
        wait_until = default_wait
    elif isinstance(params, dict):
        if "signed_tx_base64" in params:
            return send_tx_params(params)
        tx_hash = _string(params, "tx_hash")
        sender = _string(params, "sender_account_id")
        wait_until = params.get("wait_until", default_wait)
        if wait_until not in WAIT_LEVELS:
            raise _fail(f"unknown wait_until {_short(wait_until)}")
    else:
        raise _fail("params must be an array or an object")
    return TxStatus(_hash32(tx_hash, "tx hash"), sender, wait_until)


def receipt_id_params(params: Any) -> str:
    """`EXPERIMENTAL_receipt`: {receipt_id} or [receipt_id]."""
    if isinstance(params, list) and len(params) == 1:
        params = {"receipt_id": params[0]}
    if not isinstance(params, dict):
        raise _fail("expected {receipt_id}")
    return _hash32(_string(params, "receipt_id"), "receipt id")


def patch_state_params(params: Any) -> list[JSON]:
    """`sandbox_patch_state` {records: [...]} (each record an object with one of the known keys)."""
    if isinstance(params, list) and len(params) == 1:
        params = params[0]
    if not isinstance(params, dict) or not isinstance(params.get("records"), list):
        raise _fail("expected {records: [...]}")
    records: list[JSON] = params["records"]
    for record in records:
        if not isinstance(record, dict) or len(record) != 1:
            raise _fail(f"invalid state record {_short(record)}")
        kind = next(iter(record))
        if kind not in ("Account", "Data", "Contract", "AccessKey", "PostponedReceipt", "ReceivedData", "DelayedReceipt"):
            raise _fail(f"unknown state record {_short(kind)}")
        if not isinstance(record[kind], dict):
            raise _fail(f"invalid {kind} record")
    return records


def fast_forward_params(params: Any) -> int:
    """`sandbox_fast_forward` {delta_height}."""
    if isinstance(params, list) and len(params) == 1:
        params = params[0]
    if not isinstance(params, dict):
        raise _fail("expected {delta_height}")
    delta = params.get("delta_height")
    if isinstance(delta, bool) or not isinstance(delta, int) or delta < 0 or delta > 10**7:
        raise _fail(f"invalid delta_height {_short(delta)}")
    return delta
