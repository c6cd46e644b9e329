"""The embedded node's RPC methods: result shapes, request forms, wait_until levels, timeouts, sandbox methods."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import base58
import pytest

from localnet.chain.keys import SecretKey
from localnet.chain.transaction import sign_transaction
from localnet.types import Transfer
from localnet.workspaces import NEAR, RpcCallError, Worker, sandbox


async def _signed_transfer(worker: Worker, amount: int = 1) -> tuple[str, str]:
    """A signed base64 transfer from a fresh account to itself, and that account's id."""
    account = await worker.dev_create_account()
    key = await worker.view_access_key(account.id, str(account.public_key))
    block_hash = base58.b58decode((await worker.view_block())["header"]["hash"])
    raw = sign_transaction(
        account.id, account.secret_key, None, key["nonce"] + 1, "test.near", block_hash, [Transfer(amount)]
    )
    return base64.b64encode(raw).decode(), account.id


async def test_status_reports_chain_and_growing_height(worker: Worker) -> None:
    first = await worker.status()
    assert first["chain_id"]
    assert {"latest_block_hash", "latest_block_height", "latest_block_time", "syncing"} <= set(first["sync_info"])
    await asyncio.sleep(0.2)
    second = await worker.status()
    assert second["sync_info"]["latest_block_height"] > first["sync_info"]["latest_block_height"]


async def test_block_forms_agree(worker: Worker) -> None:
    latest = await worker.rpc.call("block", {"finality": "final"})
    height, block_hash = latest["header"]["height"], latest["header"]["hash"]
    by_height = await worker.rpc.call("block", {"block_id": height})
    by_hash = await worker.rpc.call("block", [block_hash])
    assert by_height["header"]["hash"] == block_hash
    assert by_hash["header"]["height"] == height
    assert {"author", "header", "chunks"} <= set(by_height)
    chunk_hash = by_height["chunks"][0]["chunk_hash"]
    chunk_by_id = await worker.rpc.call("chunk", {"chunk_id": chunk_hash})
    chunk_by_block = await worker.rpc.call("chunk", {"block_id": height, "shard_id": 0})
    assert chunk_by_id["header"]["chunk_hash"] == chunk_by_block["header"]["chunk_hash"] == chunk_hash
    assert {"transactions", "receipts"} <= set(chunk_by_id)


async def test_a_block_asked_again_is_the_same_and_a_future_one_is_unknown_until_produced(worker: Worker) -> None:
    """Blocks and chunks named by height or hash are served from a serialised copy after the first ask; a height
    not produced yet is an error, not a remembered one, and the request id is the caller's each time."""
    head = (await worker.rpc.call("block", {"finality": "final"}))["header"]["height"]
    first = await worker.rpc.call("block", {"block_id": head})
    again = await worker.rpc.call("block", [head])
    assert first == again and first["header"]["height"] == head
    chunk = await worker.rpc.call("chunk", {"block_id": head, "shard_id": 0})
    assert chunk == await worker.rpc.call("chunk", {"block_id": head, "shard_id": 0})
    future = head + 30
    with pytest.raises(RpcCallError) as unknown:
        await worker.rpc.call("block", {"block_id": future})
    assert unknown.value.cause_name == "UNKNOWN_BLOCK"
    deadline = asyncio.get_running_loop().time() + 60
    while (await worker.rpc.call("block", {"finality": "final"}))["header"]["height"] < future:
        assert asyncio.get_running_loop().time() < deadline, "the chain did not reach the height"
        await asyncio.sleep(0.05)  # polling a condition (the chain reaching `future`), not a fixed wait
    produced = await worker.rpc.call("block", {"block_id": future})
    assert produced["header"]["height"] == future
    body = {"jsonrpc": "2.0", "id": "mine-7", "method": "block", "params": {"block_id": future}}
    status, raw = await worker.rpc.post_raw(json.dumps(body).encode())
    assert status == 200 and raw["id"] == "mine-7" and raw["result"] == produced


async def test_gas_price_and_validators(worker: Worker) -> None:
    assert int((await worker.rpc.call("gas_price", [None]))["gas_price"]) > 0
    validators = await worker.rpc.call("validators", [None])
    assert any(v["account_id"] == "test.near" for v in validators["current_validators"])


async def test_query_legacy_path_form_matches_structured_form(worker: Worker) -> None:
    structured = await worker.view_account("test.near")
    legacy = await worker.rpc.call("query", ["account/test.near", ""])
    assert legacy["code_hash"] == structured["code_hash"]
    keys = await worker.rpc.call("query", ["access_key/test.near", ""])
    assert str(worker.root_account().public_key) in [k["public_key"] for k in keys["keys"]]


async def _query(worker: Worker, request_type: str, at: dict[str, object], **fields: object) -> dict[str, object]:
    answer: dict[str, object] = await worker.rpc.call("query", {"request_type": request_type, **at, **fields})
    return answer


async def test_every_query_type_by_finality_and_by_block_id_sees_that_blocks_state(
    worker: Worker, kv_wasm: bytes
) -> None:
    before_deploy = (await worker.view_block())["header"]  # recent: within the kept history however long the run
    contract = await worker.dev_deploy(kv_wasm)
    await contract.call("set").args_json({"v": 1}).transact()
    old = (await worker.view_block())["header"]
    await contract.call("set").args_json({"v": 2}).transact()
    extra_key = SecretKey.generate()
    await contract.batch(contract.id).add_key(extra_key.public_key).transact()
    pk = str(contract.public_key)
    forms: list[dict[str, object]] = [{"block_id": old["height"]}, {"block_id": old["hash"]}]
    for at in forms:
        view = await _query(worker, "call_function", at, account_id=contract.id, method_name="get", args_base64="")
        assert bytes(view["result"]) == b'{"v":1}' and view["block_height"] == old["height"]  # type: ignore[arg-type]
        state = await _query(worker, "view_state", at, account_id=contract.id, prefix_base64="")
        assert [base64.b64decode(e["value"]) for e in state["values"]] == [b'{"v":1}']  # type: ignore[attr-defined]
        keys = await _query(worker, "view_access_key_list", at, account_id=contract.id)
        assert [k["public_key"] for k in keys["keys"]] == [pk]  # type: ignore[attr-defined]
        code = await _query(worker, "view_code", at, account_id=contract.id)
        assert base64.b64decode(code["code_base64"]) == kv_wasm  # type: ignore[arg-type]
        account = await _query(worker, "view_account", at, account_id=contract.id)
        key = await _query(worker, "view_access_key", at, account_id=contract.id, public_key=pk)
        assert account["block_hash"] == key["block_hash"] == old["hash"]
    for finality in ("optimistic", "near-final", "final"):
        at = {"finality": finality}
        view = await _query(worker, "call_function", at, account_id=contract.id, method_name="get", args_base64="")
        assert bytes(view["result"]) == b'{"v":2}'  # type: ignore[arg-type]
        keys = await _query(worker, "view_access_key_list", at, account_id=contract.id)
        assert {k["public_key"] for k in keys["keys"]} == {pk, str(extra_key.public_key)}  # type: ignore[attr-defined]
    before_creation = await worker.rpc.post_raw(json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "query",
        "params": {"request_type": "view_account", "block_id": before_deploy["height"], "account_id": contract.id},
    }).encode())
    assert before_creation[1]["error"]["cause"]["name"] == "UNKNOWN_ACCOUNT"


async def test_gas_price_and_validators_by_block(worker: Worker) -> None:
    header = (await worker.view_block())["header"]
    by_height = await worker.rpc.call("gas_price", [header["height"]])
    by_hash = await worker.rpc.call("gas_price", {"block_id": header["hash"]})
    assert by_height == by_hash and int(by_height["gas_price"]) > 0
    validators = await worker.rpc.call("validators", {"block_id": header["height"]})
    assert [v["account_id"] for v in validators["current_validators"]] == ["test.near"]


async def test_experimental_protocol_config(worker: Worker) -> None:
    config = await worker.rpc.call("EXPERIMENTAL_protocol_config", {"finality": "final"})
    status = await worker.status()
    assert (config["chain_id"], config["protocol_version"]) == (status["chain_id"], status["protocol_version"])
    assert config["runtime_config"]["storage_amount_per_byte"] == str(10**19)
    assert config["runtime_config"]["wasm_config"]["limit_config"]["yield_timeout_length_in_blocks"] == 200
    far = {"block_id": status["sync_info"]["latest_block_height"] + 10**6}
    with pytest.raises(RpcCallError) as unknown:
        await worker.rpc.call("EXPERIMENTAL_protocol_config", far)
    assert unknown.value.cause_name == "UNKNOWN_BLOCK"


async def test_tx_status_from_signed_transaction(worker: Worker) -> None:
    """`EXPERIMENTAL_tx_status` / `tx` also accept {signed_tx_base64} (nearcore submits it if unknown)."""
    signed, sender = await _signed_transfer(worker)
    answer = await worker.rpc.call("EXPERIMENTAL_tx_status", {"signed_tx_base64": signed, "wait_until": "FINAL"})
    assert answer["transaction"]["signer_id"] == sender
    assert answer["status"] == {"SuccessValue": ""}
    assert answer["receipts"]


@pytest.mark.parametrize(
    "wait_until", ["NONE", "INCLUDED", "EXECUTED_OPTIMISTIC", "INCLUDED_FINAL", "EXECUTED", "FINAL"]
)
async def test_send_tx_wait_levels(worker: Worker, wait_until: str) -> None:
    signed, sender = await _signed_transfer(worker)
    answer = await worker.rpc.call("send_tx", {"signed_tx_base64": signed, "wait_until": wait_until})
    if wait_until == "NONE":
        assert answer == {"final_execution_status": "NONE"}
        return
    assert answer["transaction"]["signer_id"] == sender
    if wait_until in ("EXECUTED_OPTIMISTIC", "EXECUTED", "FINAL"):
        assert "SuccessValue" in answer["status"]
        assert answer["final_execution_status"] in ("EXECUTED_OPTIMISTIC", "EXECUTED", "FINAL")
    if wait_until in ("EXECUTED", "FINAL"):
        assert answer["final_execution_status"] == "FINAL"
    assert answer["transaction_outcome"]["outcome"]["gas_burnt"] > 0


async def test_broadcast_async_then_tx_and_receipt(worker: Worker) -> None:
    signed, sender = await _signed_transfer(worker)
    tx_hash = await worker.rpc.call("broadcast_tx_async", [signed])
    assert len(base58.b58decode(tx_hash)) == 32
    final = await worker.rpc.call("tx", {"tx_hash": tx_hash, "sender_account_id": sender, "wait_until": "FINAL"})
    assert final["transaction"]["hash"] == tx_hash
    positional = await worker.rpc.call("tx", [tx_hash, sender])
    assert positional["status"] == final["status"]
    experimental = await worker.rpc.call("EXPERIMENTAL_tx_status", [tx_hash, sender])
    assert experimental["receipts"]
    receipt_id = final["transaction_outcome"]["outcome"]["receipt_ids"][0]
    receipt = await worker.rpc.call("EXPERIMENTAL_receipt", {"receipt_id": receipt_id})
    assert receipt["receipt_id"] == receipt_id
    assert receipt["receiver_id"] == "test.near"


async def test_broadcast_tx_commit_returns_the_outcome(worker: Worker) -> None:
    signed, _sender = await _signed_transfer(worker)
    answer = await worker.rpc.call("broadcast_tx_commit", [signed])
    assert "SuccessValue" in answer["status"]
    assert answer["receipts_outcome"]


@pytest.fixture
async def impatient_worker(tmp_path: Path) -> AsyncIterator[Worker]:
    """Its own embedded node whose transaction waits give up after 1 s."""
    worker = await sandbox(backend="embedded", home=tmp_path / "impatient", block_time_ms=20, wait_timeout_s=1.0)
    yield worker
    await worker.close()


async def test_pending_yield_reports_started_times_out_and_fast_forward_resolves(
    impatient_worker: Worker, kv_wasm: bytes
) -> None:
    worker = impatient_worker
    contract = await worker.dev_deploy(kv_wasm)
    pending = await contract.call("wait").gas(100 * 10**12).transact_async()
    with pytest.raises(RpcCallError) as caught:
        await worker.rpc.call(
            "tx", {"tx_hash": pending.tx_hash, "sender_account_id": contract.id, "wait_until": "EXECUTED_OPTIMISTIC"}
        )
    assert caught.value.cause_name == "TIMEOUT_ERROR"
    assert caught.value.http_status == 408
    assert (await pending.status())["status"] == "Started"
    assert not await pending.is_done()

    await worker.fast_forward(201)
    result = await pending.wait("FINAL", timeout_s=10)
    assert result.json() == "resumed"  # the callback ran after the yield timed out


async def test_send_tx_times_out_when_no_block_comes(tmp_path: Path) -> None:
    """A node whose next block is an hour away: INCLUDED can never be reached, so send_tx gives TIMEOUT_ERROR."""
    worker = await sandbox(backend="embedded", home=tmp_path / "stalled", block_time_ms=3_600_000, wait_timeout_s=0.5)
    try:
        root = worker.root_account()
        key = await worker.view_access_key(root.id, str(root.public_key))
        block_hash = base58.b58decode((await worker.view_block())["header"]["hash"])
        raw = sign_transaction(root.id, root.secret_key, None, key["nonce"] + 1, root.id, block_hash, [Transfer(1)])
        with pytest.raises(RpcCallError) as caught:
            await worker.rpc.call(
                "send_tx", {"signed_tx_base64": base64.b64encode(raw).decode(), "wait_until": "INCLUDED"}
            )
        assert caught.value.cause_name == "TIMEOUT_ERROR"
        assert caught.value.data == "Timeout"
        assert (await worker.status())["chain_id"]
    finally:
        await worker.close()


async def test_patch_state_and_fast_forward(worker: Worker, kv_wasm: bytes) -> None:
    contract = await worker.dev_deploy(kv_wasm)
    await worker.patch_state(contract.id, b"k", json.dumps({"patched": True}).encode())
    assert (await contract.view("get")).json() == {"patched": True}
    before = await worker.block_height()
    await worker.fast_forward(50)
    assert await worker.block_height() >= before + 50


async def test_state_survives_restart(tmp_path: Path) -> None:
    home = tmp_path / "persistent"
    worker = await sandbox(backend="embedded", home=home, block_time_ms=20)
    account = await worker.dev_create_account(initial_balance=3 * NEAR)
    root_key = str(worker.root_account().public_key)
    height = await worker.block_height()
    await worker.close()

    worker = await sandbox(backend="embedded", home=home, block_time_ms=20)
    try:
        with pytest.raises(RpcCallError) as forgotten:  # state history is kept in memory, like a non-archival node
            await worker.rpc.call("query", {"request_type": "view_account", "block_id": height - 1, "account_id": account.id})
        assert forgotten.value.cause_name == "GARBAGE_COLLECTED_BLOCK"
        assert str(worker.root_account().public_key) == root_key
        assert int((await worker.view_account(account.id))["amount"]) == 3 * NEAR
        assert await worker.block_height() >= height
        again = worker.account(account.id, account.secret_key)
        assert (await again.transfer_near("test.near", 1)).is_success  # its key and nonce survived too
    finally:
        await worker.close()


def test_state_history_rebuilds_recent_blocks_and_forgets_old_ones() -> None:
    """The undo records behind `query` by block_id: exact past states for the kept blocks, then GC'd."""
    from localnet.chain.history import StateHistory
    from localnet.chain.state import State
    from localnet.errors import GarbageCollectedBlock

    state = State({("data", "a.near", b"k"): b"v0"})
    history = StateHistory(first_height=10, keep_blocks=2)
    for height, value in ((11, b"v1"), (12, b"v2"), (13, None)):
        if value is None:
            state.delete(("data", "a.near", b"k"))
        else:
            state.set(("data", "a.near", b"k"), value)
        state.set(("data", "a.near", f"new{height}".encode()), b"x")
        history.record(height, state.undo_log())
        state.take_dirty()
    assert history.state_at(state, 13, "h13") is state
    at_12 = history.state_at(state, 12, "h12")
    assert at_12.get(("data", "a.near", b"k")) == b"v2"
    assert ("data", "a.near", b"new13") not in at_12 and ("data", "a.near", b"new12") in at_12
    assert history.state_at(state, 11, "h11").get(("data", "a.near", b"k")) == b"v1"
    with pytest.raises(GarbageCollectedBlock) as gone:  # only 2 blocks kept: 12 and 13's undo records
        history.state_at(state, 10, "h10")
    assert gone.value.info == {"block_height": 10, "block_hash": "h10"}
    assert state.get(("data", "a.near", b"k")) is None  # rebuilding never touched the live state
