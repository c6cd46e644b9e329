"""The request queue: which pending sign requests this node should work on now (pure logic, no I/O).

Follows near/mpc's node (`requests/queue.rs`): the leader of a request is the first live participant in the
order of u64_le(sha256(u32_le(participant_id) ‖ request_id)[0..8]); only the leader starts the signing
protocol. After submitting a response the leader waits `retry_after_s` before trying again (the response may
still land); after a failed attempt it backs off exponentially, up to `retry_after_s`; at most `max_attempts`
attempts; a request is dropped `expiry_blocks` after the block it appeared in (the contract times it out).
Time and height are injected (`clock`, `update_height`) so tests drive them directly.

Entries are on-chain request *instances* (`PendingRequest.instance_id`): the same content asked again after it was
answered is served again, while an indexer replay of an instance already finished is ignored. Two pending instances of
the same content are answered by one `respond` (the contract fans out), so only one of them is attempted at a time.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from enum import Enum

from mpc_service.chain.events import PendingRequest
from mpc_service.config import QueueConfig
from mpc_service.types import ParticipantId, RequestId

__all__ = ["DropReason", "Dropped", "RequestQueue", "leader_order"]

LATE_FRACTION = 10  # a request in the last tenth of its lifetime (20 of 200 blocks) is attempted after the others


def _rank(participant: ParticipantId, request_id: RequestId) -> int:
    digest = hashlib.sha256(struct.pack("<I", participant) + request_id).digest()
    return int.from_bytes(digest[:8], "little")


def leader_order(participants: Iterable[ParticipantId], request_id: RequestId) -> list[ParticipantId]:
    """Participants in leader-priority order for `request_id` (ties, never seen in practice, by id)."""
    return sorted(participants, key=lambda p: (_rank(p, request_id), p))


class DropReason(Enum):
    EXPIRED = "expired"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"


@dataclass(frozen=True)
class Dropped:
    request: PendingRequest
    reason: DropReason


@dataclass
class _Entry:
    request: PendingRequest
    attempts: int = 0
    in_progress: bool = False
    not_before: float = 0.0
    responded: bool = False  # a `respond` for it landed (it may have failed: the entry stays until confirmed)
    # The leader among `leader_for` (the live set it was computed for): `due` runs every block over every entry,
    # and recomputing five SHA-256 ranks per entry each time was the node's largest avoidable cost under load.
    leader_for: frozenset[ParticipantId] | None = None
    cached_leader: ParticipantId | None = None

    def leader(self, live: frozenset[ParticipantId]) -> ParticipantId | None:
        if self.leader_for != live:
            order = leader_order(live, self.request.request_id)
            self.leader_for, self.cached_leader = live, order[0] if order else None
        return self.cached_leader


class RequestQueue:
    """Pending requests of one node. Call `due()` every `check_interval_s` with the live participants."""

    def __init__(self, me: ParticipantId, config: QueueConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.me = me
        self.config = config
        self._clock = clock
        self._entries: dict[RequestId, _Entry] = {}  # by instance id
        self._finished: dict[RequestId, int] = {}  # completed/dropped instance ids -> height, so replays are ignored
        self._instances: dict[RequestId, set[RequestId]] = {}  # content id -> its pending instance ids
        self.height = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._entries

    def add(self, request: PendingRequest) -> bool:
        """Track a new request instance; False if it is already pending or was finished (an indexer replay)."""
        instance = request.instance_id
        if instance in self._entries or instance in self._finished:
            return False
        self._entries[instance] = _Entry(request)
        self._instances.setdefault(request.request_id, set()).add(instance)
        return True

    def complete(self, instance_id: RequestId) -> PendingRequest | None:
        """The instance was answered (or the contract no longer holds it): forget it. Returns it if it was pending."""
        entry = self._entries.get(instance_id)
        self._forget(instance_id)
        return entry.request if entry else None

    def mark_responded(self, request_id: RequestId) -> None:
        """A `respond` receipt for this content was seen. Only a hint (a forged respond fails in the contract), so the
        instances stay pending; whoever leads one next asks the contract before signing. They no longer count as busy."""
        for instance in self._instances.get(request_id, ()):
            self._entries[instance].responded = True

    def busy(self, recent_blocks: int) -> int:
        """Requests from the last `recent_blocks` blocks with no `respond` seen yet: work the nodes are doing now."""
        return sum(1 for e in self._entries.values()
                   if not e.responded and self.height - e.request.block_height <= recent_blocks)

    def update_height(self, height: int) -> list[Dropped]:
        """Advance the chain height; returns requests dropped because they expired."""
        self.height = max(self.height, height)
        dropped = [
            Dropped(e.request, DropReason.EXPIRED)
            for e in self._entries.values()
            if self.height - e.request.block_height >= self.config.expiry_blocks
        ]
        for d in dropped:
            self._forget(d.request.instance_id)
        # Finished ids are kept long enough to ignore replays from the indexer, then pruned.
        horizon = self.height - 2 * self.config.expiry_blocks
        self._finished = {rid: h for rid, h in self._finished.items() if h >= horizon}
        return dropped

    def leader(self, request_id: RequestId, live: Collection[ParticipantId]) -> ParticipantId | None:
        order = leader_order(live, request_id)
        return order[0] if order else None

    def due(self, live: Collection[ParticipantId]) -> tuple[list[PendingRequest], list[Dropped]]:
        """Requests this node leads and should attempt now (each is marked in progress, its attempt counted),
        and requests dropped because their attempts ran out. `live` must include this node when it is healthy."""
        if self.me not in live:
            return [], []
        now = self._clock()
        live_set = frozenset(live)
        start: list[PendingRequest] = []
        dropped: list[Dropped] = []
        busy_content = {e.request.request_id for e in self._entries.values() if e.in_progress}
        for instance, entry in list(self._entries.items()):
            rid = entry.request.request_id
            if entry.in_progress or now < entry.not_before or entry.leader(live_set) != self.me:
                continue
            if rid in busy_content:
                continue  # the same content is being signed: its `respond` answers this instance too
            busy_content.add(rid)
            if entry.attempts >= self.config.max_attempts:
                dropped.append(Dropped(entry.request, DropReason.ATTEMPTS_EXHAUSTED))
                self._forget(instance)
                continue
            entry.attempts += 1
            entry.in_progress = True
            start.append(entry.request)
        # Those close to expiry go last: when presignatures are short (more requests than the nodes can sign), one
        # spent on a request the contract times out before the `respond` lands is lost for a request that could
        # still be answered. They are still attempted.
        margin = max(1, self.config.expiry_blocks // LATE_FRACTION)
        start.sort(key=lambda r: self.height - r.block_height >= self.config.expiry_blocks - margin)
        return start, dropped

    def submitted(self, instance_id: RequestId) -> None:
        """A response was submitted: wait `retry_after_s` for it to land before trying again."""
        entry = self._entries.get(instance_id)
        if entry:
            entry.in_progress = False
            entry.not_before = self._clock() + self.config.retry_after_s

    def failed(self, instance_id: RequestId) -> None:
        """The attempt failed before submitting: retry after 2^(attempts-1) s, capped at `retry_after_s`."""
        entry = self._entries.get(instance_id)
        if entry:
            entry.in_progress = False
            entry.not_before = self._clock() + min(self.config.retry_after_s, 2.0 ** (entry.attempts - 1))

    def not_ready(self, instance_id: RequestId, delay_s: float) -> None:
        """The leader could not start (e.g. no presignature for the live set yet): try again after `delay_s`
        without counting an attempt."""
        entry = self._entries.get(instance_id)
        if entry:
            entry.in_progress = False
            entry.attempts = max(0, entry.attempts - 1)
            entry.not_before = self._clock() + delay_s

    def attempts(self, instance_id: RequestId) -> int:
        entry = self._entries.get(instance_id)
        return entry.attempts if entry else 0

    def pending(self) -> list[PendingRequest]:
        return [e.request for e in self._entries.values()]

    def _forget(self, instance_id: RequestId) -> None:
        entry = self._entries.pop(instance_id, None)
        self._finished[instance_id] = self.height
        if entry is not None:
            instances = self._instances[entry.request.request_id]
            instances.discard(instance_id)
            if not instances:
                del self._instances[entry.request.request_id]
