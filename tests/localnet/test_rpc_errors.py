"""Bad input to the embedded node's JSON-RPC gets nearcore's error envelope and codes, never a traceback,
and the node keeps serving afterwards."""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

import base58
import pytest

from localnet.chain.keys import SecretKey
from localnet.chain.transaction import sign_transaction
from localnet.types import Transfer
from localnet.workspaces import RpcCallError, Worker

ZERO_HASH = base58.b58encode(bytes(32)).decode()


def _request(method: str, params: Any, request_id: Any = 7) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()


async def _assert_still_serving(worker: Worker) -> None:
    status = await worker.status()
    assert status["sync_info"]["latest_block_height"] >= 1


def _assert_envelope(body: Any, *, name: str, cause: str, code: int, request_id: Any) -> None:
    assert body["jsonrpc"] == "2.0"
    assert body["id"] == request_id
    error = body["error"]
    assert error["name"] == name
    assert error["cause"]["name"] == cause
    assert error["code"] == code
    assert error["message"] == {-32700: "Parse error", -32601: "Method not found"}.get(code, "Server error")
    assert error["data"]  # py-near reads error.data
    assert "Traceback" not in json.dumps(body)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"", b"\xff\xfe", b"[]", b'"status"', b"42", b'{"jsonrpc": "2.0", "id": 1}', b'{"method": 5, "id": 1}',
     b"[" * 100_000, b"{\"a\":" * 129],
    ids=[
        "truncated", "empty", "not-utf8", "array", "string", "number", "no-method", "method-not-string",
        "deep-nesting", "deep-objects",
    ],
)
async def test_malformed_bodies_are_parse_errors(worker: Worker, raw: bytes) -> None:
    status, body = await worker.rpc.post_raw(raw)
    assert status == 400
    _assert_envelope(body, name="REQUEST_VALIDATION_ERROR", cause="PARSE_ERROR", code=-32700, request_id=None)
    await _assert_still_serving(worker)


async def test_deep_nesting_is_refused_even_with_a_raised_recursion_limit(worker: Worker) -> None:
    """py-evm raises the interpreter's recursion limit to 10,000 on import; json's C scanner would then recurse
    past the node thread's C stack on a body of nested brackets and crash the process."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000_000)
    try:
        status, body = await worker.rpc.post_raw(b"[" * 1_000_000)
    finally:
        sys.setrecursionlimit(previous)
    assert status == 400
    _assert_envelope(body, name="REQUEST_VALIDATION_ERROR", cause="PARSE_ERROR", code=-32700, request_id=None)
    await _assert_still_serving(worker)


async def test_unknown_method_is_method_not_found(worker: Worker) -> None:
    status, body = await worker.rpc.post_raw(_request("no_such_method", [], request_id="abc"))
    assert status == 400
    _assert_envelope(body, name="REQUEST_VALIDATION_ERROR", cause="METHOD_NOT_FOUND", code=-32601, request_id="abc")
    assert body["error"]["cause"]["info"] == {"method_name": "no_such_method"}
    assert body["error"]["data"] == "no_such_method"


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("block", {"block_id": -1}),
        ("block", {"block_id": "not*base58"}),
        ("block", {"block_id": True}),
        ("block", {"finality": "soonish"}),
        ("block", {}),
        ("block", "latest"),
        ("chunk", {"chunk_id": 12}),
        ("chunk", {"block_id": 1}),
        ("query", {"request_type": "view_account", "finality": "final"}),
        ("query", {"request_type": "view_everything", "finality": "final", "account_id": "test.near"}),
        ("query", {"request_type": "view_account", "account_id": "test.near"}),
        ("query", {"request_type": "call_function", "finality": "final", "account_id": "a.near",
                   "method_name": "m", "args_base64": "%%%"}),
        ("query", ["nothing/test.near", ""]),
        ("query", "view_account"),
        ("send_tx", {"signed_tx_base64": "%%%not base64"}),
        ("send_tx", {"signed_tx_base64": base64.b64encode(b"garbage bytes").decode()}),
        ("send_tx", {"signed_tx_base64": base64.b64encode(b"x").decode(), "wait_until": "WHENEVER"}),
        ("send_tx", {}),
        ("broadcast_tx_async", [123]),
        ("broadcast_tx_commit", []),
        ("tx", ["not-a-hash", "test.near"]),
        ("tx", [ZERO_HASH]),
        ("tx", {"tx_hash": ZERO_HASH}),
        ("EXPERIMENTAL_receipt", {"receipt_id": 5}),
        ("validators", ["not-an-epoch-hash"]),
        ("validators", {"epoch_id": 7}),
        ("sandbox_fast_forward", {"delta_height": "ten"}),
        ("sandbox_fast_forward", {"delta_height": -3}),
        ("sandbox_patch_state", {"records": [{"Nonsense": {}}]}),
        ("sandbox_patch_state", {"records": "all"}),
    ],
)
async def test_bad_params_are_parse_errors(worker: Worker, method: str, params: Any) -> None:
    status, body = await worker.rpc.post_raw(_request(method, params))
    assert status == 400, body
    _assert_envelope(body, name="REQUEST_VALIDATION_ERROR", cause="PARSE_ERROR", code=-32700, request_id=7)
    await _assert_still_serving(worker)


async def test_oversized_body_is_rejected_and_node_keeps_serving(worker: Worker) -> None:
    huge = _request("query", {"padding": "x" * (11 * 1024 * 1024)})
    status, body = await worker.rpc.post_raw(huge)
    assert status == 413
    assert body["error"]["cause"]["name"] == "PARSE_ERROR"
    assert body["error"]["code"] == -32700
    await _assert_still_serving(worker)


async def _handler_error(worker: Worker, method: str, params: Any) -> RpcCallError:
    with pytest.raises(RpcCallError) as caught:
        await worker.rpc.call(method, params)
    error = caught.value
    assert error.http_status == 200
    assert error.name == "HANDLER_ERROR"
    assert error.code == -32000
    assert error.data
    return error


async def test_unknown_block_height_and_hash(worker: Worker) -> None:
    far = await worker.block_height() + 1_000_000
    assert (await _handler_error(worker, "block", {"block_id": far})).cause_name == "UNKNOWN_BLOCK"
    assert (await _handler_error(worker, "block", [ZERO_HASH])).cause_name == "UNKNOWN_BLOCK"
    query = {"request_type": "view_account", "block_id": far, "account_id": "test.near"}
    assert (await _handler_error(worker, "query", query)).cause_name == "UNKNOWN_BLOCK"


async def test_validators_of_unknown_block_or_epoch(worker: Worker) -> None:
    far = await worker.block_height() + 1_000_000
    assert (await _handler_error(worker, "validators", {"block_id": far})).cause_name == "UNKNOWN_BLOCK"
    other_epoch = base58.b58encode(bytes([7]) * 32).decode()
    assert (await _handler_error(worker, "validators", [other_epoch])).cause_name == "UNKNOWN_EPOCH"
    epoch_id = (await worker.view_block())["header"]["epoch_id"]
    assert (await worker.rpc.call("validators", [epoch_id]))["current_validators"]


async def test_unknown_and_invalid_accounts(worker: Worker) -> None:
    query = {"request_type": "view_account", "finality": "final", "account_id": "nobody-here.test.near"}
    error = await _handler_error(worker, "query", query)
    assert error.cause_name == "UNKNOWN_ACCOUNT"
    assert error.info["requested_account_id"] == "nobody-here.test.near"
    bad = {"request_type": "view_account", "finality": "final", "account_id": "Not..Valid!"}
    assert (await _handler_error(worker, "query", bad)).cause_name == "INVALID_ACCOUNT"


async def test_unknown_access_key_is_a_result_with_error_like_nearcore(worker: Worker) -> None:
    """nearcore's `process_query_response` keeps the legacy shape for this one: a result carrying `error`."""
    stranger = str(SecretKey.generate().public_key)
    answer = await worker.rpc.call(
        "query",
        {"request_type": "view_access_key", "finality": "final", "account_id": "test.near", "public_key": stranger},
    )
    assert answer["error"] == f"access key {stranger} does not exist while viewing"
    assert answer["logs"] == [] and answer["block_height"] >= 1 and answer["block_hash"]


async def test_unknown_transaction_receipt_and_chunk(worker: Worker) -> None:
    assert (await _handler_error(worker, "tx", [ZERO_HASH, "test.near"])).cause_name == "UNKNOWN_TRANSACTION"
    assert (await _handler_error(worker, "EXPERIMENTAL_receipt", {"receipt_id": ZERO_HASH})).cause_name == (
        "UNKNOWN_RECEIPT"
    )
    assert (await _handler_error(worker, "chunk", {"chunk_id": ZERO_HASH})).cause_name == "UNKNOWN_CHUNK"


async def test_invalid_transactions_report_invalid_tx_error(worker: Worker) -> None:
    root = worker.root_account()
    key = await worker.view_access_key(root.id, str(root.public_key))
    block_hash = base58.b58decode((await worker.view_block())["header"]["hash"])
    stale_nonce = sign_transaction(root.id, root.secret_key, None, key["nonce"], root.id, block_hash, [Transfer(1)])
    error = await _handler_error(worker, "send_tx", {"signed_tx_base64": base64.b64encode(stale_nonce).decode()})
    assert error.cause_name == "INVALID_TRANSACTION"
    assert "InvalidNonce" in json.dumps(error.data["TxExecutionError"]["InvalidTxError"])

    stranger = SecretKey.generate()
    unknown_key = sign_transaction(root.id, stranger, None, 1, root.id, block_hash, [Transfer(1)])
    error = await _handler_error(worker, "send_tx", {"signed_tx_base64": base64.b64encode(unknown_key).decode()})
    assert error.cause_name == "INVALID_TRANSACTION"
    await _assert_still_serving(worker)


async def test_view_call_errors_come_back_as_results(worker: Worker, kv_wasm: bytes) -> None:
    """nearcore answers a failing view with a result carrying `error` (not an RPC error)."""
    contract = await worker.dev_deploy(kv_wasm)
    args = base64.b64encode(b"{}").decode()
    answer = await worker.rpc.call(
        "query",
        {"request_type": "call_function", "finality": "final", "account_id": contract.id,
         "method_name": "fail", "args_base64": args},
    )
    assert "boom" in answer["error"]
    assert answer["logs"] == []
    assert answer["block_height"] >= 1
