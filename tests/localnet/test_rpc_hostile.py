"""Hostile requests to the embedded node: each is answered with nearcore's error, cheaply, and block production
goes on while a flood of them is in flight; JSON is strict both ways; a failed `sandbox_patch_state` changes
nothing.

The flood tests run on a node of their own, so a regression (a handler that stalls the event loop for seconds)
fails here by its deadline without slowing the other test files' node.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localnet.chain.keys import SecretKey
from localnet.chain.transaction import Transaction, encode_transaction
from localnet.rpc.node import _nesting_exceeds
from localnet.runtime.fees import VM_LIMITS
from localnet.workspaces import BackgroundNode, RpcCallError, Worker
from localnet.workspaces.pytest_plugin import start_background_node, worker_with_cleanup

FLOOD_CLIENTS = 3
BLOCKS_DURING_FLOOD = 10
FLOOD_DEADLINE_S = 60.0
VICTIM = "victim.test.near"  # an account no test creates: a patch that wrongly applies would make it exist


@pytest.fixture(scope="module")
def hostile_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundNode]:
    node = start_background_node("embedded", tmp_path_factory.mktemp("node-hostile"), block_time_ms=20)
    yield node
    node.stop()


@pytest.fixture
async def hworker(hostile_node: BackgroundNode) -> AsyncIterator[Worker]:
    async with worker_with_cleanup(hostile_node) as w:
        yield w


def _request(method: str, params: Any, request_id: Any = 1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()


def _strict_loads(text: str) -> Any:
    """json.loads that refuses NaN/Infinity, as serde_json and JSON.parse do."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


async def _post(session: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, Any]:
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
        return response.status, _strict_loads(await response.text())


def _raw_signed_tx(
    key: SecretKey, signer: str, nonce: int, block_hash: bytes, action_bytes: bytes, action_count: int
) -> bytes:
    """A TransactionV0 with `action_count` actions whose borsh bytes are `action_bytes`, signed by `key`.

    Built by hand (header from `encode_transaction` with no actions, then the count and the raw actions): the
    borsh encoder is far too slow for the million-action transactions these tests send."""
    empty = encode_transaction(Transaction(signer, key.public_key, nonce, signer, block_hash, ()))
    body = empty[:-4] + struct.pack("<I", action_count) + action_bytes
    return body + b"\x00" + key.sign(hashlib.sha256(body).digest())


async def _root_tx_parts(worker: Worker) -> tuple[SecretKey, str, int, bytes]:
    root = worker.root_account()
    key = await worker.view_access_key(root.id, str(root.public_key))
    block_hash = base58.b58decode((await worker.view_block())["header"]["hash"])
    return root.secret_key, root.id, int(key["nonce"]) + 1, block_hash


async def _flood_and_watch_blocks(worker: Worker, body: bytes) -> list[tuple[int, Any]]:
    """Send `body` from FLOOD_CLIENTS clients back to back until the chain has produced BLOCKS_DURING_FLOOD more
    blocks (checked through `status`), then return every answer the flood got. Fails if the chain does not get
    there by the deadline while the flood runs."""
    answers: list[tuple[int, Any]] = []
    stop = asyncio.Event()
    url = worker.rpc.rpc_addr

    async def client() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
            while not stop.is_set():
                answers.append(await _post(session, url, body))

    start = await worker.block_height()
    clients = [asyncio.create_task(client()) for _ in range(FLOOD_CLIENTS)]
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FLOOD_DEADLINE_S
        height = start
        while height < start + BLOCKS_DURING_FLOOD:
            assert loop.time() < deadline, (
                f"the chain produced {height - start} blocks in {FLOOD_DEADLINE_S} s under the flood "
                f"({len(answers)} hostile requests answered)"
            )
            assert not any(task.done() for task in clients), [t.exception() for t in clients if t.done()]
            height = await worker.block_height()
            await asyncio.sleep(0.02)
        # The flood was still running when the chain got there: the blocks were produced while it was in flight.
        assert not any(task.done() for task in clients)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*clients, return_exceptions=True), FLOOD_DEADLINE_S)
    for task in clients:
        assert task.exception() is None
    assert answers
    return answers


def _assert_parse_error(status: int, body: Any, request_id: Any) -> None:
    assert status == 400, body
    assert body["id"] == request_id
    assert body["error"]["name"] == "REQUEST_VALIDATION_ERROR"
    assert body["error"]["cause"]["name"] == "PARSE_ERROR"
    assert body["error"]["code"] == -32700


# ---- item 1: inputs that used to stall the loop ---------------------------------------------------


async def test_blocks_continue_under_a_flood_of_bodies_that_defeat_a_quadratic_nesting_check(hworker: Worker) -> None:
    # 128 KB of `"\` pairs: every quote opens a string that never closes; then brackets deeper than the limit.
    body = b'"\\' * (64 * 1024) + b"[" * 200
    for status, answer in await _flood_and_watch_blocks(hworker, body):
        _assert_parse_error(status, answer, None)


async def test_blocks_continue_under_a_flood_of_huge_base58_block_ids(hworker: Worker) -> None:
    body = _request("block", {"block_id": "2" * 160_000}, request_id="big-id")
    for status, answer in await _flood_and_watch_blocks(hworker, body):
        _assert_parse_error(status, answer, "big-id")


async def test_blocks_continue_under_a_flood_of_million_action_transactions(hworker: Worker) -> None:
    key, signer, nonce, block_hash = await _root_tx_parts(hworker)
    count = 1_200_000  # one-byte CreateAccount actions: 1.2 MB, under the 1.5 MiB size limit
    raw = _raw_signed_tx(key, signer, nonce, block_hash, b"\x00" * count, count)
    assert len(raw) < VM_LIMITS.max_transaction_size
    body = _request("send_tx", {"signed_tx_base64": base64.b64encode(raw).decode(), "wait_until": "NONE"})
    for status, answer in await _flood_and_watch_blocks(hworker, body):
        assert status == 200, answer
        assert answer["error"]["cause"]["name"] == "INVALID_TRANSACTION"
        assert answer["error"]["data"] == {
            "TxExecutionError": {
                "InvalidTxError": {
                    "ActionsValidation": {
                        "TotalNumberOfActionsExceeded": {
                            "total_number_of_actions": count,
                            "limit": VM_LIMITS.max_actions_per_receipt,
                        }
                    }
                }
            }
        }
    # Nothing was charged or queued: the key's nonce is where it was.
    assert (await hworker.view_access_key(signer, str(key.public_key)))["nonce"] == nonce - 1


async def test_blocks_continue_under_a_flood_of_oversized_transactions(hworker: Worker) -> None:
    key, signer, nonce, block_hash = await _root_tx_parts(hworker)
    count = VM_LIMITS.max_transaction_size + 1000
    raw = _raw_signed_tx(key, signer, nonce, block_hash, b"\x00" * count, count)
    body = _request("send_tx", {"signed_tx_base64": base64.b64encode(raw).decode()})
    for status, answer in await _flood_and_watch_blocks(hworker, body):
        assert status == 200, answer
        assert answer["error"]["cause"]["name"] == "INVALID_TRANSACTION"
        assert answer["error"]["data"] == {
            "TxExecutionError": {
                "InvalidTxError": {
                    "TransactionSizeExceeded": {"size": len(raw), "limit": VM_LIMITS.max_transaction_size}
                }
            }
        }


async def test_too_many_actions_is_rejected_with_nearcores_error_at_101(hworker: Worker) -> None:
    key, signer, nonce, block_hash = await _root_tx_parts(hworker)
    limit = VM_LIMITS.max_actions_per_receipt
    over = _raw_signed_tx(key, signer, nonce, block_hash, b"\x00" * (limit + 1), limit + 1)
    status, answer = await hworker.rpc.post_raw(
        _request("broadcast_tx_async", [base64.b64encode(over).decode()])
    )
    assert status == 200
    kind = answer["error"]["data"]["TxExecutionError"]["InvalidTxError"]["ActionsValidation"]
    assert kind == {"TotalNumberOfActionsExceeded": {"total_number_of_actions": limit + 1, "limit": limit}}


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("block", ["1" * 45]),  # 45 leading-zero bytes: no 32-byte hash is that long in base58
        ("block", {"block_id": "z" * 100_000}),
        ("chunk", {"chunk_id": "z" * 100_000}),
        ("chunk", {"block_id": "z" * 100_000, "shard_id": 0}),
        ("gas_price", ["z" * 100_000]),
        ("validators", ["z" * 100_000]),
        ("validators", {"epoch_id": "z" * 100_000}),
        ("tx", ["z" * 100_000, "test.near"]),
        ("EXPERIMENTAL_tx_status", {"tx_hash": "z" * 100_000, "sender_account_id": "test.near"}),
        ("EXPERIMENTAL_receipt", {"receipt_id": "z" * 100_000}),
        ("EXPERIMENTAL_protocol_config", {"block_id": "z" * 100_000}),
        ("query", {"request_type": "view_account", "block_id": "z" * 100_000, "account_id": "test.near"}),
        ("query", {"request_type": "view_access_key", "finality": "final", "account_id": "test.near",
                   "public_key": "ed25519:" + "z" * 100_000}),
        ("query", ["account/test.near", "z" * 100_000]),
        ("sandbox_patch_state", {"records": [{"AccessKey": {"account_id": VICTIM,
                                 "public_key": "ed25519:" + "z" * 100_000,
                                 "access_key": {"nonce": 0, "permission": "FullAccess"}}}]}),
        ("sandbox_patch_state", {"records": [{"Account": {"account_id": VICTIM, "account": {
            "amount": "1", "locked": "0", "code_hash": "z" * 100_000, "storage_usage": 0}}}]}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_long_base58_is_refused_before_decoding(hworker: Worker, method: str, params: Any) -> None:
    before = _unstamped(await hworker.view_account("test.near"))
    status, body = await asyncio.wait_for(hworker.rpc.post_raw(_request(method, params, request_id=9)), 5)
    _assert_parse_error(status, body, 9)
    assert _unstamped(await hworker.view_account("test.near")) == before
    with pytest.raises(RpcCallError, match="UNKNOWN_ACCOUNT"):
        await hworker.view_account(VICTIM)


def _unstamped(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in ("block_height", "block_hash")}


# ---- item 3: strict JSON --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"jsonrpc": "2.0", "id": NaN, "method": "status", "params": []}',
        b'{"jsonrpc": "2.0", "id": Infinity, "method": "status", "params": []}',
        b'{"jsonrpc": "2.0", "id": -Infinity, "method": "status", "params": []}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "gas_price", "params": [NaN]}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "sandbox_fast_forward", "params": {"delta_height": Infinity}}',
        b'{"jsonrpc": "2.0", "id": 1e999, "method": "status", "params": []}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "block", "params": {"block_id": -1e400}}',
    ],
    ids=["id-nan", "id-inf", "id-neg-inf", "param-nan", "param-inf", "id-overflow", "param-overflow"],
)
async def test_nan_and_infinity_are_parse_errors_answered_in_strict_json(hworker: Worker, raw: bytes) -> None:
    async with aiohttp.ClientSession() as session:
        status, body = await _post(session, hworker.rpc.rpc_addr, raw)  # _post parses strictly
    _assert_parse_error(status, body, None)


async def test_every_answer_is_strict_json(hworker: Worker) -> None:
    huge_id = 10**30  # a JSON number, not representable as f64, echoed as given
    async with aiohttp.ClientSession() as session:
        for request_id in (huge_id, -1.5e300, "NaN", [1, {"a": None}], None):
            status, body = await _post(session, hworker.rpc.rpc_addr, _request("status", [], request_id))
            assert status == 200
            assert body["id"] == request_id


# ---- item 2: sandbox_patch_state is all-or-nothing ------------------------------------------------


def _data_record(account_id: str, key: bytes, value: bytes) -> dict[str, Any]:
    return {"Data": {"account_id": account_id, "data_key": base64.b64encode(key).decode(),
                     "value": base64.b64encode(value).decode()}}


BAD_RECORDS = [
    {"AccessKey": {"account_id": "{acc}", "public_key": 5, "access_key": {"nonce": 0, "permission": "FullAccess"}}},
    {"AccessKey": {"account_id": "{acc}", "public_key": "{pk}",
                   "access_key": {"nonce": 0, "permission": {"FunctionCall": "oops"}}}},
    {"AccessKey": {"account_id": "{acc}", "public_key": "{pk}", "access_key": {"nonce": -1, "permission": "FullAccess"}}},
    {"AccessKey": {"account_id": "{acc}", "public_key": "{pk}", "access_key": {"nonce": 0, "permission": ["x"]}}},
    {"Account": {"account_id": "{acc}", "account": {"amount": "-5", "locked": "0", "storage_usage": 0}}},
    {"Account": {"account_id": "{acc}", "account": {"amount": 1.5, "locked": "0", "storage_usage": 0}}},
    {"Account": {"account_id": "{acc}", "account": {"amount": str(2**128), "locked": "0", "storage_usage": 0}}},
    {"Account": {"account_id": "{acc}", "account": {"amount": "1", "locked": "0", "storage_usage": 0,
                                                    "code_hash": "0OIl"}}},
    {"Account": {"account_id": "{acc}", "account": "rich"}},
    {"Data": {"account_id": "{acc}", "data_key": 5, "value": ""}},
    {"Data": {"account_id": "{acc}", "data_key": "", "value": None}},
    {"Contract": {"account_id": "{acc}", "code": "%%%"}},
    {"Data": {"account_id": "NOT VALID", "data_key": "", "value": ""}},
    {"PostponedReceipt": {"receipt_id": 1}},
]


@pytest.mark.parametrize("bad", BAD_RECORDS, ids=[f"bad{i}" for i in range(len(BAD_RECORDS))])
async def test_failed_patch_state_changes_nothing(hworker: Worker, bad: dict[str, Any]) -> None:
    account = await hworker.dev_create_account()
    pk = str(SecretKey.generate().public_key)
    bad_json = json.dumps(bad).replace("{acc}", account.id).replace("{pk}", pk)
    good_first = [
        _data_record(account.id, b"first", b"1"),
        {"AccessKey": {"account_id": account.id, "public_key": pk,
                       "access_key": {"nonce": 0, "permission": "FullAccess"}}},
        {"Account": {"account_id": account.id, "account": {"amount": "7", "locked": "0", "storage_usage": 100}}},
    ]
    before = (await hworker.view_account(account.id), await hworker.view_access_keys(account.id))
    status, body = await hworker.rpc.post_raw(
        _request("sandbox_patch_state", {"records": [*good_first, json.loads(bad_json)]}, request_id=3)
    )
    _assert_parse_error(status, body, 3)
    assert await hworker.view_state(account.id) == {}
    after = (await hworker.view_account(account.id), await hworker.view_access_keys(account.id))
    assert _unstamped(after[0]) == _unstamped(before[0])
    assert after[1] == before[1]
    # The node took no harm and a good patch still applies in full.
    await hworker.patch_records(good_first[:1])
    assert await hworker.view_state(account.id) == {b"first": b"1"}


# ---- the nesting check is exact on JSON -----------------------------------------------------------


def _reference_depth(text: str) -> int:
    """The deepest nesting of arrays/objects in a JSON text, by a character-by-character state machine."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


_tricky_text = st.text(alphabet='[]{}"\\ab', max_size=12)
_nested_json = st.recursive(
    st.none() | st.integers() | _tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky_text, inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(document=_nested_json, limit=st.integers(0, 8))
def test_nesting_check_agrees_with_a_state_machine(document: Any, limit: int) -> None:
    text = json.dumps(document, ensure_ascii=False)
    assert _nesting_exceeds(text.encode(), limit) == (_reference_depth(text) > limit)


@pytest.mark.parametrize(("method", "params"), [("gas_price", [2**63]), ("block", {"block_id": 2**64 - 1}),
                                                ("chunk", {"block_id": 2**63, "shard_id": 0})])
async def test_u64_heights_beyond_sqlite_integers_are_unknown_blocks(hworker: Worker, method: str, params: Any) -> None:
    """Found by the fuzz run: a height >= 2**63 reached SQLite and came back as INTERNAL_ERROR."""
    status, body = await hworker.rpc.post_raw(_request(method, params))
    assert status == 200, body
    assert body["error"]["cause"]["name"] == "UNKNOWN_BLOCK"
