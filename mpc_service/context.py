"""What a node's stages share: who this node is, the participant set and who of it is live, the key shares, blame,
the requests seen on chain, and the control channel.

Writers: the key-event coordinator sets membership, epoch and key shares from the contract's state; the request
service records the requests the indexer saw; the control router records peers' heights. Readers: the scheme
providers (who to sign with, which share) and the status page. Nothing here does protocol work.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import base58

from mpc_service.assets import AssetStore
from mpc_service.chain.events import PendingRequest
from mpc_service.chain.indexer import Indexer
from mpc_service.checks import TaskRefused
from mpc_service.config import NodeConfig
from mpc_service.control import ControlMessage, encode_control
from mpc_service.network import PeerNetwork
from mpc_service.protocol import KeygenOutput
from mpc_service.queue import RequestQueue
from mpc_service.types import ChannelId, DomainId, ParticipantId, RequestId

__all__ = ["BLAME_S", "CONTROL", "NodeContext", "ParticipantInfo", "channel", "participant_infos"]

log = logging.getLogger("mpc_service.node")

CONTROL = ChannelId(b"\x00control")
BLAME_S = 60.0  # a culprit is left out of new signing sets this long
LIVE_LAG_BLOCKS = 10  # a linked peer is live while its indexer is at most this many blocks behind ours (reference)
HEIGHT_STALE_S = 5.0  # a height report older than this does not count
SEEN_WAIT_S = 10.0  # a follower waits this long for its own indexer to see a request a leader names


@dataclass(frozen=True)
class ParticipantInfo:
    participant_id: ParticipantId
    account_id: str
    host: str
    port: int
    tls_public_key: bytes


@dataclass(frozen=True)
class PeerReport:
    """A peer's last `HeightReport`, with when it arrived (monotonic seconds) and this node's own indexer height
    then: how far behind the peer was is judged at that moment, not against a height ours reached since."""

    height: int
    epoch: int
    received: float
    our_height: int


def participant_infos(participants: dict[str, Any]) -> dict[ParticipantId, ParticipantInfo]:
    """The contract's `{"participants": [[account_id, id, {"url", "tls_public_key"}], …]}`, by participant id."""
    infos: dict[ParticipantId, ParticipantInfo] = {}
    for account_id, pid, info in participants["participants"]:
        host, port = _parse_url(info["url"])
        key = base58.b58decode(info["tls_public_key"].split(":", 1)[1])
        infos[ParticipantId(pid)] = ParticipantInfo(ParticipantId(pid), account_id, host, port, key)
    return infos


def _parse_url(url: str) -> tuple[str, int]:
    parsed = urlparse(url if "//" in url else "//" + url)
    if not parsed.hostname or not parsed.port:
        raise ValueError(f"participant url {url!r} has no host:port")
    return parsed.hostname, parsed.port


def channel(kind: str, *parts: str) -> ChannelId:
    """The mesh channel of one protocol instance: its kind and a hash of what identifies the instance."""
    return ChannelId(kind.encode()[:8] + b":" + hashlib.sha256("|".join(parts).encode()).digest()[:20])


class NodeContext:
    """The shared view of one node (see the module docstring)."""

    def __init__(self, config: NodeConfig, store: AssetStore, indexer: Indexer) -> None:
        self.config = config
        self.account_id = config.account_id
        self.contract_id = config.chain.contract_id
        self.store = store
        self.indexer = indexer
        self.rng = secrets.SystemRandom()
        self.net: PeerNetwork | None = None
        # membership (written by the coordinator)
        self.me: ParticipantId | None = None
        self.threshold = 0
        self.participants: dict[ParticipantId, ParticipantInfo] = {}  # the running epoch's
        self.proposed: dict[ParticipantId, ParticipantInfo] = {}  # while Resharing: the proposal's
        self.epoch: int | None = None
        self.protocol_state = "unknown"
        self.keyshares: dict[DomainId, KeygenOutput] = {}  # by keyed domain, this epoch's
        self.schemes: dict[DomainId, str] = {}  # the contract's scheme of each domain this node holds a share of
        self.public_keys: dict[DomainId, str] = {}  # the contract's key per keyed domain
        # requests (the queue is made by the coordinator once this node knows its id; the request service feeds it)
        self.queue: RequestQueue | None = None
        self.seen: dict[RequestId, PendingRequest] = {}  # by instance id: this node's own copy of each request
        self.new_requests = asyncio.Event()  # set (and replaced) whenever the indexer delivers requests
        self.last_request_at = 0.0
        # peers (written by the control router and by blame)
        self.peer_heights: dict[ParticipantId, PeerReport] = {}  # each peer's last HeightReport
        self.blamed: dict[ParticipantId, float] = {}  # culprit -> excluded until (monotonic)
        self.misbehaviour: dict[ParticipantId, dict[str, int]] = {}  # per peer: culprit / refused / malformed counts
        self.metrics: dict[str, int] = {"requests_seen": 0, "requests_served": 0, "requests_failed": 0,
                                        "requests_dropped": 0, "requests_completed_elsewhere": 0,
                                        "respond_rejected": 0, "protocol_errors": 0, "triples_generated": 0,
                                        "presignatures_generated": 0, "culprits_named": 0, "tasks_refused": 0}
        self.tamper: Callable[[bytes], bytes] | None = None  # always None here; test doubles of a cheater set it
        self._children: set[asyncio.Task[Any]] = set()

    # ---- tasks ------------------------------------------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `coro` in the background; a failure is logged, never kills the node."""
        task = asyncio.create_task(coro, name=name)
        self._children.add(task)
        task.add_done_callback(self._child_done)
        return task

    def _child_done(self, task: asyncio.Task[Any]) -> None:
        self._children.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("node task failed", extra={"task": task.get_name(), "error": repr(task.exception())})

    async def cancel_children(self) -> None:
        for task in list(self._children):
            task.cancel()
        await asyncio.gather(*self._children, return_exceptions=True)

    # ---- liveness -----------------------------------------------------------------------------------------------
    def live(self, *, any_lag: bool = False) -> set[ParticipantId]:
        """This node and every peer with an authenticated link whose indexer (as it reported in the last
        HEIGHT_STALE_S) was at most LIVE_LAG_BLOCKS behind ours when the report arrived — as in the reference, a peer
        far behind the chain cannot follow requests it has not seen — and that uses this node's epoch (right after a
        resharing, a peer that has not switched yet would refuse every task of the new set).

        The lag is taken when the report arrived: compared with our height now, a report sent every
        HEIGHT_REPORT_S (10 blocks of a 100 ms chain) made every peer flap out of the live set just before its next
        report, and each flap switched triple generation to the costly dishonest-majority protocol.

        `any_lag`: the indexer lag does not count (for work that involves no request: triple generation)."""
        if self.me is None or self.net is None:
            return set()
        now = time.monotonic()
        return {self.me, *(p for p in self.net.connected() if (report := self.peer_heights.get(p)) is not None
                           and p in self.participants  # a node named in a proposal signs only from its epoch on
                           and report.epoch == self.epoch
                           and now - report.received <= HEIGHT_STALE_S
                           and (any_lag or report.height >= report.our_height - LIVE_LAG_BLOCKS))}

    def eligible(self, *, any_lag: bool = False) -> set[ParticipantId]:
        """Live participants not excluded for misbehaviour."""
        now = time.monotonic()
        return {p for p in self.live(any_lag=any_lag) if self.blamed.get(p, 0.0) < now}

    # ---- keys ---------------------------------------------------------------------------------------------------
    def keyed_schemes(self) -> dict[DomainId, str]:
        """Domains this node holds a key share for, with their scheme."""
        return {d: self.schemes[d] for d in self.keyshares if d in self.schemes}

    def domains_of(self, scheme: str) -> list[DomainId]:
        """The keyed domains of one scheme, in order."""
        return sorted(d for d, s in self.keyed_schemes().items() if s == scheme)

    # ---- blame --------------------------------------------------------------------------------------------------
    def note(self, peer: ParticipantId, what: str) -> None:
        counts = self.misbehaviour.setdefault(peer, {})
        counts[what] = counts.get(what, 0) + 1

    def exclude(self, peer: ParticipantId) -> None:
        """Leave `peer` out of new signing sets for BLAME_S seconds."""
        self.blamed[peer] = time.monotonic() + BLAME_S

    def blame(self, exc: Exception, what: str) -> None:
        """Log a failed protocol run; a culprit it names is excluded for a while."""
        self.metrics["protocol_errors"] += 1
        culprit = getattr(exc, "culprit", None)
        if culprit is not None:
            self.metrics["culprits_named"] += 1
            self.exclude(ParticipantId(culprit))
            self.note(ParticipantId(culprit), "culprit")
            account = self.participants.get(ParticipantId(culprit))
            log.warning(f"{what} failed; participant {culprit} misbehaved",
                        extra={"culprit": culprit, "culprit_account": account.account_id if account else None,
                               "error": str(exc)})
        else:
            log.warning(f"{what} failed", extra={"error": str(exc),
                                                 "waiting_for": sorted(getattr(exc, "waiting_for", set()))})

    def misbehaviour_report(self) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        dropped = self.net.dropped_messages if self.net is not None else {}
        report: dict[str, dict[str, Any]] = {}
        for pid in sorted(set(self.misbehaviour) | set(dropped) | {p for p, t in self.blamed.items() if t > now}):
            info = self.participants.get(pid)
            report[str(pid)] = {"account_id": info.account_id if info else None, **self.misbehaviour.get(pid, {}),
                                "messages_dropped": dropped.get(pid, 0),
                                "excluded_for_s": round(max(0.0, self.blamed.get(pid, 0.0) - now), 1)}
        return report

    # ---- messaging ----------------------------------------------------------------------------------------------
    async def send_control(self, to: Sequence[ParticipantId] | set[ParticipantId], message: ControlMessage) -> None:
        assert self.net is not None
        data = encode_control(message)
        for p in to:
            if p != self.me:
                await self.net.send(p, CONTROL, data)

    async def await_seen(self, instance_id: RequestId) -> PendingRequest:
        """This node's own indexed copy of the request instance, waiting (≤ SEEN_WAIT_S) for its indexer."""
        deadline = time.monotonic() + SEEN_WAIT_S
        if instance_id not in self.seen:
            self.indexer.poke()  # the leader saw a block this node may not have asked for yet
        while instance_id not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TaskRefused(f"request {instance_id.hex()[:16]} was never seen on chain by this node")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.new_requests.wait(), min(remaining, 0.5))
        return self.seen[instance_id]

    def requests_arrived(self, catching_up: bool) -> None:
        """The indexer delivered requests: wake followers waiting for them."""
        if not catching_up:
            self.last_request_at = time.monotonic()
        self.new_requests.set()
        self.new_requests = asyncio.Event()
