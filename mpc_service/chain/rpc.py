"""A small NEAR JSON-RPC reader (`ReadChain`): status, blocks, chunks and view calls over aiohttp.

Only standard nearcore methods are used, so the node runs against the embedded localnet, a near-sandbox or testnet.
Transport failures and RPC errors become `ChainError`; an unknown (skipped) block height becomes `UnknownBlock`.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Protocol

import aiohttp

from mpc_service.errors import MpcError

__all__ = ["ChainError", "JsonRpc", "ReadChain", "UnknownBlock", "ViewError"]

JSON = dict[str, Any]


class ChainError(MpcError):
    """The RPC node could not be reached or answered with an error."""


class UnknownBlock(ChainError):
    """No block at that height (skipped height, or not produced yet)."""


class ViewError(ChainError):
    """A view call failed inside the contract (e.g. a panic) — the message is the contract's."""


class ReadChain(Protocol):
    """What the indexer and coordinator need from the chain."""

    async def latest_height(self) -> int: ...

    async def block(self, height: int) -> JSON: ...

    async def chunk(self, block_hash: str) -> JSON: ...

    async def view(self, contract_id: str, method: str, args: Any, *, finality: str = "final") -> Any: ...


class JsonRpc:
    """`ReadChain` over HTTP JSON-RPC. Use as an async context manager or call `close()`."""

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self.url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._next_id = 0

    async def __aenter__(self) -> JsonRpc:  # noqa: PYI034
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, params: Any) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        self._next_id += 1
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        try:
            async with self._session.post(self.url, json=body) as resp:
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ChainError(f"{method}: RPC transport failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(data, dict):
            raise ChainError(f"{method}: RPC answered {data!r}")
        if "error" in data:
            err = data["error"]
            cause = (err.get("cause") or {}).get("name", "") if isinstance(err, dict) else ""
            if cause == "UNKNOWN_BLOCK" and method == "block":
                raise UnknownBlock(f"{method}: {cause}")
            raise ChainError(f"{method}: {json.dumps(err)[:500]}")
        return data.get("result")

    async def latest_height(self) -> int:
        status = await self.call("status", [])
        return int(status["sync_info"]["latest_block_height"])

    async def block(self, height: int) -> JSON:
        result: JSON = await self.call("block", {"block_id": height})
        return result

    async def chunk(self, block_hash: str) -> JSON:
        result: JSON = await self.call("chunk", {"block_id": block_hash, "shard_id": 0})
        return result

    async def view(self, contract_id: str, method: str, args: Any, *, finality: str = "final") -> Any:
        """A contract view at `finality` ("optimistic" for what the indexer may already have seen)."""
        params = {"request_type": "call_function", "finality": finality, "account_id": contract_id,
                  "method_name": method, "args_base64": base64.b64encode(json.dumps(args).encode()).decode()}
        try:
            result = await self.call("query", params)
        except ChainError as exc:
            raise ViewError(str(exc)) from exc
        if isinstance(result, dict) and "error" in result:
            raise ViewError(f"{method}: {result['error']}")
        raw = bytes(result["result"])
        return json.loads(raw) if raw else None
