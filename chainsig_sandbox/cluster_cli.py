"""`python -m mpc_service cluster …`: node accounts and files, optionally the signer deployed (through the deploy
script's code path) with both domains voted, then one node process per node until SIGINT/SIGTERM.

The node package only dispatches here (imported lazily), so `mpc_service` itself never imports the localnet
harness or the contract toolchain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time

from chainsig.networks import NetworkSettings
from chainsig_sandbox.deploy import DeployPlan, deploy, load_key_file
from chainsig_sandbox.network import signer_wasm
from chainsig_sandbox.nodes import (
    KEY_EVENT_TIMEOUT_BLOCKS,
    NodeProcesses,
    fetch_status,
    prepare_cluster,
    vote_add_domains,
)

__all__ = ["run_cluster"]


async def run_cluster(args: argparse.Namespace) -> int:
    home = args.home
    home.mkdir(parents=True, exist_ok=True)
    spec = await prepare_cluster(args.rpc, args.root_key, home, nodes=args.nodes, threshold=args.threshold,
                                 contract_id=args.contract, standby=args.standby)
    if args.deploy:
        report = await deploy(DeployPlan(
            network=NetworkSettings(name="cluster", chain_id="localnet", rpc_url=args.rpc), rpc_url=args.rpc,
            payer=load_key_file(args.root_key), contract_id=args.contract, wasm=await asyncio.to_thread(signer_wasm),
            parameters=spec.parameters(), initial_balance_yocto=50 * 10**24,
            init_config={"key_event_timeout_blocks": KEY_EVENT_TIMEOUT_BLOCKS}))
        for line in report.lines():
            print(line, flush=True)
        await vote_add_domains(args.rpc, spec)
    procs = NodeProcesses(spec)
    procs.start_all()
    print(json.dumps({"cluster": str(home), "contract": spec.contract_id,
                      "nodes": [{"account": n.account_id, "config": str(n.config_path), "p2p": n.url}
                                for n in spec.nodes],
                      "standby": [{"account": n.account_id, "participant_id": n.index, "config": str(n.config_path),
                                   "p2p": n.url} for n in spec.standby]}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        last = 0.0
        while not stop.is_set():
            if time.monotonic() - last > 10:
                last = time.monotonic()
                for node in spec.everyone:
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
