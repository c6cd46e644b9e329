"""Conformance through real NEAR clients we did not write: py-near (PyPI) and near-api-js (npm).

The class runs once per backend (`backend_node`: the embedded localnet, and a real near-sandbox when
NEAR_SANDBOX_BIN_PATH is set). Every test creates its own accounts, so tests do not see each other's state.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import base58
import pytest
from py_near import transactions as pn_tx
from py_near.account import Account, ViewFunctionError
from py_near.exceptions.provider import (
    InvalidAccessKeyError,
    InvalidNonce,
    JsonProviderError,
    UnknownAccount,
    UnknownBlockError,
)
from py_near.models import TransactionResult

from localnet.chain.keys import SecretKey
from localnet.workspaces import NEAR, BackgroundNode, Worker

JS_DIR = Path(__file__).resolve().parents[1] / "js"
JS_SCRIPT = JS_DIR / "conformance.mjs"
_names = itertools.count()


def _decode(result: TransactionResult) -> Any:
    return json.loads(base64.b64decode(result.status["SuccessValue"]))


@pytest.fixture
async def root(backend_node: BackgroundNode) -> AsyncIterator[Account]:
    """py-near's Account for the root account `test.near`, with the key from the node's validator_key.json."""
    account = Account(backend_node.validator.account_id, backend_node.validator.secret_key.to_near_string(),
                      backend_node.rpc_addr)
    await account.startup()
    yield account
    await account.shutdown()


async def _pynear_account(root: Account, balance: int = 5 * NEAR) -> tuple[Account, SecretKey]:
    """A new sub-account of root created by py-near (CreateAccount + AddKey + Transfer), opened with py-near."""
    key = SecretKey.generate()
    account_id = f"pn{next(_names)}-{key.public_key.data[:4].hex()}.{root.account_id}"
    result = await root.create_account(account_id, str(key.public_key), balance)
    assert result.status == {"SuccessValue": ""}, result.status
    account = Account(account_id, key.to_near_string(), root.provider._rpc_addresses[0])
    await account.startup()
    return account, key


class TestPyNear:
    """py-near 1.x: accounts, deploy, calls with deposit, views, access keys and its error mapping."""

    async def test_create_account_and_view_it(self, root: Account) -> None:
        alice, key = await _pynear_account(root, balance=3 * NEAR)
        try:
            state = await alice.fetch_state()
            assert int(state["amount"]) == 3 * NEAR
            assert state["code_hash"] == "11111111111111111111111111111111"
            assert await root.get_balance(alice.account_id) == 3 * NEAR
            keys = await alice.get_access_key_list()
            assert [(k.public_key, k.access_key["permission"]) for k in keys] == [(str(key.public_key), "FullAccess")]
            again = await root.create_account(alice.account_id, str(key.public_key), NEAR)  # already exists
            failure = again.status["Failure"]["ActionError"]
            assert "AccountAlreadyExists" in failure["kind"]
        finally:
            await alice.shutdown()

    async def test_deploy_call_with_deposit_and_view(self, root: Account, kv_wasm: bytes, backend_worker: Worker) -> None:
        contract, _key = await _pynear_account(root)
        caller, _ = await _pynear_account(root)
        try:
            deployed = await contract.deploy_contract(kv_wasm)
            assert deployed.status == {"SuccessValue": ""}
            code = await backend_worker.view_code(contract.account_id)
            assert code == kv_wasm

            stored = await caller.function_call(contract.account_id, "set", {"who": "py-near"}, gas=30 * 10**12)
            assert _decode(stored) == {"who": "py-near"}
            assert "stored" in stored.logs
            assert stored.transaction.signer_id == caller.account_id
            assert stored.transaction.actions[0].method_name == "set"
            assert stored.transaction.actions[0].args == {"who": "py-near"}

            view = await caller.view_function(contract.account_id, "get", {})
            assert view.result == {"who": "py-near"}
            assert int(view.block_height) >= 1

            paid = await caller.function_call(contract.account_id, "pay", {}, amount=7 * 10**21)
            assert _decode(paid) is True
            assert paid.transaction.actions[0].deposit == str(7 * 10**21)  # u128 travels as a string
            looked_up = await caller.provider.get_tx(paid.transaction.hash, caller.account_id)
            assert looked_up.status == paid.status
            receipts = await caller.provider.get_tx_status(paid.transaction.hash, caller.account_id)
            assert receipts.receipts, "EXPERIMENTAL_tx_status carries the receipts"
        finally:
            await contract.shutdown()
            await caller.shutdown()

    async def test_add_and_delete_access_keys(self, root: Account, kv_wasm: bytes) -> None:
        owner, _ = await _pynear_account(root)
        try:
            assert (await owner.deploy_contract(kv_wasm)).status == {"SuccessValue": ""}
            full, limited = SecretKey.generate(), SecretKey.generate()
            assert (await owner.add_full_access_public_key(str(full.public_key))).status == {"SuccessValue": ""}
            added = await owner.add_public_key(str(limited.public_key), owner.account_id, ["set"], 10**23)
            assert added.status == {"SuccessValue": ""}
            keys = {k.public_key: k.access_key for k in await owner.get_access_key_list()}
            assert keys[str(full.public_key)]["permission"] == "FullAccess"
            assert keys[str(limited.public_key)]["permission"] == {
                "FunctionCall": {"allowance": str(10**23), "receiver_id": owner.account_id, "method_names": ["set"]}
            }

            rpc = root.provider._rpc_addresses[0]
            via_limited = Account(owner.account_id, limited.to_near_string(), rpc)
            await via_limited.startup()
            try:
                ok = await via_limited.function_call(owner.account_id, "set", {"k": 1}, gas=30 * 10**12)
                assert _decode(ok) == {"k": 1}
                with pytest.raises(InvalidAccessKeyError) as refused:
                    await via_limited.function_call(owner.account_id, "fail", {}, gas=30 * 10**12)
                assert "MethodNameMismatch" in json.dumps(refused.value.error_json)
            finally:
                await via_limited.shutdown()

            deleted = await owner.delete_public_key(str(full.public_key))
            assert deleted.status == {"SuccessValue": ""}
            remaining = {k.public_key for k in await owner.get_access_key_list()}
            assert str(full.public_key) not in remaining and str(limited.public_key) in remaining
            via_deleted = Account(owner.account_id, full.to_near_string(), rpc)
            await via_deleted.startup()
            try:
                with pytest.raises(ValueError, match="does not exist"):  # py-near reads the view's "error" field
                    await via_deleted.get_access_key(via_deleted.signer)
            finally:
                await via_deleted.shutdown()
        finally:
            await owner.shutdown()

    async def test_chain_views_and_included_wait(self, root: Account) -> None:
        status = await root.provider.get_status()
        height = status["sync_info"]["latest_block_height"]
        block = await root.provider.get_block(height)
        assert block["header"]["height"] == height and block["header"]["hash"] == status["sync_info"]["latest_block_hash"]
        chunk = await root.provider.get_chunk(block["chunks"][0]["chunk_hash"])
        assert chunk["header"]["chunk_hash"] == block["chunks"][0]["chunk_hash"]
        validators = await root.provider.get_validators()
        assert root.account_id in [v["account_id"] for v in validators["current_validators"]]

        receiver, _ = await _pynear_account(root, balance=NEAR)
        try:
            tx_hash = await root.send_money(receiver.account_id, 12345, included=True)  # send_tx wait_until INCLUDED
            assert isinstance(tx_hash, str)
            outcome = await root.provider.get_tx(tx_hash, root.account_id)
            assert outcome.transaction.hash == tx_hash
            assert outcome.status == {"SuccessValue": ""}
            assert await root.get_balance(receiver.account_id) == NEAR + 12345
        finally:
            await receiver.shutdown()

    async def test_error_cases(self, root: Account, kv_wasm: bytes) -> None:
        contract, _key = await _pynear_account(root)
        try:
            assert (await contract.deploy_contract(kv_wasm)).status == {"SuccessValue": ""}

            with pytest.raises(UnknownAccount) as unknown:
                await root.provider.get_account("nobody-here." + root.account_id)
            assert unknown.value.error_json["cause"]["info"]["requested_account_id"] == "nobody-here." + root.account_id

            with pytest.raises(ViewFunctionError, match="MethodNotFound"):
                await contract.view_function(contract.account_id, "no_such_method", {})
            with pytest.raises(ViewFunctionError, match="boom"):
                await contract.view_function(contract.account_id, "fail", {})

            panicked = await contract.function_call(contract.account_id, "fail", {}, gas=30 * 10**12)
            kind = panicked.status["Failure"]["ActionError"]["kind"]
            assert kind == {"FunctionCallError": {"ExecutionError": "Smart contract panicked: boom"}}
            assert any(r.error is not None for r in panicked.receipt_outcome)

            access = await contract.get_access_key(contract.signer)
            status = await contract.provider.get_status()
            stale = pn_tx.sign_and_serialize_transaction(
                contract.account_id, contract.signer, contract.account_id, access.nonce,  # reuses the last nonce
                [pn_tx.create_transfer_action(1)], base58.b58decode(status["sync_info"]["latest_block_hash"]),
            )
            with pytest.raises(InvalidNonce) as bad_nonce:
                await contract.provider.send_tx_and_wait(stale)
            assert bad_nonce.value.ak_nonce == access.nonce
            assert bad_nonce.value.tx_nonce == access.nonce

            with pytest.raises(UnknownBlockError):
                await root.provider.get_block(10**12)
            with pytest.raises(JsonProviderError) as unknown_tx:
                await root.provider.get_tx("11111111111111111111111111111111", root.account_id)
            assert unknown_tx.value.error_json["cause"]["name"] == "UNKNOWN_TRANSACTION"
            # the key stayed usable after the refused transaction
            assert (await contract.send_money(root.account_id, 1)).status == {"SuccessValue": ""}
        finally:
            await contract.shutdown()


class TestNearApiJs:
    """near-api-js 5.1.1 from npm, run by `node tests/js/conformance.mjs`."""

    async def test_view_call_and_outcome(self, backend_worker: Worker, kv_wasm: bytes) -> None:
        node = shutil.which("node")
        if node is None:
            pytest.skip("`node` is not on PATH: near-api-js conformance needs Node.js")
        if not (JS_DIR / "node_modules" / "near-api-js").is_dir():
            pytest.skip("tests/js/node_modules/near-api-js is missing: run `npm ci` in tests/js (scripts/setup.sh does)")
        worker = backend_worker
        contract = await worker.dev_deploy(kv_wasm)
        user = await worker.dev_create_account()
        status = await worker.status()
        balance = (await worker.view_account(user.id))["amount"]
        request = {
            "rpcUrl": worker.rpc_addr,
            "networkId": status["chain_id"],
            "accountId": user.id,
            "secretKey": user.secret_key.to_near_string(),
            "contractId": contract.id,
            "depositYocto": str(3 * 10**21),
        }
        process = await asyncio.create_subprocess_exec(
            node, str(JS_SCRIPT), json.dumps(request), cwd=JS_DIR,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 90)
        lines = out.decode().strip().splitlines()  # near-api-js prints receipt logs to stdout before our JSON line
        assert process.returncode == 0 and lines, f"node failed: {out.decode()[-2000:]} {err.decode()[-2000:]}"
        seen = json.loads(lines[-1])

        assert seen["chainId"] == status["chain_id"]
        assert seen["amount"] == balance
        assert seen["keyCount"] == 1
        assert seen["balance"]["total"] == balance
        assert int(seen["balance"]["available"]) <= int(balance)
        assert int(seen["gasPrice"]) > 0
        assert "test.near" in seen["validators"]
        assert seen["before"] is None
        assert seen["returned"] == {"from": "near-api-js"}
        assert seen["status"] == {"SuccessValue": base64.b64encode(b'{"from":"near-api-js"}').decode()}
        assert seen["deposit"] == str(3 * 10**21)
        assert seen["logs"] == ["stored"]
        assert seen["lookedUpStatus"] == seen["status"]
        assert seen["lookedUpFinal"] == "FINAL"
        assert seen["after"] == {"from": "near-api-js"}
        assert seen["blockHeight"] >= 1
        assert seen["txHash"] in seen["chunkTransactions"]
        assert seen["contractState"] == [["k", '{"from":"near-api-js"}']]
        # near-api-js 5 never bumps its cached nonce, so this second call first gets our INVALID_TRANSACTION
        # InvalidNonce; it only gets through because near-api-js recognised that error and retried.
        assert seen["panic"]["name"] == "ServerTransactionError"
        assert "boom" in seen["panic"]["message"]
        assert seen["missing"]["type"] == "AccountDoesNotExist"

        # The chain agrees with what near-api-js reported.
        assert (await contract.view("get")).json() == {"from": "near-api-js"}
        ours = await worker.tx_status(seen["txHash"], user.id, "FINAL")
        assert ours["status"] == seen["status"]
