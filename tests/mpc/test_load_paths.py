"""What keeps a loaded node cheap: the queue's cached leader and content index, liveness judged when a height
report arrived, presignature reservations before the leader's view call, and an indexer that asks for a block
when it is due instead of once too early."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from mpc_helpers import make_request
from test_node_parts import FakeChain

from mpc_service.assets import AssetId, AssetKind, AssetStore
from mpc_service.chain.indexer import Indexer
from mpc_service.chain.rpc import UnknownBlock
from mpc_service.config import QueueConfig
from mpc_service.context import LIVE_LAG_BLOCKS, NodeContext, PeerReport
from mpc_service.providers.ecdsa import EcdsaProvider, NoPresignature
from mpc_service.queue import RequestQueue, leader_order
from mpc_service.secret import SecretBytes
from mpc_service.types import ParticipantId

P = [ParticipantId(i) for i in range(5)]


def test_the_queue_leader_follows_the_live_set_and_respond_hints_reach_every_instance() -> None:
    req = make_request(block_height=10)
    first, second = leader_order(P, req.request_id)[:2]
    queue = RequestQueue(second, QueueConfig(), clock=lambda: 0.0)
    queue.add(req)
    assert queue.due(P) == ([], [])  # `first` leads while it is live
    started, _ = queue.due([p for p in P if p != first])  # the cached leader is recomputed for the new live set
    assert started == [req]

    again = dataclasses.replace(req, data_id="another-receipt")  # the same content asked a second time
    assert again.instance_id != req.instance_id and queue.add(again)
    queue.update_height(12)
    assert queue.busy(30) == 2
    queue.mark_responded(req.request_id)
    assert queue.busy(30) == 0
    queue.complete(req.instance_id)
    third = dataclasses.replace(req, data_id="third-receipt")
    queue.add(third)
    assert queue.busy(30) == 1  # the new instance has seen no respond yet
    queue.mark_responded(req.request_id)
    assert queue.busy(30) == 0 and len(queue) == 2


def test_requests_close_to_expiry_are_attempted_after_the_others() -> None:
    config = QueueConfig(expiry_blocks=200)
    old, fresh = make_request(block_height=10), make_request(block_height=150)
    me = leader_order(P, old.request_id)[0]
    queue = RequestQueue(me, config, clock=lambda: 0.0)
    queue.add(old)  # older first in the queue's own order
    queue.add(fresh)
    queue.update_height(190)  # `old` is 180 blocks old: in the last tenth of its 200
    started, _ = queue.due([me])  # alone, this node leads both
    assert started == [fresh, old]


def _context(store: Any = None, height: int = 100) -> NodeContext:
    config = SimpleNamespace(account_id="node0.test.near", chain=SimpleNamespace(contract_id="signer.test.near"))
    ctx = NodeContext(cast(Any, config), cast(Any, store), cast(Any, SimpleNamespace(processed_height=height)))
    ctx.me, ctx.epoch, ctx.threshold = P[0], 3, 2
    ctx.participants = cast(Any, {p: None for p in P[:3]})
    ctx.net = cast(Any, SimpleNamespace(connected=lambda: {P[1], P[2]}))
    return ctx


def test_a_peer_is_live_by_how_far_behind_it_was_when_its_report_arrived() -> None:
    ctx = _context(height=100)
    now = time.monotonic()
    ctx.peer_heights[P[1]] = PeerReport(100 - LIVE_LAG_BLOCKS + 2, 3, now, our_height=100)
    ctx.peer_heights[P[2]] = PeerReport(100 - LIVE_LAG_BLOCKS - 5, 3, now, our_height=100)
    assert ctx.live() == {P[0], P[1]}
    assert ctx.eligible(any_lag=True) == {P[0], P[1], P[2]}  # triple generation serves no request: lag is no bar
    # Our indexer moves on before the peer's next report (one report per second is 10 blocks of a 100 ms chain):
    # the peer stays live; judged against our height now it would drop out every second.
    ctx.indexer.processed_height = 100 + 2 * LIVE_LAG_BLOCKS  # type: ignore[misc]
    assert ctx.live() == {P[0], P[1]}
    ctx.peer_heights[P[1]] = dataclasses.replace(ctx.peer_heights[P[1]], received=now - 60)  # a stale report
    assert ctx.live() == {P[0]}


def test_only_as_many_leads_go_on_as_there_are_presignatures_that_fit(tmp_path: Path) -> None:
    store = AssetStore(tmp_path / "assets.sqlite", SecretBytes(os.urandom(32)))
    ctx = _context(store)
    now = time.monotonic()
    for p in (P[1], P[2]):
        ctx.peer_heights[p] = PeerReport(100, 3, now, our_height=100)
    for name in ("0-a", "0-b"):
        store.put(AssetKind.PRESIGNATURE, AssetId(name), P[0], b"sealed", participants=[0, 1, 2], domain_id=0)
    store.put(AssetKind.PRESIGNATURE, AssetId("0-c"), P[0], b"sealed", participants=[0, 1, 3], domain_id=0)
    provider = EcdsaProvider(ctx)
    req = make_request()
    with provider.reserve(req), provider.reserve(req):
        with pytest.raises(NoPresignature), provider.reserve(req):  # 0-c's set is not live
            pass
        with pytest.raises(NoPresignature, match="in use"), provider.reserve(req):  # remembered: no store query
            pass
    with provider.reserve(req):  # released: free again
        assert provider.pick_presignature(req.domain_id).id in {"0-a", "0-b"}
    store.close()


class RealTimeChain(FakeChain):
    """A block every 100 ms from now on, readable 30 ms after its timestamp (the producer runs its receipts
    first); counts the asks per height."""

    INTERVAL_S = 0.1
    READABLE_AFTER_S = 0.03

    def __init__(self) -> None:
        super().__init__()
        self.t0 = time.time()
        self.asks: dict[int, int] = {}

    async def latest_height(self) -> int:
        return int((time.time() - self.t0 - self.READABLE_AFTER_S) / self.INTERVAL_S)

    async def block(self, height: int) -> dict[str, Any]:
        self.asks[height] = self.asks.get(height, 0) + 1
        stamp = self.t0 + height * self.INTERVAL_S
        if time.time() < stamp + self.READABLE_AFTER_S:
            raise UnknownBlock("not produced yet")
        return {"header": {"hash": f"h{height}", "random_value": "11111111111111111111111111111112",
                           "timestamp_nanosec": str(int(stamp * 1e9))}}


async def test_the_indexer_learns_when_a_block_becomes_readable_and_asks_about_once(tmp_path: Path) -> None:
    chain = RealTimeChain()
    indexer = Indexer(chain, "signer.near", tmp_path / "idx.sqlite", start_height=0, poll_interval_s=0.5)
    task = asyncio.create_task(indexer.run())
    try:
        heights = [(await asyncio.wait_for(indexer.updates.get(), 10)).height for _ in range(40)]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        indexer.close()
    assert heights == list(range(40))
    # Asking as soon as the previous block was read, then again when the next was due, took two asks or more per
    # block; once the readable lag is learnt (the first ~10 blocks) it is about one.
    steady = [chain.asks[h] for h in range(15, 40)]
    assert sum(steady) / len(steady) <= 1.5, steady
