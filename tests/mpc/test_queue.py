"""Request queue: leader choice by hash order, retries, attempt limits, expiry; driven by a fake clock."""

from __future__ import annotations

import dataclasses
import hashlib
import struct
from collections import Counter

from mpc_helpers import make_request

from mpc_service.config import QueueConfig
from mpc_service.queue import DropReason, RequestQueue, leader_order
from mpc_service.types import ParticipantId, RequestId

P = [ParticipantId(i) for i in range(5)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_leader_order_matches_the_reference_formula() -> None:
    rid = RequestId(bytes(range(32)))
    ranks = {p: int.from_bytes(hashlib.sha256(struct.pack("<I", p) + rid).digest()[:8], "little") for p in P}
    order = leader_order(P, rid)
    assert [ranks[p] for p in order] == sorted(ranks.values())
    assert leader_order(reversed(P), rid) == order


def test_leadership_is_spread_over_participants() -> None:
    leaders = Counter(leader_order(P, make_request().request_id)[0] for _ in range(1000))
    assert set(leaders) == set(P)
    assert min(leaders.values()) > 120  # 200 expected each


def queues(clock: Clock, config: QueueConfig) -> dict[ParticipantId, RequestQueue]:
    return {p: RequestQueue(p, config, clock) for p in P}


def test_exactly_one_live_node_leads_and_others_take_over() -> None:
    clock = Clock()
    qs = queues(clock, QueueConfig())
    req = make_request()
    for q in qs.values():
        assert q.add(req)
    leader = leader_order(P, req.request_id)[0]
    starts = {p: q.due(P)[0] for p, q in qs.items()}
    assert [p for p, s in starts.items() if s] == [leader]
    # The leader goes offline: the next in order leads.
    live = [p for p in P if p != leader]
    second = leader_order(live, req.request_id)[0]
    starts = {p: q.due(live)[0] for p, q in qs.items() if p != leader}
    assert [p for p, s in starts.items() if s] == [second]
    assert qs[leader].due(live) == ([], [])  # a node that is not live does nothing


def test_retry_waits_after_submit_and_backs_off_after_failure() -> None:
    clock = Clock()
    config = QueueConfig(retry_after_s=10.0, max_attempts=3)
    req = make_request()
    me = leader_order(P, req.request_id)[0]
    q = RequestQueue(me, config, clock)
    q.add(req)
    assert q.due(P)[0] == [req]
    assert q.due(P)[0] == []  # in progress
    q.submitted(req.instance_id)
    clock.now += 9.9
    assert q.due(P)[0] == []
    clock.now += 0.2
    assert q.due(P)[0] == [req]
    q.failed(req.instance_id)  # second attempt failed: 2 s backoff
    clock.now += 1.0
    assert q.due(P)[0] == []
    clock.now += 1.1
    assert q.due(P)[0] == [req] and q.attempts(req.instance_id) == 3
    q.failed(req.instance_id)
    clock.now += 10
    started, dropped = q.due(P)
    assert started == [] and [d.reason for d in dropped] == [DropReason.ATTEMPTS_EXHAUSTED]
    assert len(q) == 0 and not q.add(req)


def test_expiry_after_200_blocks_and_completion() -> None:
    clock = Clock()
    q = RequestQueue(P[0], QueueConfig(), clock)
    old, new = make_request(block_height=100), make_request(block_height=250)
    assert q.add(old) and q.add(new) and not q.add(old)
    assert q.update_height(299) == []
    dropped = q.update_height(300)
    assert [d.request for d in dropped] == [old] and dropped[0].reason is DropReason.EXPIRED
    assert q.complete(new.instance_id) == new
    assert len(q) == 0
    assert not q.add(new)  # a replayed event after completion is ignored


def test_not_ready_retries_soon_without_spending_an_attempt() -> None:
    clock = Clock()
    config = QueueConfig(retry_after_s=10.0, max_attempts=1, expiry_blocks=200, check_interval_s=1.0)
    req = make_request()
    leader = leader_order(P, req.request_id)[0]
    queue = RequestQueue(leader, config, clock)
    queue.add(req)
    for _ in range(3):  # more "not ready" rounds than max_attempts: the request is never dropped for it
        started, dropped = queue.due(P)
        assert [r.request_id for r in started] == [req.request_id] and not dropped
        queue.not_ready(req.instance_id, 0.5)
        assert queue.due(P) == ([], [])  # not before 0.5 s
        clock.now += 0.5
    assert queue.attempts(req.instance_id) == 0


def test_a_respond_hint_keeps_the_request_but_stops_counting_it_as_busy() -> None:
    clock = Clock()
    queue = RequestQueue(P[0], QueueConfig(), clock)
    old, fresh, hinted = make_request(block_height=10), make_request(block_height=95), make_request(block_height=96)
    for req in (old, fresh, hinted):
        queue.add(req)
    queue.update_height(100)
    assert queue.busy(30) == 2  # `old` is 90 blocks old
    queue.mark_responded(hinted.request_id)  # a respond may have failed: only a hint
    assert queue.busy(30) == 1
    assert hinted.instance_id in queue and len(queue) == 3
    queue.mark_responded(RequestId(bytes(32)))  # unknown ids are ignored
    assert queue.busy(30) == 1


def test_the_same_content_asked_again_after_an_answer_is_served() -> None:
    """Identity is the on-chain instance: a new `sign` receipt for content answered earlier is a new request, while
    a replay of the answered instance (indexer rescan) stays ignored."""
    clock = Clock()
    first = make_request(block_height=10)
    again = dataclasses.replace(first, data_id="another-receipt", block_height=30)
    leader = leader_order(P, first.request_id)[0]
    q = RequestQueue(leader, QueueConfig(), clock)
    assert q.add(first)
    assert q.due(P)[0] == [first]
    assert q.complete(first.instance_id) == first
    assert not q.add(first)  # replay
    assert q.add(again)
    assert q.due(P)[0] == [again]


def test_two_pending_instances_of_one_content_are_not_signed_in_parallel() -> None:
    """The contract answers every pending instance of the same content with one `respond`: attempt one at a time."""
    clock = Clock()
    first = make_request(block_height=10)
    twin = dataclasses.replace(first, data_id="twin-receipt", block_height=11)
    leader = leader_order(P, first.request_id)[0]
    q = RequestQueue(leader, QueueConfig(), clock)
    assert q.add(first) and q.add(twin) and len(q) == 2
    assert q.due(P)[0] == [first]
    assert q.due(P)[0] == []
    q.complete(first.instance_id)
    assert q.due(P)[0] == [twin]  # its leader asks the contract first: answered by the fan-out → completed
