"""`python -m localnet`: ready line, rpc_addr file, validator key, clean shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from localnet.workspaces import JsonRpcClient


def _start(home: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "localnet", "--home", str(home), "--port", "0", "--block-time-ms", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("localnet ready: rpc http://127.0.0.1:"), line
    return process, line.split()[3]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_cli_serves_and_stops_cleanly(tmp_path: Path, stop_signal: signal.Signals) -> None:
    home = tmp_path / "cli-home"
    process, rpc_addr = _start(home)
    try:
        assert (home / "rpc_addr").read_text().strip() == rpc_addr
        key = json.loads((home / "validator_key.json").read_text())
        assert key["account_id"] == "test.near"
        assert key["public_key"].startswith("ed25519:") and key["secret_key"].startswith("ed25519:")
        assert (home / "validator_key.json").stat().st_mode & 0o077 == 0
        client = JsonRpcClient(rpc_addr)
        try:
            status = await client.call("status", [])
            account = await client.call(
                "query", {"request_type": "view_account", "finality": "final", "account_id": "test.near"}
            )
        finally:
            await client.close()
        assert status["sync_info"]["latest_block_height"] >= 1
        assert int(account["amount"]) > 0
    finally:
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "localnet stopped" in out
    assert "Traceback" not in err


def test_cli_rejects_bad_arguments(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "localnet", "--home", str(tmp_path), "--block-time-ms", "0"],
        check=False, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "--block-time-ms" in result.stderr
