"""The near-workspaces-style harness (`localnet.workspaces`), run once per backend (`backend_worker`: the embedded
localnet, and a real near-sandbox when NEAR_SANDBOX_BIN_PATH is set)."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from localnet.chain.keys import SecretKey
from localnet.types import FunctionCallPermission
from localnet.workspaces import (
    NEAR,
    TGAS,
    BackendError,
    BackgroundNode,
    NearSandboxProcess,
    RpcCallError,
    TransactionFailed,
    ViewFailed,
    Worker,
    sandbox,
)
from localnet.workspaces.pytest_plugin import near_node, near_worker, worker_with_cleanup

__all__ = ["near_node", "near_worker"]  # the documented plugin fixtures, used by test_plugin_fixtures below


class TestWorkspaces:
    async def test_accounts_and_subaccounts(self, backend_worker: Worker) -> None:
        worker = backend_worker
        root = worker.root_account()
        assert root.id == "test.near"
        alice = await worker.dev_create_account(initial_balance=4 * NEAR)
        assert alice.id.endswith(".test.near")
        assert int((await alice.view_account())["amount"]) == 4 * NEAR
        key = SecretKey.generate()
        bob = await alice.create_subaccount("bob").initial_balance(NEAR).keys(key).transact()
        assert bob.id == f"bob.{alice.id}"
        assert [k["public_key"] for k in await bob.view_access_keys()] == [str(key.public_key)]
        sent = await bob.transfer_near(alice.id, NEAR // 10)
        assert sent.is_success and sent.total_gas_burnt > 0
        with pytest.raises(TransactionFailed) as exists:
            await alice.create_subaccount("bob").initial_balance(NEAR).transact()
        assert "AccountAlreadyExists" in json.dumps(exists.value.failure)

    async def test_call_builder_results_and_views(self, backend_worker: Worker, kv_wasm: bytes) -> None:
        worker = backend_worker
        contract = await worker.dev_deploy(kv_wasm)
        assert await worker.view_code(contract.id) == kv_wasm
        user = await worker.dev_create_account()

        result = await user.call(contract.id, "set").args_json({"n": 5}).deposit(3).gas(40 * TGAS).transact()
        assert result.is_success and not result.is_failure
        assert result.json() == {"n": 5}
        assert result.logs == ["stored"]
        assert result.failures == ()
        assert result.total_gas_burnt == sum(o.gas_burnt for o in result.outcomes) > 0
        action = result.raw["transaction"]["actions"][0]["FunctionCall"]
        assert (action["deposit"], action["gas"]) == ("3", 40 * TGAS)

        view = await contract.view("get")
        assert view.json() == {"n": 5} and view.block_height >= 1
        assert (await worker.view(contract.id, "get", {})).json() == {"n": 5}
        assert await contract.view_state() == {b"k": b'{"n":5}'}

        paid = await user.call(contract.id, "pay").deposit(1).transact()
        assert paid.json() is True
        unpaid = await user.call(contract.id, "pay").transact()
        assert unpaid.is_failure and not unpaid.is_success
        assert len(unpaid.failures) == 1
        assert "boom" in json.dumps(unpaid.failure)
        with pytest.raises(TransactionFailed, match="boom"):
            unpaid.json()

        with pytest.raises(ViewFailed, match="boom"):
            await contract.view("fail")

    async def test_batch_keys_and_delete_account(self, backend_worker: Worker, kv_wasm: bytes) -> None:
        worker = backend_worker
        owner = await worker.dev_deploy(kv_wasm)
        full, limited = SecretKey.generate(), SecretKey.generate()
        permission = FunctionCallPermission(NEAR // 10, owner.id, ("set",))
        added = await owner.batch(owner.id).add_key(full.public_key).add_key(limited.public_key, permission).transact()
        assert added.is_success
        keys = {k["public_key"]: k["access_key"]["permission"] for k in await owner.view_access_keys()}
        assert keys[str(full.public_key)] == "FullAccess"
        assert keys[str(limited.public_key)]["FunctionCall"]["method_names"] == ["set"]

        via_limited = worker.account(owner.id, limited)
        assert (await via_limited.call(owner.id, "set").args_json(1).transact()).json() == 1
        with pytest.raises(RpcCallError) as refused:
            await via_limited.call(owner.id, "get").transact()
        assert refused.value.cause_name == "INVALID_TRANSACTION"
        assert "MethodNameMismatch" in json.dumps(refused.value.data)

        assert (await owner.batch(owner.id).delete_key(full.public_key).transact()).is_success
        assert str(full.public_key) not in {k["public_key"] for k in await owner.view_access_keys()}

        assert (await owner.delete_account("test.near")).is_success
        with pytest.raises(RpcCallError) as gone:
            await worker.view_account(owner.id)
        assert gone.value.cause_name == "UNKNOWN_ACCOUNT"

    async def test_patch_state_and_fast_forward(self, backend_worker: Worker, kv_wasm: bytes) -> None:
        worker = backend_worker
        contract = await worker.dev_deploy(kv_wasm)
        await worker.patch_state(contract.id, b"k", b'"patched"')
        assert (await contract.view("get")).json() == "patched"
        new_key = SecretKey.generate()
        await worker.patch_records([{
            "AccessKey": {
                "account_id": contract.id,
                "public_key": str(new_key.public_key),
                "access_key": {"nonce": 0, "permission": "FullAccess"},
            }
        }])
        via_patched = worker.account(contract.id, new_key)
        assert (await via_patched.call(contract.id, "set").args_json("signed by patched key").transact()).is_success

        before = await worker.block_height()
        await worker.fast_forward(40)
        assert await worker.block_height() >= before + 40
        after = await worker.view_block()
        assert after["header"]["height"] >= before + 40

    async def test_cleanup_removes_the_tests_accounts(self, backend_node: BackgroundNode, kv_wasm: bytes) -> None:
        """What the `worker` fixtures do between tests: the accounts (and their contracts' state) a test made
        are gone afterwards, and their balance is back on the root account."""
        async with worker_with_cleanup(backend_node) as worker:
            root_before = int((await worker.view_account("test.near"))["amount"])
            contract = await worker.dev_deploy(kv_wasm)
            user = await worker.dev_create_account()
            await user.call(contract.id, "set").args_json({"left": "behind"}).transact()
            sub = await user.create_subaccount("sub").initial_balance(NEAR).transact()
            created = [contract.id, user.id, sub.id]
        async with worker_with_cleanup(backend_node) as next_test:
            for account_id in created:
                with pytest.raises(RpcCallError) as gone:
                    await next_test.view_account(account_id)
                assert gone.value.cause_name == "UNKNOWN_ACCOUNT"
            root_after = int((await next_test.view_account("test.near"))["amount"])
            assert root_before - root_after < NEAR // 10  # only fees were spent; the 20 NEAR came back


_plugin_accounts: list[str] = []


async def test_plugin_fixtures_first(near_worker: Worker, kv_wasm: bytes) -> None:
    contract = await near_worker.dev_deploy(kv_wasm)
    await contract.call("set").args_json("mine").transact()
    _plugin_accounts.append(contract.id)


async def test_plugin_fixtures_second_sees_a_clean_state(near_worker: Worker) -> None:
    if not _plugin_accounts:
        pytest.skip("runs after test_plugin_fixtures_first (run the module, not this test alone)")
    with pytest.raises(RpcCallError) as gone:
        await near_worker.view_account(_plugin_accounts[0])
    assert gone.value.cause_name == "UNKNOWN_ACCOUNT"


async def test_sandbox_starts_and_stops_its_own_node() -> None:
    """`sandbox()` picks the backend (near-sandbox when NEAR_SANDBOX_BIN_PATH is set) and owns it."""
    async with await sandbox(block_time_ms=20) as worker:
        status = await worker.status()
        assert status["sync_info"]["latest_block_height"] >= 1
        account = await worker.dev_create_account()
        assert (await worker.transfer_near(account, "test.near", 1)).is_success
        rpc_addr = worker.rpc_addr
    from localnet.workspaces import JsonRpcClient, RpcTransportError

    client = JsonRpcClient(rpc_addr, timeout_s=2)
    try:
        with pytest.raises(RpcTransportError):
            await client.call("status", [])
    finally:
        await client.close()


SANDBOX_CLI_SHIM = """#!{python}
# Speaks near-sandbox's command line (`--home D init`, `--home D run --rpc-addr H:P --network-addr H:Q`) and runs
# `python -m localnet` behind it. Only NearSandboxProcess's process handling is under test here, not nearcore.
import os, sys
from pathlib import Path
args = sys.argv[1:]
home = Path(args[args.index("--home") + 1])
if "init" in args:
    from localnet.rpc.home import load_or_create_validator_key
    home.mkdir(parents=True, exist_ok=True)
    load_or_create_validator_key(home)
    (home / "config.json").write_text("{{}}")
    sys.exit(0)
port = args[args.index("--rpc-addr") + 1].rsplit(":", 1)[1]
os.execv(sys.executable, [sys.executable, "-m", "localnet", "--home", str(home), "--port", port, "--log-level", "WARNING"])
"""


async def test_near_sandbox_process_handling_via_a_cli_shim(tmp_path: Path) -> None:
    """init once, run with --rpc-addr/--network-addr, wait for status, read validator_key.json, stop on close;
    a second start on the same home skips init and keeps the chain."""
    shim = tmp_path / "near-sandbox"
    shim.write_text(SANDBOX_CLI_SHIM.format(python=sys.executable))
    shim.chmod(0o755)
    home = tmp_path / "sandbox-home"
    process = NearSandboxProcess(shim, home)
    await process.start(timeout_s=60)
    try:
        assert process.validator is not None and process.validator.account_id == "test.near"
        async with Worker(process.rpc_addr, process.validator) as worker:
            account = await worker.dev_create_account(initial_balance=NEAR)
    finally:
        await process.stop()
    assert process._process is not None and process._process.returncode == 0  # SIGTERM -> clean exit

    again = NearSandboxProcess(shim, home)
    await again.start(timeout_s=60)
    try:
        assert again.validator == process.validator
        async with Worker(again.rpc_addr, again.validator) as worker:
            assert int((await worker.view_account(account.id))["amount"]) == NEAR
    finally:
        await again.stop()


async def test_near_sandbox_backend_reports_a_missing_binary(tmp_path: Path) -> None:
    process = NearSandboxProcess(tmp_path / "no-such-binary", tmp_path / "home")
    with pytest.raises(BackendError, match="missing file"):
        await process.start()


def test_args_encoding_matches_near_workspaces() -> None:
    """args_json uses compact JSON like near-workspaces (serde_json), so contracts see the same bytes."""
    from localnet.workspaces.account import args_base64

    assert base64.b64decode(args_base64({"a": 1, "b": [1, 2]})) == b'{"a":1,"b":[1,2]}'
    assert base64.b64decode(args_base64(None)) == b"{}"
    assert base64.b64decode(args_base64(b"\x00raw")) == b"\x00raw"
