"""The one HTTP seam the chain adapters use: JSON-RPC 2.0 calls and REST GET/POST, errors mapped to `ChainRpcError`."""

from __future__ import annotations

import json as jsonlib
from typing import Any

import aiohttp

from chainsig.errors import ChainRpcError

__all__ = ["get_json", "json_rpc", "post"]

_TIMEOUT = aiohttp.ClientTimeout(total=60)


async def json_rpc(url: str, method: str, params: Any = None) -> Any:
    """`result` of one JSON-RPC 2.0 call; an `error` member becomes `ChainRpcError` with the node's message."""
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        body["params"] = params
    data = await _request("POST", url, json=body)
    if not isinstance(data, dict):
        raise ChainRpcError(f"{method}: the node answered {data!r}, not a JSON-RPC object")
    if data.get("error") is not None:
        error = data["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise ChainRpcError(f"{method}: {message}")
    return data.get("result")


async def get_json(url: str) -> Any:
    return await _request("GET", url)


async def post(url: str, *, json: Any = None, text: str | None = None) -> Any:
    """POST a JSON body or plain text; returns the parsed JSON answer, or its text when it is not JSON."""
    return await _request("POST", url, json=json, data=text)


async def _request(method: str, url: str, **kwargs: Any) -> Any:
    try:
        async with aiohttp.ClientSession(timeout=_TIMEOUT) as session, session.request(method, url, **kwargs) as resp:
            body = await resp.text()
            if resp.status >= 400:
                raise ChainRpcError(f"{method} {url}: HTTP {resp.status}: {body[:500]}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ChainRpcError(f"{method} {url} failed: {exc}") from exc
    try:
        return jsonlib.loads(body)
    except ValueError:
        return body

