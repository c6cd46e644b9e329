"""The node's status endpoint: `GET /status` (JSON) and `GET /metrics` (Prometheus text), aiohttp on port 0 by default.

The bound address is written to `<data_dir>/status_addr` so scripts and tests find it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

__all__ = ["StatusServer", "prometheus_text"]


def prometheus_text(snapshot: dict[str, Any], prefix: str = "mpc_") -> str:
    """Flatten numeric fields of the status snapshot into Prometheus gauges (nested keys joined by `_`)."""
    lines: list[str] = []

    def walk(name: str, value: Any) -> None:
        if isinstance(value, bool):
            lines.append(f"{prefix}{name} {int(value)}")
        elif isinstance(value, (int, float)):
            lines.append(f"{prefix}{name} {value}")
        elif isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{name}_{key}" if name else str(key), inner)

    walk("", snapshot)
    return "\n".join(lines) + "\n"


class StatusServer:
    def __init__(self, snapshot: Callable[[], dict[str, Any]], host: str, port: int, addr_file: Path) -> None:
        self._snapshot = snapshot
        self._host, self._port = host, port
        self._addr_file = addr_file
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/status", self._status)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://{self._host}:{port}"
        tmp = self._addr_file.with_suffix(".tmp")
        tmp.write_text(self.url + "\n")
        tmp.replace(self._addr_file)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _status(self, _request: web.Request) -> web.Response:
        return web.json_response(self._snapshot())

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(text=prometheus_text(self._snapshot()), content_type="text/plain")
