"""`python -m mpc_service run --config node.toml` (one node) and
`python -m mpc_service cluster --nodes 5 --threshold 3 --rpc URL --root-key validator_key.json [--standby K]`
(a local cluster), and `python -m mpc_service vote-new-parameters --config node.toml --proposal FILE` (an operator
votes a resharing proposal with the node's account key; `vote-cancel-resharing --config node.toml` votes to cancel
the running one).

A bad config or key file stops the node at start with `config error: <file>: <field>: <problem>` and exit code 2.
SIGINT/SIGTERM shut the node down cleanly (tasks cancelled, mesh and stores closed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
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
    """Development tooling, not part of the node: imported only for this command."""
    try:
        from chainsig_sandbox.cluster_cli import run_cluster
    except ImportError as exc:
        print(f"cluster: needs the project's tooling package chainsig_sandbox ({exc})", file=sys.stderr)
        return 2
    return await run_cluster(args)


async def _vote_new_parameters(config_path: Path, proposal_file: Path) -> int:
    """Vote `{"prospective_epoch_id", "proposal"}` from `proposal_file` with the node's account keys."""
    try:
        ballot = json.loads(proposal_file.read_text())
    except (OSError, ValueError) as exc:
        print(f"vote-new-parameters: cannot read {proposal_file}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(ballot, dict) or set(ballot) != {"prospective_epoch_id", "proposal"}:
        print('vote-new-parameters: the file must hold {"prospective_epoch_id": n, "proposal": {...}}',
              file=sys.stderr)
        return 2
    return await _vote(config_path, "vote_new_parameters", ballot)


async def _vote(config_path: Path, method: str, args: dict[str, Any]) -> int:
    """Call the signer's `method` with the node's account keys; print the outcome as JSON."""
    from mpc_service.errors import MpcError
    from mpc_service.keys import AccountKey, load_near_key_file
    from mpc_service.responder import Responder

    command = method.replace("_", "-")
    config = load_config(config_path)
    try:
        files = config.responder.access_key_files or [config.p2p_key_file]
        keys = [k.key_pair for k in (load_near_key_file(p) for p in files) if isinstance(k, AccountKey)]
    except MpcError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    responder = Responder(config.chain.rpc_url, config.account_id, config.chain.contract_id, keys,
                          gas_tgas=config.responder.gas_tgas, max_attempts=config.responder.max_attempts)
    try:
        outcome = await responder.call(method, args)
    finally:
        await responder.close()
    if not outcome.ok:
        print(f"{command}: refused: {outcome.detail}", file=sys.stderr)
        return 1
    print(json.dumps({"voted": True, "account_id": config.account_id, "detail": outcome.detail}))
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
    cluster.add_argument("--standby", type=int, default=0,
                         help="also create and start K nodes outside the participant set (ids --nodes, --nodes + 1, …; "
                              "listed under \"standby\" in cluster.json) to add by resharing")
    vote = sub.add_parser("vote-new-parameters", help="vote a resharing proposal with this node's account key")
    vote.add_argument("--config", type=Path, required=True, help="node.toml")
    vote.add_argument("--proposal", type=Path, required=True,
                      help='JSON file: {"prospective_epoch_id": n, "proposal": {"threshold", "participants"}}')
    cancel = sub.add_parser("vote-cancel-resharing",
                            help="vote to cancel the running resharing (back to the running epoch) with this node's key")
    cancel.add_argument("--config", type=Path, required=True, help="node.toml")
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
    if args.command in ("vote-new-parameters", "vote-cancel-resharing"):
        try:
            if args.command == "vote-cancel-resharing":
                return asyncio.run(_vote(args.config, "vote_cancel_resharing", {}))
            return asyncio.run(_vote_new_parameters(args.config, args.proposal))
        except ConfigError as exc:
            print(f"config error: {exc}", file=sys.stderr)
            return 2
    if args.nodes < 2 or not 1 <= args.threshold <= args.nodes or args.standby < 0:
        print("cluster: need --nodes >= 2 and 1 <= --threshold <= --nodes", file=sys.stderr)
        return 2
    return asyncio.run(_cluster(args))


if __name__ == "__main__":
    sys.exit(main())
