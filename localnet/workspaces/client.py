"""A minimal async JSON-RPC client for NEAR nodes (aiohttp). One session per client; `close()` ends it."""

from __future__ import annotations

import itertools
import json
from typing import Any

import aiohttp

from localnet.workspaces.errors import RpcCallError, RpcTransportError, WorkspaceError


class JsonRpcClient:
    """`await client.call("query", {...})` returns `result` or raises `RpcCallError` / `RpcTransportError`."""

    def __init__(self, rpc_addr: str, *, timeout_s: float = 60.0) -> None:
        self.rpc_addr = rpc_addr.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self._closed = False

    def _open_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise WorkspaceError("JSON-RPC client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def call(self, method: str, params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        status, answer = await self.post_raw(json.dumps(body).encode())
        if not isinstance(answer, dict):
            raise RpcTransportError(f"{method}: HTTP {status} with a non-object body")
        if "error" in answer:
            raise RpcCallError(method, answer["error"], status)
        if "result" not in answer:
            raise RpcTransportError(f"{method}: HTTP {status} without result or error")
        return answer["result"]

    async def post_raw(self, body: bytes) -> tuple[int, Any]:
        """POST bytes as they are; returns (HTTP status, decoded JSON body). For tests of malformed input."""
        session = self._open_session()
        try:
            async with session.post(
                self.rpc_addr, data=body, headers={"Content-Type": "application/json"}
            ) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RpcTransportError(f"cannot reach {self.rpc_addr}: {type(exc).__name__}: {exc}") from exc
        try:
            return status, json.loads(text)
        except ValueError as exc:
            raise RpcTransportError(f"HTTP {status} with non-JSON body: {text[:200]!r}") from exc

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None
