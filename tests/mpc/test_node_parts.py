"""Node building blocks without a chain: asset encodings, protocols over the real TLS mesh, the indexer's receipt
parsing and catch-up, the status text, and the CLI's config errors."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chainsig.kdf import derive_tweak
from mpc_service import codec
from mpc_service.chain.events import request_id_of
from mpc_service.chain.indexer import Indexer, parse_respond_args, parse_sign_args
from mpc_service.chain.rpc import UnknownBlock
from mpc_service.coordinator import public_key_string
from mpc_service.keys import Ed25519KeyPair
from mpc_service.network import Peer, PeerNetwork
from mpc_service.protocol import (
    ED25519,
    SECP256K1,
    HonestMajorityTripleGenerator,
    ProtocolError,
    ecdsa_sign,
    frost_sign,
    keygen,
    presign,
    run_protocols,
)
from mpc_service.protocol import ParticipantId as P
from mpc_service.runner import ProtocolTimeout, run_protocol
from mpc_service.status import prometheus_text
from mpc_service.types import ChannelId

ROOT = Path(__file__).resolve().parents[2]
PS = [P(0), P(1), P(2)]


def _keygen(group: Any, seed: int) -> dict[P, Any]:
    rng = random.Random(seed)
    return run_protocols({p: keygen(group, PS, p, 2, b"sid", rng) for p in PS})


def test_keygen_triple_presignature_encodings_round_trip_and_still_sign() -> None:
    keys = {p: codec.decode_keygen(codec.encode_keygen(k)) for p, k in _keygen(SECP256K1, 1).items()}
    assert keys[P(0)].public_key == keys[P(1)].public_key
    rng = random.Random(2)
    triples = run_protocols({p: HonestMajorityTripleGenerator().generate(PS, p, 2, b"t", 2, rng) for p in PS})
    stored = {p: [codec.encode_triple(t) for t in ts] for p, ts in triples.items()}
    with pytest.raises(ProtocolError):  # encoding consumed the in-memory secrets
        triples[P(0)][0].take()
    loaded = {p: [codec.decode_triple(b) for b in bs] for p, bs in stored.items()}
    signers = [P(0), P(2)]
    pres = run_protocols({p: presign(keys[p], loaded[p][0], loaded[p][1], signers) for p in signers})
    pres = {p: codec.decode_presignature(codec.encode_presignature(pr)) for p, pr in pres.items()}
    tweak, msg, entropy = derive_tweak("alice.near", "eth-1"), bytes(31) + b"\x09", bytes(range(32))
    sigs = run_protocols({p: ecdsa_sign(pres[p], signers, P(0), tweak=tweak, msg_hash=msg, entropy=entropy)
                          for p in signers})
    sig = sigs[P(0)]
    assert sig is not None
    response = sig.to_contract_json()
    assert int(response["big_r"]["affine_point"][:2], 16) - 2 == response["recovery_id"]
    with pytest.raises(ValueError):
        codec.decode_keygen(codec.encode_keygen(keys[P(0)]) + b"x")


def test_public_key_strings_use_the_contracts_format() -> None:
    keys = _keygen(SECP256K1, 3)
    text = public_key_string("secp256k1", keys[P(0)].public_key)
    assert text.startswith("secp256k1:")
    import base58

    assert len(base58.b58decode(text.split(":")[1])) == 64
    ed = _keygen(ED25519, 4)
    assert len(base58.b58decode(public_key_string("ed25519", ed[P(0)].public_key).split(":")[1])) == 32


async def _mesh(n: int) -> list[PeerNetwork]:
    keys = [Ed25519KeyPair.generate() for _ in range(n)]
    nets = [PeerNetwork(P(i), keys[i], [], keepalive_s=0.5) for i in range(n)]
    for net in nets:
        await net.start()
    peers = [Peer(P(i), "127.0.0.1", net.port, keys[i].public_key) for i, net in enumerate(nets)]
    for net in nets:
        net.update_peers(peers)
    for net in nets:
        await net.wait_connected(range(n))
    return nets


async def test_dkg_and_frost_over_the_tls_mesh() -> None:
    nets = await _mesh(3)
    try:
        rng = random.Random(5)
        outs = await asyncio.gather(*(run_protocol(nets[i], ChannelId(b"kg"), keygen(ED25519, PS, P(i), 2, b"s", rng),
                                                   timeout_s=10) for i in range(3)))
        assert len({o.public_key for o in outs}) == 1
        tweak = derive_tweak("bob.near", "sol")
        sigs = await asyncio.gather(*(run_protocol(nets[i], ChannelId(b"fs"),
                                                   frost_sign(outs[i], PS, P(1), b"m" * 40, tweak, rng), timeout_s=10)
                                      for i in range(3)))
        assert sigs[1] is not None and len(sigs[1]) == 64 and sigs[0] is None
    finally:
        for net in nets:
            await net.close()


async def test_a_tampering_participant_is_named_and_a_silent_one_times_out() -> None:
    nets = await _mesh(3)
    try:
        keys = _keygen(ED25519, 6)
        rng = random.Random(7)
        tweak = derive_tweak("bob.near", "sol")

        def flip(data: bytes) -> bytes:
            return data[:-1] + bytes([data[-1] ^ 1])

        results = await asyncio.gather(
            *(run_protocol(nets[i], ChannelId(b"bad"), frost_sign(keys[P(i)], PS, P(0), b"x" * 32, tweak, rng),
                           timeout_s=5, tamper=flip if i == 2 else None) for i in range(3)),
            return_exceptions=True)
        assert isinstance(results[0], ProtocolError) and results[0].culprit == 2
        with pytest.raises(ProtocolTimeout) as info:
            await run_protocol(nets[0], ChannelId(b"alone"), frost_sign(keys[P(0)], PS, P(0), b"y" * 32, tweak, rng),
                               timeout_s=0.5)
        assert info.value.waiting_for == {1, 2}
    finally:
        for net in nets:
            await net.close()


async def test_a_participant_that_goes_away_ends_the_run_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """A participant whose link drops (its process died) fails the run after LINK_GRACE_S, not after timeout_s."""
    import time

    from mpc_service import runner

    monkeypatch.setattr(runner, "LINK_GRACE_S", 1.0)
    nets = await _mesh(3)
    try:
        keys = _keygen(ED25519, 6)
        rng = random.Random(8)
        await nets[2].close()
        started = time.monotonic()
        with pytest.raises(ProtocolTimeout, match="unreachable") as info:
            await run_protocol(nets[0], ChannelId(b"gone"), frost_sign(keys[P(0)], PS, P(0), b"z" * 32,
                                                                      derive_tweak("bob.near", "sol"), rng),
                               timeout_s=60)
        assert info.value.waiting_for == {2}
        assert time.monotonic() - started < 30
    finally:
        for net in nets[:2]:
            await net.close()


def _receipt(method: str, args: dict[str, Any], predecessor: str, receiver: str = "signer.near") -> dict[str, Any]:
    call = {"FunctionCall": {"method_name": method, "args": base64.b64encode(json.dumps(args).encode()).decode(),
                             "gas": 1, "deposit": "1"}}
    return {"predecessor_id": predecessor, "receiver_id": receiver, "receipt_id": f"r-{method}-{predecessor}",
            "receipt": {"Action": {"actions": [call]}}}


class FakeChain:
    """Blocks 0..9 (height 5 skipped); block 3 holds a sign, a malformed sign and a respond."""

    def __init__(self) -> None:
        self.latest = 9
        payload = "ab" * 32
        self.request = {"request": {"path": "eth-1", "payload_v2": {"Ecdsa": payload}, "domain_id": 0}}
        tweak = derive_tweak("alice.near", "eth-1").hex()
        self.receipts = {3: [_receipt("sign", self.request, "alice.near"),
                             _receipt("sign", {"request": {"path": 1}}, "mallory.near"),
                             _receipt("sign", self.request, "alice.near", receiver="other.near"),
                             _receipt("respond", {"request": {"tweak": tweak, "payload": {"Ecdsa": payload},
                                                              "domain_id": 0}, "response": {}}, "node0.near")]}

    async def latest_height(self) -> int:
        return self.latest

    async def block(self, height: int) -> dict[str, Any]:
        if height == 5 or height > self.latest:
            raise UnknownBlock("no block")
        return {"header": {"hash": f"h{height}", "random_value": "11111111111111111111111111111112"}}

    async def chunk(self, block_hash: str) -> dict[str, Any]:
        return {"receipts": self.receipts.get(int(block_hash[1:]), [])}

    async def view(self, contract_id: str, method: str, args: Any) -> Any:
        return None


async def test_indexer_finds_requests_skips_gaps_persists_and_rescans(tmp_path: Path) -> None:
    chain = FakeChain()
    indexer = Indexer(chain, "signer.near", tmp_path / "idx.sqlite", start_height=0, poll_interval_s=0.01,
                      rescan_blocks=4)
    task = asyncio.create_task(indexer.run())
    updates = [await asyncio.wait_for(indexer.updates.get(), 5) for _ in range(9)]  # 0..9 without 5
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert [u.height for u in updates] == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    block3 = updates[3]
    assert len(block3.requests) == 1 and block3.requests[0].caller == "alice.near"
    req = block3.requests[0]
    assert req.tweak == derive_tweak("alice.near", "eth-1") and req.block_height == 3 and len(req.entropy) == 32
    assert block3.responded == (req.request_id,)
    indexer.close()
    # After a restart the last `rescan_blocks` blocks are read again (marked as catching up).
    again = Indexer(chain, "signer.near", tmp_path / "idx.sqlite", start_height=0, poll_interval_s=0.01,
                    rescan_blocks=4)
    task = asyncio.create_task(again.run())
    first = await asyncio.wait_for(again.updates.get(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    again.close()
    assert first.height == 6 and first.catching_up


def test_sign_and_respond_argument_parsing() -> None:
    domain, tweak, kind, payload = parse_sign_args(json.dumps({"request": {"path": "p", "payload": [1] * 32,
                                                                           "key_version": 0}}).encode(), "a.near")
    assert (domain, kind, payload) == (0, "Ecdsa", bytes([1] * 32))
    rid = parse_respond_args(json.dumps({"request": {"tweak": tweak.hex(), "payload": {"Ecdsa": payload.hex()},
                                                     "domain_id": 0}}).encode())
    assert rid == request_id_of(0, tweak, "Ecdsa", payload)
    for bad in ({"request": {"path": "p", "payload_v2": {"Ecdsa": "00"}}}, {"request": {"path": 3}}, {}):
        with pytest.raises((ValueError, KeyError)):
            parse_sign_args(json.dumps(bad).encode(), "a.near")


def test_prometheus_text_flattens_numbers() -> None:
    text = prometheus_text({"requests": {"served": 3}, "pools": {"triples": 7}, "account_id": "x", "ok": True})
    assert "mpc_requests_served 3" in text and "mpc_pools_triples 7" in text and "mpc_ok 1" in text
    assert "account_id" not in text


def test_a_config_error_stops_the_node_at_start_with_a_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[node]\naccount_id = "node0.test.near"\ndata_dir = "d"\np2p_key_file = "k.json"\n'
                      'storage_secret_file = "s"\n[chain]\nrpc_url = "ftp://x"\ncontract_id = "c.near"\n')
    out = subprocess.run([sys.executable, "-m", "mpc_service", "run", "--config", str(config)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60, check=False)
    assert out.returncode == 2
    assert "config error" in out.stderr and "chain.rpc_url" in out.stderr
    config.write_text(config.read_text().replace("ftp://x", "http://127.0.0.1:9"))
    out = subprocess.run([sys.executable, "-m", "mpc_service", "run", "--config", str(config)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60, check=False)
    assert out.returncode == 2
    assert "config error" in out.stderr and "k.json" in out.stderr


class LateChain(FakeChain):
    """Block 3 is not there at the first ask, but later blocks already are by the time `status` answers."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    async def block(self, height: int) -> dict[str, Any]:
        if height == 3:
            self.asked += 1
            if self.asked == 1:
                raise UnknownBlock("not yet")
        return await super().block(height)


async def test_indexer_does_not_skip_a_block_produced_between_two_calls(tmp_path: Path) -> None:
    chain = LateChain()
    indexer = Indexer(chain, "signer.near", tmp_path / "idx.sqlite", start_height=3, poll_interval_s=0.01)
    task = asyncio.create_task(indexer.run())
    first = await asyncio.wait_for(indexer.updates.get(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    indexer.close()
    assert first.height == 3 and len(first.requests) == 1 and chain.asked == 2


class TimedChain(FakeChain):
    """Blocks with timestamps every 100 ms ending now; counts the asks for blocks and `status`."""

    def __init__(self) -> None:
        super().__init__()
        self.latest = 4
        self.asks: list[int] = []
        self.status_calls = 0
        import time

        self.t0 = time.time() - 0.1 * self.latest

    async def latest_height(self) -> int:
        self.status_calls += 1
        return self.latest

    async def block(self, height: int) -> dict[str, Any]:
        self.asks.append(height)
        block = await super().block(height)
        block["header"]["timestamp_nanosec"] = str(int((self.t0 + 0.1 * height) * 1e9))
        return block


async def test_indexer_waits_for_the_next_block_to_be_due_and_a_poke_cuts_the_wait(tmp_path: Path) -> None:
    chain = TimedChain()
    indexer = Indexer(chain, "signer.near", tmp_path / "idx.sqlite", start_height=0, poll_interval_s=30.0)
    task = asyncio.create_task(indexer.run())
    for _ in range(5):
        await asyncio.wait_for(indexer.updates.get(), 5)
    await asyncio.sleep(0.6)  # block 5 never comes: a 100 ms rhythm, then quick asks, then the (long) poll interval
    misses = chain.asks.count(5)
    assert 2 <= misses <= 5 and chain.status_calls == 0
    chain.latest = 6  # block 6 appears (5 stays skipped); the poll interval is 30 s, a poke asks at once
    indexer.poke()
    update = await asyncio.wait_for(indexer.updates.get(), 2)
    assert update.height == 6 and chain.status_calls == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    indexer.close()


class SlowOldChain(FakeChain):
    """60 blocks from a minute ago, each ask taking 20 ms: counts how many asks are in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        import time

        self.latest = 60
        self.t0 = time.time() - 60
        self.in_flight = 0
        self.max_in_flight = 0

    async def block(self, height: int) -> dict[str, Any]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.02)
            block = await super().block(height)
        finally:
            self.in_flight -= 1
        block["header"]["timestamp_nanosec"] = str(int((self.t0 + 0.1 * height) * 1e9))
        return block


async def test_an_indexer_behind_the_chain_reads_ahead_and_delivers_in_order(tmp_path: Path) -> None:
    """Behind the chain, block reads overlap (one round trip per block would cap the indexer below the chain's rate
    on a loaded machine); updates still come in height order, skipped heights left out, requests found."""
    chain = SlowOldChain()
    indexer = Indexer(chain, "signer.near", tmp_path / "idx.sqlite", start_height=0, poll_interval_s=0.01)
    task = asyncio.create_task(indexer.run())
    updates = [await asyncio.wait_for(indexer.updates.get(), 30) for _ in range(60)]  # 0..60 without 5
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    indexer.close()
    assert [u.height for u in updates] == [h for h in range(61) if h != 5]
    assert len(updates[3].requests) == 1
    assert chain.max_in_flight > 1


def test_a_sign_call_with_hostile_arguments_does_not_stop_the_indexer(tmp_path: Path) -> None:
    """Anyone can put a `sign` receipt in a block: arguments nested a million levels deep (which made json.loads
    raise RecursionError and killed the indexer for good, as every restart re-read the block), or oversized, are
    ignored like any call the contract refuses, and the blocks after it are read."""

    class HostileChain(FakeChain):
        def __init__(self) -> None:
            super().__init__()
            deep = b'{"request": ' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}"
            huge = json.dumps({"request": {"path": "x" * 200_000, "payload_v2": {"Ecdsa": "ab" * 32}}}).encode()
            self.receipts[2] = [{**_receipt("sign", {}, "mallory.near"), "receipt": {"Action": {"actions": [
                {"FunctionCall": {"method_name": "sign", "args": base64.b64encode(raw).decode(), "gas": 1,
                                  "deposit": "1"}}]}}} for raw in (deep, huge)]

    async def go() -> list[Any]:
        indexer = Indexer(HostileChain(), "signer.near", tmp_path / "idx.sqlite", start_height=0,
                          poll_interval_s=0.01)
        task = asyncio.create_task(indexer.run())
        try:
            return [await asyncio.wait_for(indexer.updates.get(), 10) for _ in range(4)]
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            indexer.close()

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000_000)  # as py-evm does in the same process: the parser must not be reached
    try:
        updates = asyncio.run(go())
    finally:
        sys.setrecursionlimit(limit)
    assert [u.height for u in updates] == [0, 1, 2, 3]
    assert updates[2].requests == () and len(updates[3].requests) == 1
