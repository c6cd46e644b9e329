"""`python -m localnet --home DIR [--port P] [--block-time-ms N]`: run the embedded localnet node.

Prints one ready line with the RPC address (also written to DIR/rpc_addr), keeps state in DIR across
restarts, and shuts down cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from localnet.errors import LocalnetError
from localnet.rpc.node import LocalnetNode, NodeConfig, tune_gc_for_server


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="localnet", description="Embedded NEAR-compatible localnet with JSON-RPC.")
    parser.add_argument("--home", type=Path, required=True, help="state directory (created if missing)")
    parser.add_argument("--port", type=int, default=3030, help="RPC port on 127.0.0.1 (0 picks a free port)")
    parser.add_argument("--block-time-ms", type=int, default=100, help="block interval in milliseconds")
    parser.add_argument("--wait-timeout-s", type=float, default=10.0, help="send_tx/tx wait limit before TIMEOUT_ERROR")
    parser.add_argument("--log-level", default="INFO", help="DEBUG logs every RPC request")
    args = parser.parse_args(argv)
    if args.block_time_ms < 1:
        parser.error("--block-time-ms must be at least 1")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be in 0..65535")
    return args


async def _serve(config: NodeConfig) -> None:
    node = LocalnetNode(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node.start()
    tune_gc_for_server()
    try:
        print(f"localnet ready: rpc {node.rpc_addr} home {config.home}", flush=True)
        await stop.wait()
    finally:
        await node.stop()
        print("localnet stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = NodeConfig(
        home=args.home, port=args.port, block_time_ms=args.block_time_ms, wait_timeout_s=args.wait_timeout_s
    )
    try:
        asyncio.run(_serve(config))
    except (LocalnetError, OSError) as exc:
        print(f"localnet: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
