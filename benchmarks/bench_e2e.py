"""End-to-end signing benchmark: localnet process + signer contract + 5 MPC node processes (threshold 3).

Prints, for secp256k1 requests made through py-near (`chainsig.sign.request_signature`):
* latency of sequential requests: blocks from the block where the `sign` receipt ran to the block where the
  caller's callback returned the signature, and wall-clock ms from submitting the transaction to its final outcome
  (p50 / p95);
* throughput: `--burst` requests submitted at once from several accounts, signatures per second until all finished.

* optionally (`--sustained S --rate R`) requests at a fixed rate for S seconds, more than the pools hold, so the
  figure includes generating triples and presignatures;
* confidential key derivation (`--ckd N`, docs/ckd.md): a Bls12381 domain is added (DKG over G2), then N sequential
  `request_app_private_key` calls through `chainsig.ckd.request_app_secret` (decrypted and verified): latency in
  blocks and ms, and the DKG's duration.

The last line is JSON with every figure.

    python3 -m benchmarks.bench_e2e [--sequential 20] [--burst 60] [--sustained 30 --rate 20] [--ckd 10] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONTRACT_ID = "signer.test.near"
POOL_PRESIGNATURES = 32  # presignatures_target of each node


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


async def _blocks(rpc: Any, tx_hash: str, sender: str) -> int:
    """Blocks between the `sign` receipt's block and the block of the callback that returned the signature."""
    status = await rpc.call("EXPERIMENTAL_tx_status", {"tx_hash": tx_hash, "sender_account_id": sender,
                                                       "wait_until": "FINAL"})
    outcomes = status["receipts_outcome"]
    heights = []
    for o in (outcomes[0], outcomes[-1]):
        block = await rpc.call("block", {"block_id": o["block_hash"]})
        heights.append(int(block["header"]["height"]))
    # the last receipt outcome is a gas refund one block after the callback
    last_value = [o for o in outcomes if "SuccessValue" in o["outcome"]["status"]
                  and o["outcome"]["status"]["SuccessValue"]]
    if last_value:
        block = await rpc.call("block", {"block_id": last_value[-1]["block_hash"]})
        heights[1] = int(block["header"]["height"])
    return heights[1] - heights[0]


def _profile(pids: dict[str, int], out: Path, seconds: int) -> list[Any]:
    """Start `py-spy record` (collapsed stacks) on each process for the burst; returns the Popen objects."""
    import subprocess

    out.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen(["py-spy", "record", "-p", str(pid), "-d", str(seconds), "-r", "200", "--format", "raw",
                              "-o", str(out / f"{name}.txt")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]


async def _sustained(rpc_url: str, rpc: Any, creds: list[Any], seconds: float, rate: float,
                     pids: dict[str, int], profile: Path | None = None) -> dict[str, Any]:
    """Requests submitted at a fixed `rate` for `seconds` (more than the pools hold, so asset generation has to keep
    up): answered per second over the whole run, per-request latency (ms; blocks for up to 100 evenly spread
    requests), timeouts, and CPU milliseconds per answered signature of each process."""
    from chainsig.errors import RequestTimedOutError
    from chainsig.sign import DomainId, SignRequest, request_signature

    count = int(seconds * rate)
    spies = _profile(pids, profile, int(seconds)) if profile is not None else []
    if spies:
        await asyncio.sleep(1.0)  # let py-spy attach
    cpu0 = {name: _cpu_s(pid) for name, pid in pids.items()}
    client0 = time.process_time()
    t0 = time.monotonic()
    latencies: list[float] = []
    hashes: dict[int, tuple[str, str]] = {}

    async def one(i: int) -> None:
        await asyncio.sleep(i / rate)
        start = time.monotonic()
        user = creds[i % len(creds)]
        result = await request_signature(rpc_url, CONTRACT_ID, user,
                                         SignRequest(f"sustained-{i}", os.urandom(32), DomainId(0)), timeout_s=120)
        latencies.append(time.monotonic() - start)
        if result.transaction_hash is not None:
            hashes[i] = (result.transaction_hash, user.account_id)

    results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    elapsed = time.monotonic() - t0
    cpu = {name: round(_cpu_s(pid) - cpu0[name], 1) for name, pid in pids.items()}
    cpu["client"] = round(time.process_time() - client0, 1)  # this process: py-near requests, as users make them
    for spy in spies:
        spy.wait()
    failures = [r for r in results if isinstance(r, BaseException)]
    timeouts = sum(1 for r in failures if isinstance(r, RequestTimedOutError))
    answered = count - len(failures)
    print(f"sustained: {count} secp256k1 requests at {rate:g}/s for {seconds:g} s: {answered} answered, "
          f"{timeouts} timed out, {len(failures) - timeouts} failed otherwise, all done after {elapsed:.2f} s -> "
          f"{answered / elapsed:.1f} signatures/s")
    sample = sorted(hashes)[:: max(1, len(hashes) // 100)]
    blocks = [await _blocks(rpc, *hashes[i]) for i in sample]
    figures: dict[str, Any] = {"rate": rate, "seconds": seconds, "requests": count, "answered": answered,
                               "timeouts": timeouts, "failed": len(failures) - timeouts,
                               "signatures_per_s": round(answered / elapsed, 1)}
    if latencies:
        print(f"  latency ms (submit -> final outcome): p50 {_pct(latencies, .5) * 1000:.0f}  "
              f"p95 {_pct(latencies, .95) * 1000:.0f}")
        figures.update(p50_ms=round(_pct(latencies, .5) * 1000), p95_ms=round(_pct(latencies, .95) * 1000))
    if blocks:
        print(f"  latency blocks ({len(blocks)} requests): p50 {_pct(blocks, .5):.0f}  p95 {_pct(blocks, .95):.0f}")
        figures.update(p50_blocks=_pct(blocks, .5), p95_blocks=_pct(blocks, .95))
    per_sig = {name: round(1000 * c / max(answered, 1), 1) for name, c in cpu.items()}
    print(f"  CPU seconds (2 cores shared): {cpu}; CPU ms per answered signature: {per_sig}")
    figures["cpu_ms_per_signature"] = per_sig
    for f in failures[:3]:
        print(f"  failure: {type(f).__name__}: {f}")
    return figures


async def _ckd(net: Any, rpc: Any, creds: Any, count: int) -> dict[str, Any]:
    """Add a Bls12381 domain, then `count` sequential CKD requests; their figures."""
    from chainsig.ckd import request_app_secret
    from chainsig.types import DomainId

    t0 = time.monotonic()
    domain_id = await net.add_domain("Bls12381")
    dkg_s = time.monotonic() - t0
    ms: list[float] = []
    blocks: list[int] = []
    for i in range(count):
        t0 = time.monotonic()
        result = await request_app_secret(net.rpc, CONTRACT_ID, creds, f"app-{i % 3}", domain_id=DomainId(domain_id),
                                          timeout_s=60)
        ms.append((time.monotonic() - t0) * 1000)
        assert result.transaction_hash is not None
        blocks.append(await _blocks(rpc, result.transaction_hash, creds.account_id))
    print(f"confidential key derivation: Bls12381 domain keyed in {dkg_s:.1f} s; {count} sequential requests")
    print(f"  latency blocks (request receipt -> output returned): p50 {_pct(blocks, .5):.0f}  "
          f"p95 {_pct(blocks, .95):.0f}  max {max(blocks)}")
    print(f"  latency ms (submit -> final outcome, decrypted and verified): p50 {_pct(ms, .5):.0f}  "
          f"p95 {_pct(ms, .95):.0f}")
    return {"requests": count, "dkg_s": round(dkg_s, 1), "p50_blocks": _pct(blocks, .5),
            "p95_blocks": _pct(blocks, .95), "p50_ms": round(_pct(ms, .5)), "p95_ms": round(_pct(ms, .95))}


async def bench(work: Path, sequential: int, burst: int, users: int, profile: Path | None = None,
                sustained_s: float = 0.0, rate: float = 20.0, pool: int = POOL_PRESIGNATURES,
                ckd: int = 0) -> dict[str, Any]:
    from chainsig.sign import DomainId, SignRequest, request_signature
    from chainsig_sandbox import NetworkOptions, signer_network
    from mpc_service.chain.rpc import JsonRpc

    options = NetworkOptions(nodes=5, threshold=3, contract_id=CONTRACT_ID, pools=(2 * pool, pool),
                             ready_presignatures=pool, ready_timeout_s=300)
    async with signer_network(options, work) as net:
        rpc_url, spec, procs = net.rpc, net.spec, net.procs
        # Each phase starts from idle nodes with full pools (the nodes refill them between requests).
        await asyncio.sleep(2.0)
        creds = [await net.create_user(f"bench{i}", 50 * 10**24) for i in range(users)]

        async with JsonRpc(rpc_url) as rpc:
            ms: list[float] = []
            blocks: list[int] = []
            for i in range(sequential):
                t0 = time.monotonic()
                result = await request_signature(rpc_url, CONTRACT_ID, creds[0],
                                                 SignRequest(f"seq-{i}", os.urandom(32), DomainId(0)), timeout_s=60)
                ms.append((time.monotonic() - t0) * 1000)
                assert result.transaction_hash is not None
                blocks.append(await _blocks(rpc, result.transaction_hash, creds[0].account_id))
            print(f"sequential secp256k1 requests: {sequential}")
            print(f"  latency blocks (sign receipt -> signature returned): p50 {_pct(blocks, .5):.0f}  "
                  f"p95 {_pct(blocks, .95):.0f}  max {max(blocks)}")
            print(f"  latency ms (submit -> final outcome): p50 {_pct(ms, .5):.0f}  p95 {_pct(ms, .95):.0f}  "
                  f"mean {statistics.fmean(ms):.0f}")
            figures: dict[str, Any] = {"sequential": {"requests": sequential, "p50_blocks": _pct(blocks, .5),
                                                      "p95_blocks": _pct(blocks, .95), "p50_ms": round(_pct(ms, .5)),
                                                      "p95_ms": round(_pct(ms, .95))}}

            await net.wait_for_keys(timeout_s=300, presignatures=pool)
            await asyncio.sleep(2.0)
            pids = {"localnet": net.chain.pid, **{f"node{i}": p.pid for i, p in procs.procs.items()}}
            spies = _profile(pids, profile, 8) if profile is not None else []
            if spies:
                await asyncio.sleep(1.0)  # let py-spy attach
            cpu0 = {name: _cpu_s(pid) for name, pid in pids.items()}
            t0 = time.monotonic()
            done_at: list[float] = []

            async def one(i: int) -> None:
                await request_signature(rpc_url, CONTRACT_ID, creds[i % users],
                                        SignRequest(f"burst-{i}", os.urandom(32), DomainId(0)), timeout_s=120)
                done_at.append(time.monotonic() - t0)

            results = await asyncio.gather(*(one(i) for i in range(burst)), return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            elapsed = time.monotonic() - t0
            print(f"burst of {burst} secp256k1 requests from {users} accounts: {burst - len(failures)} answered, "
                  f"{len(failures)} failed, {elapsed:.2f} s -> {(burst - len(failures)) / elapsed:.1f} signatures/s")
            if done_at:
                print(f"  completion ms: p50 {_pct(done_at, .5) * 1000:.0f}  p95 {_pct(done_at, .95) * 1000:.0f}")
            cpu = {name: round(_cpu_s(pid) - cpu0[name], 1) for name, pid in pids.items()}
            print(f"  CPU seconds during the burst (2 cores shared): {cpu}")
            figures["burst"] = {"requests": burst, "answered": burst - len(failures),
                                "signatures_per_s": round((burst - len(failures)) / elapsed, 1), "cpu_s": cpu}
            for spy in spies:
                spy.wait()
            for f in failures[:3]:
                print(f"  failure: {type(f).__name__}: {f}")
            if sustained_s > 0:
                figures["sustained"] = await _sustained(rpc_url, rpc, creds, sustained_s, rate, pids,
                                                        None if profile is None else profile / "sustained")
            statuses = [await net.node_status(n.index) for n in spec.nodes]
            print("node pools after the burst (presignatures owned):",
                  [s["pools"]["presignatures_owned"] if s else None for s in statuses])
            if ckd > 0:
                figures["ckd"] = await _ckd(net, rpc, creds[0], ckd)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench_e2e")
    parser.add_argument("--sequential", type=int, default=20)
    parser.add_argument("--burst", type=int, default=60)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--sustained", type=float, default=0.0, metavar="SECONDS",
                        help="after the burst, submit requests at --rate per second for this long")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second for --sustained")
    parser.add_argument("--profile", type=Path, help="record py-spy profiles of the burst into this directory")
    parser.add_argument("--pool", type=int, default=POOL_PRESIGNATURES,
                        help="presignatures_target of each node; every phase starts with full pools")
    parser.add_argument("--ckd", type=int, default=10, metavar="N",
                        help="add a Bls12381 domain and time N confidential key derivations (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (node logs)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="chainsig-bench-"))
    try:
        figures = asyncio.run(bench(work, args.sequential, args.burst, args.users, args.profile, args.sustained,
                                    args.rate, args.pool, args.ckd))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
