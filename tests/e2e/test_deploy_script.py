"""`python -m scripts.deploy` on a localnet process, through the same code path testnet uses (only --rpc and the key
file differ): a funded account that is not the root deploys the signer to a new sub-account and the caller example;
state is checked by RPC views; a re-run, --upgrade and --dry-run behave; bad input exits non-zero with one line and
sends nothing (the deploying key's nonces do not move)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import base58
import pytest

from chainsig_sandbox.localnet_process import LocalnetProcess, start_localnet

ROOT = Path(__file__).resolve().parents[2]
PAYER = "deployer.test.near"
CONTRACT = f"signer.{PAYER}"
CALLER = f"caller.{PAYER}"
SIGNER_WASM = ROOT / "contract" / "build" / "signer.wasm"

pytestmark = pytest.mark.slow


@dataclass
class Env:
    chain: LocalnetProcess
    key_file: Path
    participants: Path
    parameters: dict[str, Any]
    public_key: str
    work: Path

    def deploy(self, *extra: str, key_file: Path | None = None, contract: str = CONTRACT,
               in_process: bool = False) -> subprocess.CompletedProcess[str]:
        """Run the script as a process (or, for the many refusals, its `main` in this process: same code, faster)."""
        argv = ["--network", "localnet", "--rpc", self.chain.rpc_url, "--key-file", str(key_file or self.key_file),
                "--contract-id", contract, *extra]
        if "--build" in extra:  # let the script build (a cache hit after the fixture's build)
            argv.remove("--build")
        else:
            argv += ["--wasm", str(SIGNER_WASM)]
        if not in_process:
            return subprocess.run([sys.executable, "-m", "scripts.deploy", *argv], capture_output=True, text=True,
                                  cwd=ROOT, timeout=300, check=False)
        from scripts.deploy import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())

    def query(self, request: dict[str, Any]) -> Any:
        async def go() -> Any:
            from localnet.workspaces import JsonRpcClient

            client = JsonRpcClient(self.chain.rpc_url)
            try:
                return await client.call("query", {"finality": "final", **request})
            finally:
                await client.close()

        return asyncio.run(go())

    def view(self, account: str, method: str, args: dict[str, Any] | None = None) -> Any:
        answer = self.query({"request_type": "call_function", "account_id": account, "method_name": method,
                             "args_base64": base64.b64encode(json.dumps(args or {}).encode()).decode()})
        return json.loads(bytes(answer["result"]))

    def account(self, account: str) -> dict[str, Any] | None:
        from localnet.workspaces import RpcCallError

        try:
            result: dict[str, Any] = self.query({"request_type": "view_account", "account_id": account})
            return result
        except RpcCallError as exc:
            assert exc.cause_name == "UNKNOWN_ACCOUNT", exc
            return None

    def nonce(self) -> tuple[int, ...]:
        """The deploying key's nonce on every account it holds: any transaction the script sends moves one."""
        return tuple(int(self.query({"request_type": "view_access_key", "account_id": account,
                                     "public_key": self.public_key})["nonce"])
                     for account in (PAYER, CONTRACT, CALLER) if self.account(account) is not None)


def _report(out: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert out.returncode == 0, out.stderr
    report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return report


def _one_line_error(out: subprocess.CompletedProcess[str], *words: str) -> None:
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deploy: error: "), out.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    from contract.build import build_project_contracts
    from localnet.rpc.home import read_validator_key
    from localnet.workspaces import NEAR, SecretKey, connect

    build_project_contracts()  # contract/build/{signer,caller}.wasm (cached by source hash)
    work = tmp_path_factory.mktemp("deploy")
    chain = start_localnet(work / "chain")
    try:
        key = SecretKey.generate()

        async def fund() -> None:
            worker = connect(chain.rpc_url, read_validator_key(chain.root_key))
            try:
                await worker.root_account().create_subaccount("deployer").initial_balance(40 * NEAR).keys(key) \
                    .transact()
            finally:
                await worker.close()

        asyncio.run(fund())
        key_file = work / "deployer.json"
        key_file.write_text(json.dumps({"account_id": PAYER, "public_key": str(key.public_key),
                                        "private_key": key.to_near_string()}))  # NEAR CLI's spelling
        entries = [[f"node{i}.example.near", i, {"tls_public_key": str(SecretKey.generate().public_key),
                                                 "url": f"https://node{i}.example:443"}] for i in range(4)]
        parameters = {"threshold": 3, "participants": {"next_id": 4, "participants": entries}}
        participants = work / "participants.json"
        participants.write_text(json.dumps(parameters))
        yield Env(chain, key_file, participants, parameters, str(key.public_key), work)
    finally:
        chain.stop()


def test_dry_run_on_a_fresh_chain_sends_nothing(env: Env) -> None:
    before = env.nonce()
    report = _report(env.deploy("--participants", str(env.participants), "--with-caller", "--dry-run", "--json"))
    assert [s["action"] for s in report["steps"]] == ["would_create_account", "would_deploy", "would_init",
                                                      "would_create_account", "would_deploy", "would_init"]
    assert all(s["tx_hash"] is None for s in report["steps"])
    assert env.account(CONTRACT) is None and env.account(CALLER) is None
    assert env.nonce() == before


def test_deploy_creates_deploys_and_initialises_signer_and_caller(env: Env) -> None:
    out = env.deploy("--participants", str(env.participants), "--with-caller", "--json", "--build")
    report = _report(out)
    assert [(s["action"], s["account_id"]) for s in report["steps"]] == [
        ("create_account", CONTRACT), ("deploy", CONTRACT), ("init", CONTRACT),
        ("create_account", CALLER), ("deploy", CALLER), ("init", CALLER)]
    assert all(s["tx_hash"] for s in report["steps"])
    assert "explorer: none for localnet" in out.stdout
    # The chain, by views: code, version, participants and threshold exactly as in the file; the caller points at it.
    wasm = SIGNER_WASM.read_bytes()
    account = env.account(CONTRACT)
    assert account is not None
    assert account["code_hash"] == base58.b58encode(hashlib.sha256(wasm).digest()).decode() == report["code_hash"]
    assert env.view(CONTRACT, "version") == report["version"]
    state = env.view(CONTRACT, "state")
    assert state["protocol_state"] == "Running" == report["protocol_state"]
    assert state["threshold"] == 3 and state["participants"] == env.parameters["participants"]
    stored = env.query({"request_type": "view_state", "account_id": CALLER,
                        "prefix_base64": base64.b64encode(b"signer").decode()})["values"]
    assert [base64.b64decode(v["value"]) for v in stored] == [CONTRACT.encode()]


def test_second_run_is_idempotent_and_reports_the_version(env: Env) -> None:
    before = env.nonce()
    out = env.deploy("--participants", str(env.participants), "--with-caller", "--json")
    report = _report(out)
    assert {s["action"] for s in report["steps"]} == {"kept"}
    assert f"version {env.view(CONTRACT, 'version')}" in out.stdout and "already deployed" in out.stdout
    assert env.nonce() == before
    # Without --participants an initialized contract is fine too.
    assert _report(env.deploy("--json", in_process=True))["steps"][-1]["action"] == "kept"


def test_upgrade_redeploys_the_code_and_keeps_the_state(env: Env) -> None:
    before = env.nonce()
    dry = _report(env.deploy("--upgrade", "--dry-run", "--json", in_process=True))
    assert [s["action"] for s in dry["steps"]] == ["would_upgrade", "kept"] and env.nonce() == before
    report = _report(env.deploy("--upgrade", "--json"))
    (upgrade,) = [s for s in report["steps"] if s["action"] == "upgrade"]
    assert env.nonce() == (before[0], before[1] + 1, before[2])  # one transaction, signed by the contract account

    async def tx_actions() -> list[Any]:
        from localnet.workspaces import JsonRpcClient

        client = JsonRpcClient(env.chain.rpc_url)
        try:
            view = await client.call("tx", {"tx_hash": upgrade["tx_hash"], "sender_account_id": CONTRACT,
                                            "wait_until": "FINAL"})
        finally:
            await client.close()
        assert "SuccessValue" in view["status"]
        actions: list[Any] = view["transaction"]["actions"]
        return actions

    actions = asyncio.run(tx_actions())
    assert len(actions) == 1 and "DeployContract" in actions[0]
    state = env.view(CONTRACT, "state")
    assert state["participants"] == env.parameters["participants"]  # state kept across the upgrade


def test_bad_input_exits_non_zero_with_one_line_and_changes_nothing(env: Env) -> None:
    before = env.nonce()

    def deploy(*extra: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return env.deploy(*extra, in_process=True, **kw)

    _one_line_error(deploy("--participants", str(env.work / "missing.json")), "cannot read participants file")
    bad_key = env.work / "bad-key.json"
    bad_key.write_text('{"account_id": "deployer.test.near", "secret_key": ')
    _one_line_error(deploy(key_file=bad_key), "bad key file")
    assert "ed25519:" not in deploy(key_file=bad_key).stderr  # never echoes key material
    from localnet.workspaces import SecretKey

    other = SecretKey.generate()
    stranger = env.work / "stranger.json"
    stranger.write_text(json.dumps({"account_id": PAYER, "secret_key": other.to_near_string()}))
    _one_line_error(deploy(key_file=stranger), "not an access key of deployer.test.near")
    bad_json = env.work / "bad-participants.json"
    bad_json.write_text("{'threshold': 2}")
    _one_line_error(deploy("--participants", str(bad_json), contract=f"fresh.{PAYER}"), "not valid JSON")
    for broken, why in (({**env.parameters, "threshold": 5}, "threshold"),
                        ({"threshold": 1, "participants": {"next_id": 1, "participants": [["Bad Id", 0, {}]]}},
                         "participant 0"),
                        ({"threshold": 1, "participants": {"next_id": 1, "participants": [
                            ["ok.near", 0, {"tls_public_key": "ed25519:abc", "url": "https://x"}]]}},
                         "tls_public_key")):
        bad_json.write_text(json.dumps(broken))
        _one_line_error(deploy("--participants", str(bad_json), contract=f"fresh.{PAYER}"), why)
    _one_line_error(deploy(contract=f"fresh.{PAYER}"), "pass --participants")
    other_params = env.work / "other-participants.json"
    other_params.write_text(json.dumps({**env.parameters, "threshold": 2}))
    _one_line_error(deploy("--participants", str(other_params), "--upgrade"), "already initialized with other")
    _one_line_error(deploy("--participants", str(env.participants), contract="signer.elsewhere.near"),
                    "not a sub-account of deployer.test.near")
    assert env.nonce() == before
    assert env.account(f"fresh.{PAYER}") is None


def test_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    from scripts.deploy import main

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for option in ("--network", "--rpc", "--key-file", "--contract-id", "--participants", "--dry-run", "--upgrade"):
        assert option in text
