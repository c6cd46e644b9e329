"""The embedded localnet as its own process: `python -m localnet --home DIR --port 0`, ready once it wrote
`DIR/rpc_addr`; the root account's key is `DIR/validator_key.json` (test.near)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from chainsig_sandbox.nodes import PROJECT_ROOT

__all__ = ["LocalnetProcess", "start_localnet"]


@dataclass
class LocalnetProcess:
    home: Path
    rpc_url: str
    proc: subprocess.Popen[bytes]

    @property
    def root_key(self) -> Path:
        return self.home / "validator_key.json"

    @property
    def log(self) -> Path:
        return self.home / "localnet.log"

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_localnet(home: Path, *, block_time_ms: int | None = None, wait_timeout_s: float | None = None,
                   timeout_s: float = 60.0) -> LocalnetProcess:
    """Start the node on a free port and wait (on its `rpc_addr` file) until it serves. `wait_timeout_s`: how long
    `send_tx`/`tx` wait for an outcome before TIMEOUT_ERROR (the node's default: 10 s)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "rpc_addr").unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "localnet", "--home", str(home), "--port", "0"]
    if block_time_ms is not None:
        cmd += ["--block-time-ms", str(block_time_ms)]
    if wait_timeout_s is not None:
        cmd += ["--wait-timeout-s", str(wait_timeout_s)]
    with open(home / "localnet.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, env=dict(os.environ))
    deadline = time.monotonic() + timeout_s
    while not (home / "rpc_addr").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            tail = (home / "localnet.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"localnet did not start (log {home / 'localnet.log'}): {tail}")
        time.sleep(0.05)
    return LocalnetProcess(home, (home / "rpc_addr").read_text().strip(), proc)
