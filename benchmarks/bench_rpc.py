"""Benchmark of the embedded localnet over JSON-RPC: node start-up time and sustained transactions/s.

    python benchmarks/bench_rpc.py [--txs 600] [--accounts 8] [--block-time-ms 100] [--starts 3]

Start-up: `python -m localnet --home <fresh dir> --port 0` is spawned; the time is measured from the spawn to the
first successful `status` answer (median of `--starts` runs; a fresh home each time, so genesis is included).

Throughput: on one such node, `--accounts` dev accounts each sign `--txs / --accounts` function calls
(`set` on a tiny WAT key/value contract, consecutive nonces on each account's own key), all are sent with
`broadcast_tx_async` at once, then every transaction is awaited with `tx` (wait_until FINAL). Reported:
transactions/s from the first send to the last final outcome, and the submit rate alone.
Everything runs in well under a minute on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import base58
import wasmtime

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localnet.chain.transaction import sign_transaction
from localnet.rpc.home import read_validator_key
from localnet.types import FunctionCall
from localnet.workspaces import NEAR, TGAS, JsonRpcClient, Worker

KV_WAT = """
(module
 (import "env" "input" (func $input (param i64)))
 (import "env" "register_len" (func $register_len (param i64) (result i64)))
 (import "env" "read_register" (func $read_register (param i64 i64)))
 (import "env" "storage_write" (func $storage_write (param i64 i64 i64 i64 i64) (result i64)))
 (memory 1)
 (data (i32.const 0) "k")
 (func (export "set")
   (call $input (i64.const 0))
   (call $read_register (i64.const 0) (i64.const 1024))
   (drop (call $storage_write (i64.const 1) (i64.const 0)
     (call $register_len (i64.const 0)) (i64.const 1024) (i64.const 1)))))
"""


def spawn_node(home: Path, block_time_ms: int) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m localnet` and read its RPC address from the ready line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "localnet", "--home", str(home), "--port", "0", "--block-time-ms", str(block_time_ms),
         "--log-level", "WARNING"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("localnet ready: rpc "):
        process.kill()
        raise RuntimeError(f"node did not start: {line!r}")
    return process, line.split()[3]


def stop_node(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def measure_startup(block_time_ms: int) -> float:
    """Seconds from spawning the process to the first successful `status`."""
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        started = time.perf_counter()
        process, rpc_addr = spawn_node(Path(tmp) / "home", block_time_ms)
        client = JsonRpcClient(rpc_addr, timeout_s=10)
        try:
            while True:
                try:
                    status = await client.call("status", [])
                    if status["sync_info"]["latest_block_height"] >= 1:
                        return time.perf_counter() - started
                except Exception:  # noqa: BLE001 - not ready yet; keep polling
                    await asyncio.sleep(0.005)
        finally:
            await client.close()
            stop_node(process)


async def measure_throughput(rpc_addr: str, home: Path, txs: int, accounts: int) -> dict[str, Any]:
    worker = Worker(rpc_addr, read_validator_key(home / "validator_key.json"))
    client = JsonRpcClient(rpc_addr, timeout_s=60)
    try:
        contract = await worker.dev_deploy(bytes(wasmtime.wat2wasm(KV_WAT)), initial_balance=5 * NEAR)
        signers = [await worker.dev_create_account(initial_balance=5 * NEAR) for _ in range(accounts)]
        block_hash = base58.b58decode((await worker.view_block())["header"]["hash"])
        per_account = max(1, txs // accounts)
        signed: list[tuple[str, str]] = []  # (base64 tx, signer id)
        for signer in signers:
            nonce = int((await worker.view_access_key(signer.id, str(signer.public_key)))["nonce"])
            for i in range(per_account):
                args = json.dumps({"from": signer.id, "i": i}).encode()
                raw = sign_transaction(
                    signer.id, signer.secret_key, None, nonce + 1 + i, contract.id, block_hash,
                    [FunctionCall("set", args, 10 * TGAS, 0)],
                )
                signed.append((base64.b64encode(raw).decode(), signer.id))

        started = time.perf_counter()
        hashes = await asyncio.gather(*(client.call("broadcast_tx_async", [tx]) for tx, _ in signed))
        submitted = time.perf_counter()

        async def final(tx_hash: str, sender: str) -> bool:
            while True:
                try:
                    view = await client.call(
                        "tx", {"tx_hash": tx_hash, "sender_account_id": sender, "wait_until": "FINAL"}
                    )
                    return "SuccessValue" in view["status"]
                except Exception as exc:
                    if "TIMEOUT_ERROR" not in str(exc):
                        raise

        results = await asyncio.gather(*(final(h, sender) for h, (_, sender) in zip(hashes, signed, strict=True)))
        finished = time.perf_counter()
        return {
            "transactions": len(signed),
            "succeeded": sum(results),
            "seconds": finished - started,
            "tx_per_s": len(signed) / (finished - started),
            "submit_per_s": len(signed) / (submitted - started),
        }
    finally:
        await client.close()
        await worker.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--txs", type=int, default=600, help="function calls to send (default 600)")
    parser.add_argument("--accounts", type=int, default=8, help="signing accounts/keys (default 8)")
    parser.add_argument("--block-time-ms", type=int, default=100, help="node block time (default 100, the CLI's)")
    parser.add_argument("--starts", type=int, default=3, help="start-up measurements (default 3)")
    args = parser.parse_args()

    startups = [await measure_startup(args.block_time_ms) for _ in range(args.starts)]
    print(f"node start-up (spawn -> first status): median {statistics.median(startups) * 1000:.0f} ms "
          f"(runs: {', '.join(f'{s * 1000:.0f}' for s in startups)} ms)")

    with tempfile.TemporaryDirectory(prefix="bench-tps-") as tmp:
        home = Path(tmp) / "home"
        process, rpc_addr = spawn_node(home, args.block_time_ms)
        try:
            figures = await measure_throughput(rpc_addr, home, args.txs, args.accounts)
        finally:
            stop_node(process)
    print(f"sustained throughput over RPC: {figures['tx_per_s']:.0f} tx/s "
          f"({figures['transactions']} function calls from {args.accounts} keys, {figures['succeeded']} succeeded, "
          f"{figures['seconds']:.2f} s to all FINAL; broadcast_tx_async accepted {figures['submit_per_s']:.0f} tx/s; "
          f"block time {args.block_time_ms} ms, cpus {os.cpu_count()})")


if __name__ == "__main__":
    asyncio.run(main())
