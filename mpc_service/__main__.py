"""`python -m mpc_service run --config node.toml` (one node) and
`python -m mpc_service cluster --nodes 5 --threshold 3 --rpc URL --root-key validator_key.json` (a local cluster).

A bad config or key file stops the node at start with `config error: <file>: <field>: <problem>` and exit code 2.
SIGINT/SIGTERM shut the node down cleanly (tasks cancelled, mesh and stores closed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from mpc_service.config import ConfigError, load_config
from mpc_service.logs import configure_logging

__all__ = ["main", "run_node"]


async def _run(config_path: Path) -> int:
    from mpc_service.node import MpcNode

    return await run_node(config_path, MpcNode)


async def run_node(config_path: Path, node_class: Any) -> int:
    """Run one node of `node_class` (MpcNode, or a test double of it) until SIGINT/SIGTERM; the exit code."""
    from mpc_service.node import NodeStartError

    config = load_config(config_path)
    configure_logging(config.account_id)
    try:
        node = node_class(config)
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
    from mpc_service.cluster import NodeProcesses, deploy_signer, fetch_status, prepare_cluster

    home: Path = args.home
    home.mkdir(parents=True, exist_ok=True)
    spec = await prepare_cluster(args.rpc, args.root_key, home, nodes=args.nodes, threshold=args.threshold,
                                 contract_id=args.contract)
    if args.deploy:
        from contract.build import build_contract

        wasm = build_contract(Path(__file__).resolve().parent.parent / "contract" / "signer").read_bytes()
        await deploy_signer(args.rpc, args.root_key, spec, wasm)
    procs = NodeProcesses(spec)
    procs.start_all()
    print(json.dumps({"cluster": str(home), "contract": spec.contract_id,
                      "nodes": [{"account": n.account_id, "config": str(n.config_path), "p2p": n.url}
                                for n in spec.nodes]}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        last = 0.0
        while not stop.is_set():
            if time.monotonic() - last > 10:
                last = time.monotonic()
                for node in spec.nodes:
                    status = await fetch_status(node)
                    brief = {k: status[k] for k in ("protocol_state", "keyshares", "pools")} if status else "down"
                    print(f"{node.account_id}: {json.dumps(brief)}", flush=True)
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass
    finally:
        procs.stop_all()
    return 0


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
