"""`python -m mpc_service run --config node.toml` (one node) and
`python -m mpc_service cluster --nodes 5 --threshold 3 --rpc URL --root-key validator_key.json` (a local cluster).

A bad config or key file stops the node at start with `config error: <file>: <field>: <problem>` and exit code 2.
SIGINT/SIGTERM shut the node down cleanly (tasks cancelled, mesh and stores closed).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from mpc_service.config import ConfigError, load_config
from mpc_service.logs import configure_logging

__all__ = ["main"]


async def _run(config_path: Path) -> int:
    from mpc_service.node import MpcNode, NodeStartError

    config = load_config(config_path)
    configure_logging(config.account_id)
    try:
        node = MpcNode(config)
    except NodeStartError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node.start()
    waiter = asyncio.create_task(node.wait())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    crashed = waiter.done() and not stopper.done()
    waiter.cancel()
    stopper.cancel()
    await node.stop()
    return 1 if crashed else 0


async def _cluster(args: argparse.Namespace) -> int:
    """Development tooling, not part of the node: imported only for this command."""
    try:
        from chainsig_sandbox.cluster_cli import run_cluster
    except ImportError as exc:
        print(f"cluster: needs the project's tooling package chainsig_sandbox ({exc})", file=sys.stderr)
        return 2
    return await run_cluster(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mpc_service", description="Chain Signatures MPC node")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one node")
    run.add_argument("--config", type=Path, required=True, help="node.toml")
    cluster = sub.add_parser("cluster", help="start a local cluster of node processes")
    cluster.add_argument("--nodes", type=int, default=5)
    cluster.add_argument("--threshold", type=int, default=3)
    cluster.add_argument("--rpc", required=True, help="NEAR JSON-RPC URL")
    cluster.add_argument("--root-key", type=Path, required=True,
                         help="key file of the account that creates node accounts (localnet: <home>/validator_key.json)")
    cluster.add_argument("--contract", default="signer.test.near")
    cluster.add_argument("--home", type=Path, default=Path("cluster"))
    cluster.add_argument("--deploy", action="store_true", help="build, deploy and init the signer, add both domains")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        try:
            return asyncio.run(_run(args.config))
        except ConfigError as exc:
            print(f"config error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
    if args.nodes < 2 or not 1 <= args.threshold <= args.nodes:
        print("cluster: need --nodes >= 2 and 1 <= --threshold <= --nodes", file=sys.stderr)
        return 2
    return asyncio.run(_cluster(args))


if __name__ == "__main__":
    sys.exit(main())
