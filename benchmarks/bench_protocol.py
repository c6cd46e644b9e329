"""Benchmark of the threshold protocols for 3-of-5 on this machine (in memory, one process, no network).

Prints DKG time (secp256k1 and ed25519), key resharing 3-of-5 → 4-of-5 (one node leaves, one joins), triples/s (and
OT-based 4-of-5 triples/s) and
presignatures/s per party, online ECDSA signing latency and signatures/s, FROST signing latency, and PASS/MISS against
the reference targets:

* online signing compute ≤ 1 ms per signature for all parties together,
* presign ≤ 10 ms (all presigning parties together),
* DKG ≤ 100 ms (all five parties together).

"All parties together" is the wall time of running every party's computation in this one process (the sum of their
CPU time; the in-memory driver's bookkeeping is included, so the figure is an upper bound). "Per party" figures divide
by the work each party did, measured with the driver's per-participant timings.

Run: ``python3 benchmarks/bench_protocol.py [--quick] [--strict]`` (well under a minute; ``--strict`` exits 1 on a MISS).
The last line is a JSON object with every figure in milliseconds (or per second where named so).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mpc_service.protocol import (
    ED25519,
    SECP256K1,
    DishonestMajorityTripleGenerator,
    HonestMajorityTripleGenerator,
    KeygenOutput,
    ParticipantId,
    Presignature,
    Triple,
    ecdsa_sign,
    frost_commit,
    frost_sign,
    keygen,
    presign,
    reshare,
    run_protocols,
    verify_ecdsa,
    verify_ed25519,
)
from mpc_service.protocol.ecdsa import derive_public_key
from mpc_service.protocol.frost import tweaked_public_key
from mpc_service.protocol.groups import Group, Point
from mpc_service.protocol.reshare import PublicKeyPackage

N_PARTIES, THRESHOLD = 5, 3
PARTIES = [ParticipantId(i) for i in range(N_PARTIES)]
SIGNERS = PARTIES[:THRESHOLD]
TWEAK = hashlib.sha3_256(b"near-mpc-recovery v0.1.0 epsilon derivation:bench.near,ethereum-1").digest()
TARGETS_MS = {
    "online ECDSA signing (all parties)": 1.0,
    "presign (all parties)": 10.0,
    "DKG secp256k1 (all parties)": 100.0,
    "DKG ed25519 (all parties)": 100.0,
}
T = TypeVar("T")


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.3f} ms"


def bench_dkg(group: Group, repeats: int, rng: random.Random) -> tuple[dict[ParticipantId, KeygenOutput], float]:
    samples = []
    keys: dict[ParticipantId, KeygenOutput] = {}
    for i in range(repeats):
        start = time.perf_counter()
        keys = run_protocols({p: keygen(group, PARTIES, p, THRESHOLD, b"bench-dkg-%d" % i, rng) for p in PARTIES})
        samples.append(time.perf_counter() - start)
    return keys, statistics.median(samples)


RESHARE_DEALERS = [ParticipantId(i) for i in (0, 1, 2, 4)]  # 4 deals and leaves
RESHARE_NEW = [ParticipantId(i) for i in (0, 1, 2, 3, 5)]  # 5 joins
RESHARE_THRESHOLD = 4


def bench_reshare(keys: dict[ParticipantId, KeygenOutput], repeats: int, rng: random.Random) -> float:
    """Median wall time of resharing the 3-of-5 key to 4-of-5 (all six parties of the session together)."""
    old = PublicKeyPackage.from_keygen(keys[PARTIES[0]])
    everyone = sorted(set(RESHARE_DEALERS) | set(RESHARE_NEW))
    samples = []
    for i in range(repeats):
        start = time.perf_counter()
        sid = b"bench-reshare-%d" % i
        out = run_protocols({p: reshare(old, RESHARE_DEALERS, RESHARE_NEW, RESHARE_THRESHOLD, p, sid, rng,
                                        old_share=keys[p] if p in RESHARE_DEALERS else None) for p in everyone})
        samples.append(time.perf_counter() - start)
        assert all(o.public.public_key == old.public_key for o in out.values())
    return statistics.median(samples)


def bench_triples(count: int, rng: random.Random) -> tuple[dict[ParticipantId, list[Triple]], float, float]:
    gen = HonestMajorityTripleGenerator()
    timings: dict[ParticipantId, float] = {}
    triples, wall = _timed(lambda: run_protocols(
        {p: gen.generate(PARTIES, p, THRESHOLD, b"bench-triples", count, rng) for p in PARTIES}, timings=timings))
    per_party = max(timings.values())
    return triples, wall, count / per_party


def bench_ot_triples(count: int, rng: random.Random) -> tuple[float, float]:
    """OT-based (dishonest-majority) triples for 4-of-5, one batch: (wall time, triples/s per party)."""
    gen = DishonestMajorityTripleGenerator()
    timings: dict[ParticipantId, float] = {}
    _, wall = _timed(lambda: run_protocols(
        {p: gen.generate(PARTIES, p, 4, b"bench-ot-triples", count, rng) for p in PARTIES}, timings=timings))
    return wall, count / max(timings.values())


def bench_presign(keys: dict[ParticipantId, KeygenOutput], triples: dict[ParticipantId, list[Triple]], count: int
                  ) -> tuple[list[dict[ParticipantId, Presignature]], float, float]:
    out, walls = [], []
    timings: dict[ParticipantId, float] = {}
    for i in range(count):
        start = time.perf_counter()
        instances = {p: presign(keys[p], triples[p][2 * i], triples[p][2 * i + 1], SIGNERS) for p in SIGNERS}
        out.append(run_protocols(instances, timings=timings))
        walls.append(time.perf_counter() - start)
    return out, statistics.median(walls), count / max(timings.values())


def bench_sign(presigs: list[dict[ParticipantId, Presignature]], public_key: bytes) -> tuple[float, float]:
    derived = derive_public_key(Point(public_key), TWEAK)
    walls = []
    for i, ps in enumerate(presigs):
        msg_hash = hashlib.sha256(b"bench payload %d" % i).digest()
        entropy = hashlib.sha256(b"entropy %d" % i).digest()
        start = time.perf_counter()
        instances = {p: ecdsa_sign(ps[p], SIGNERS, SIGNERS[0], tweak=TWEAK, msg_hash=msg_hash, entropy=entropy)
                     for p in SIGNERS}
        sig = run_protocols(instances)[SIGNERS[0]]
        walls.append(time.perf_counter() - start)
        assert sig is not None and verify_ecdsa(derived, msg_hash, sig.r, sig.s, require_low_s=True)
    return statistics.median(walls), len(walls) / sum(walls)


def bench_frost(keys: dict[ParticipantId, KeygenOutput], count: int, rng: random.Random) -> tuple[float, float]:
    pk = tweaked_public_key(keys[PARTIES[0]].public_key, TWEAK)
    two_round, one_round = [], []
    for i in range(count):
        message = b"bench frost %d" % i
        start = time.perf_counter()
        instances = {p: frost_sign(keys[p], SIGNERS, SIGNERS[0], message, TWEAK, rng) for p in SIGNERS}
        sig = run_protocols(instances)[SIGNERS[0]]
        two_round.append(time.perf_counter() - start)
        assert sig is not None and verify_ed25519(pk, message, sig)
        nonces = {p: frost_commit(keys[p], rng) for p in SIGNERS}  # preprocessing, not timed
        commitments = {p: n.commitments for p, n in nonces.items()}
        start = time.perf_counter()
        sig = run_protocols(
            {p: frost_sign(keys[p], SIGNERS, SIGNERS[0], message, TWEAK, rng, preprocessed=(nonces[p], commitments))
             for p in SIGNERS})[SIGNERS[0]]
        one_round.append(time.perf_counter() - start)
        assert sig is not None and verify_ed25519(pk, message, sig)
    return statistics.median(two_round), statistics.median(one_round)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = parser.parse_args()
    rng = random.Random(args.seed)  # deterministic and fast; production uses secrets.SystemRandom()
    repeats, n_sigs = (3, 20) if args.quick else (10, 100)

    print(f"threshold protocols, {THRESHOLD}-of-{N_PARTIES}, in memory, Python {sys.version.split()[0]}")
    secp_keys, dkg_secp = bench_dkg(SECP256K1, repeats, rng)
    ed_keys, dkg_ed = bench_dkg(ED25519, repeats, rng)
    print(f"DKG secp256k1, all 5 parties (median of {repeats}): {_ms(dkg_secp)}")
    print(f"DKG ed25519,   all 5 parties (median of {repeats}): {_ms(dkg_ed)}")

    reshare_secp = bench_reshare(secp_keys, repeats, rng)
    reshare_ed = bench_reshare(ed_keys, repeats, rng)
    print(f"reshare 3-of-5 → 4-of-5 secp256k1, all 6 parties (median of {repeats}): {_ms(reshare_secp)}")
    print(f"reshare 3-of-5 → 4-of-5 ed25519,   all 6 parties (median of {repeats}): {_ms(reshare_ed)}")

    triples, wall, tps = bench_triples(2 * n_sigs, rng)
    print(f"triples (honest-majority generator): {2 * n_sigs} in {_ms(wall)} for all parties, "
          f"{tps:8.1f} triples/s per party")
    ot_count = 8
    ot_wall, ot_tps = bench_ot_triples(ot_count, rng)
    print(f"triples (OT-based generator, 4-of-5, batch of {ot_count}): {_ms(ot_wall)} for all parties, "
          f"{ot_tps:8.1f} triples/s per party")
    presigs, presign_ms, pps = bench_presign(secp_keys, triples, n_sigs)
    print(f"presign, 3 parties: {_ms(presign_ms)} median latency, {pps:8.1f} presignatures/s per party")
    sign_latency, sign_rate = bench_sign(presigs, secp_keys[PARTIES[0]].public_key)
    print(f"online ECDSA sign, 3 parties: {_ms(sign_latency)} median latency, {sign_rate:8.1f} signatures/s "
          "(one process computing for all parties)")
    frost2, frost1 = bench_frost(ed_keys, n_sigs // 2, rng)
    print(f"FROST sign, 3 parties: {_ms(frost2)} (two rounds), {_ms(frost1)} (one round, preprocessed nonces)")

    measured = {
        "online ECDSA signing (all parties)": sign_latency,
        "presign (all parties)": presign_ms,
        "DKG secp256k1 (all parties)": dkg_secp,
        "DKG ed25519 (all parties)": dkg_ed,
    }
    print("targets:")
    missed = 0
    for name, target in TARGETS_MS.items():
        ok = measured[name] * 1000 <= target
        missed += not ok
        print(f"  {'PASS' if ok else 'MISS'}  {name}: {_ms(measured[name])} (target ≤ {target:g} ms)")
    print(f"{len(TARGETS_MS) - missed}/{len(TARGETS_MS)} targets met")
    figures = {name: round(value * 1000, 3) for name, value in measured.items()}
    figures |= {"reshare 3-of-5 to 4-of-5 secp256k1 (all parties)": round(reshare_secp * 1000, 3),
                "reshare 3-of-5 to 4-of-5 ed25519 (all parties)": round(reshare_ed * 1000, 3),
                "FROST sign two rounds": round(frost2 * 1000, 3), "FROST sign one round": round(frost1 * 1000, 3),
                "triples per second per party": round(tps, 1),
                "OT-based triples (4-of-5, batch of 8) per second per party": round(ot_tps, 1),
                "presignatures per second per party": round(pps, 1)}
    print(json.dumps({"benchmark": "protocol", "unit": "ms", "figures": figures, "targets_missed": missed}))
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
