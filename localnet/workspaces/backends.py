"""Node backends for the harness: the embedded localnet (in this loop or in a background thread) and a real
`near-sandbox` binary (`NEAR_SANDBOX_BIN_PATH`). Every backend ends as an RPC address plus the root key."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from typing import Protocol

from localnet.rpc.home import VALIDATOR_KEY_FILE, ValidatorKey, read_validator_key
from localnet.workspaces.client import JsonRpcClient
from localnet.workspaces.errors import BackendError, WorkspaceError

SANDBOX_ENV = "NEAR_SANDBOX_BIN_PATH"


def sandbox_binary() -> Path | None:
    """The near-sandbox binary named by NEAR_SANDBOX_BIN_PATH, if set."""
    value = os.environ.get(SANDBOX_ENV)
    return Path(value) if value else None


class Backend(Protocol):
    """What a node backend offers once started: an RPC address and the root account's key."""

    @property
    def rpc_addr(self) -> str: ...

    @property
    def validator(self) -> ValidatorKey | None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class BackgroundNode:
    """Runs a backend (`LocalnetNode` or `NearSandboxProcess`) on its own event loop in a daemon thread,
    for sync code and session-wide pytest fixtures. Clients connect to `rpc_addr` from any loop.

        node = BackgroundNode(LocalnetNode(NodeConfig(home=tmp))); node.start(); ...; node.stop()
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def rpc_addr(self) -> str:
        return self.backend.rpc_addr

    @property
    def validator(self) -> ValidatorKey:
        if self.backend.validator is None:
            raise BackendError("backend not started")
        return self.backend.validator

    def start(self, timeout_s: float = 180.0) -> None:
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="localnet-node", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise BackendError("node did not start in time")
        if self._error is not None:
            raise BackendError(f"node failed to start: {self._error}") from self._error

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.backend.start()
        except Exception as exc:  # noqa: BLE001 - reported to the starting thread, which raises BackendError
            self._error = exc
            self._ready.set()
            await self.backend.stop()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.backend.stop()

    def stop(self, timeout_s: float = 30.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NearSandboxProcess:
    """A real near-sandbox: `--home D init` once, then `--home D run --rpc-addr … --network-addr …`."""

    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        self.home = home
        self.rpc_addr = ""
        self.validator: ValidatorKey | None = None
        self._process: asyncio.subprocess.Process | None = None

    async def start(self, timeout_s: float = 120.0) -> None:
        if not self.binary.exists():
            raise BackendError(f"{SANDBOX_ENV} points to a missing file: {self.binary}")
        self.home.mkdir(parents=True, exist_ok=True)
        log = open(self.home / "sandbox.log", "ab")  # noqa: SIM115, ASYNC230 - a local file, handed to the child
        try:
            if not (self.home / "config.json").exists():
                init = await asyncio.create_subprocess_exec(
                    str(self.binary), "--home", str(self.home), "init", stdout=log, stderr=log
                )
                if await init.wait() != 0:
                    raise BackendError(f"near-sandbox init failed; see {self.home / 'sandbox.log'}")
            rpc_port, net_port = _free_port(), _free_port()
            self._process = await asyncio.create_subprocess_exec(
                str(self.binary), "--home", str(self.home), "run",
                "--rpc-addr", f"127.0.0.1:{rpc_port}", "--network-addr", f"127.0.0.1:{net_port}",
                stdout=log, stderr=log,
            )
        finally:
            log.close()
        self.rpc_addr = f"http://127.0.0.1:{rpc_port}"
        await self._wait_ready(timeout_s)
        self.validator = read_validator_key(self.home / VALIDATOR_KEY_FILE)

    async def _wait_ready(self, timeout_s: float) -> None:
        client = JsonRpcClient(self.rpc_addr, timeout_s=5)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            while True:
                if self._process is not None and self._process.returncode is not None:
                    raise BackendError(f"near-sandbox exited with {self._process.returncode}")
                try:
                    status = await client.call("status", [])
                    if int(status["sync_info"]["latest_block_height"]) > 0:
                        return
                except WorkspaceError:
                    pass
                if loop.time() > deadline:
                    raise BackendError("near-sandbox did not answer status in time")
                await asyncio.sleep(0.25)
        finally:
            await client.close()

    async def stop(self) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.terminate()
        try:
            await asyncio.wait_for(self._process.wait(), 10)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()


def temporary_home(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_home(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)
