"""One MPC node: indexer → request queue → protocols → responder, plus the coordinator and the asset pools.

Stages and tasks (all in one asyncio loop):
* `Indexer.run`       blocks → `BlockUpdate`s (sign requests with their block entropy, respond hints);
* `_follow_updates`   feeds the `RequestQueue` and the table of requests this node has *seen on chain*;
* `_coordinate`       follows the contract's `state`: participants/threshold (→ the peer mesh), keygen (the leader
                      starts each attempt with `start_keygen_instance`; → DKG, `vote_pk`), keyed domains (→ key shares
                      loaded from the encrypted store);
* `_serve_queue`      starts the requests this node leads (leader = reference hash order over live participants);
* `_control_loop`     followers: starts the protocol instances a leader asks for — a follower signs only requests
                      its own indexer has seen, with its own view of the payload, tweak and entropy;
* `_pools`            owner-led background generation of triples and presignatures (ECDSA) into SQLite.
A failed request never kills a loop; protocol errors naming a culprit are logged with the culprit and the culprit is
left out of new signing sets for `BLAME_S` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import random
import secrets
import statistics
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import base58

from mpc_service import codec
from mpc_service.assets import AssetId, AssetInfo, AssetKind, AssetNotFound, AssetStore, new_asset_id
from mpc_service.chain.events import SignRequest
from mpc_service.chain.indexer import BlockUpdate, Indexer
from mpc_service.chain.rpc import ChainError, JsonRpc
from mpc_service.checks import TaskRefused, check_asset, check_sign_task, check_signing_set
from mpc_service.config import NodeConfig
from mpc_service.control import (
    ControlMessage,
    ControlMessageError,
    EcdsaSignRequest,
    FrostSignRequest,
    HeightReport,
    PresignRequest,
    ResharePackage,
    TriplesRequest,
    decode_control,
    encode_control,
)
from mpc_service.errors import MpcError
from mpc_service.keys import AccountKey, load_near_key_file, load_storage_secret
from mpc_service.network import Peer, PeerNetwork
from mpc_service.protocol import (
    ED25519,
    SECP256K1,
    EcdsaSignature,
    HonestMajorityTripleGenerator,
    KeygenOutput,
    ProtocolError,
    PublicKeyPackage,
    ecdsa_sign,
    frost_sign,
    keygen,
    presign,
    reshare,
)
from mpc_service.protocol import ParticipantId as PPid
from mpc_service.queue import RequestQueue
from mpc_service.responder import Responder
from mpc_service.runner import ProtocolTimeout, run_protocol
from mpc_service.status import StatusServer
from mpc_service.types import ChannelId, DomainId, ParticipantId, RequestId

__all__ = ["MpcNode", "NodeStartError"]

log = logging.getLogger("mpc_service.node")

CONTROL = ChannelId(b"\x00control")
BLAME_S = 60.0
KEYGEN_TIMEOUT_S = 120.0
PROTOCOL_TIMEOUT_S = 10.0
SIGN_TIMEOUT_S = 5.0
SEEN_WAIT_S = 10.0
TRIPLE_BATCH = 8
FOLLOWER_TASKS_PER_PEER = 32  # protocol instances one peer may have this node run for it at once
ASSET_CAP_FACTOR = 4  # a peer may own at most this × the pool target of triples (presignatures per domain) here
BUSY_BLOCKS = 30  # pool pacing: requests younger than this with no respond seen mean "signing in progress"
QUIET_S = 2.0  # pool pacing: and so does a request seen less than this long ago
LIVE_LAG_BLOCKS = 10  # a linked peer is live while its indexer is at most this many blocks behind ours (reference)
HEIGHT_REPORT_S = 1.0  # how often a node tells its peers its indexer height
HEIGHT_STALE_S = 5.0  # a report older than this does not count
MAX_SESSION_CHARS = 128


class NodeStartError(MpcError):
    """The node cannot start (bad key files, unusable data directory)."""


class NoPresignature(MpcError):
    """No presignature of this leader fits the live participants."""


@dataclass(frozen=True)
class ParticipantInfo:
    participant_id: ParticipantId
    account_id: str
    host: str
    port: int
    tls_public_key: bytes


def _channel(kind: str, *parts: str) -> ChannelId:
    return ChannelId(kind.encode()[:8] + b":" + hashlib.sha256("|".join(parts).encode()).digest()[:20])


def public_key_string(group_name: str, point: bytes) -> str:
    """The contract's key string: secp256k1:<base58 X‖Y> / ed25519:<base58 point>."""
    if group_name == SECP256K1.name:
        import coincurve

        return "secp256k1:" + base58.b58encode(coincurve.PublicKey(point).format(compressed=False)[1:]).decode()
    return "ed25519:" + base58.b58encode(point).decode()


def ecdsa_response(sig: EcdsaSignature) -> dict[str, Any]:
    """The contract's secp256k1 response. After low-s normalization the effective nonce point is −R; send the point
    whose y parity equals the recovery id (same r, so the same signature), as strict verifiers expect."""
    response = sig.to_contract_json()
    if sig.big_r[0] - 2 != sig.recovery_id:
        response["big_r"] = {"affine_point": SECP256K1.neg(sig.big_r).hex().upper()}
    return response


def _participant_infos(participants: dict[str, Any]) -> dict[ParticipantId, ParticipantInfo]:
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


class MpcNode:
    """A running node; `await start()`, then `await wait()` or `await stop()`."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        try:
            self._p2p = load_near_key_file(config.p2p_key_file)
            storage_secret = load_storage_secret(config.storage_secret_file)
            account_keys = [load_near_key_file(p) for p in config.responder.access_key_files] or [self._p2p]
        except MpcError as exc:
            raise NodeStartError(str(exc)) from None
        try:
            config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(config.data_dir, 0o700)  # the storage secret's ciphertexts and the node's state live here
            self.store = AssetStore(config.data_dir / "assets.sqlite", storage_secret)
        except (OSError, MpcError) as exc:
            raise NodeStartError(f"data_dir {config.data_dir}: {exc}") from None
        self.account_id = config.account_id
        self.contract_id = config.chain.contract_id
        self.rpc = JsonRpc(config.chain.rpc_url)
        self.indexer = Indexer(self.rpc, self.contract_id, config.data_dir / "indexer.sqlite",
                               start_height=config.chain.start_height, poll_interval_s=config.chain.poll_interval_s,
                               rescan_blocks=config.queue.expiry_blocks)
        self.responder = Responder(config.chain.rpc_url, self.account_id, self.contract_id,
                                   [k.key_pair for k in account_keys if isinstance(k, AccountKey)],
                                   gas_tgas=config.responder.gas_tgas, max_attempts=config.responder.max_attempts)
        self.status = StatusServer(self.snapshot, config.status.listen_host, config.status.listen_port,
                                   config.data_dir / "status_addr")
        self.rng = secrets.SystemRandom()
        self.net: PeerNetwork | None = None
        self.me: ParticipantId | None = None
        self.threshold = 0
        self.participants: dict[ParticipantId, ParticipantInfo] = {}  # the running epoch's
        self.proposed: dict[ParticipantId, ParticipantInfo] = {}  # while Resharing: the proposal's
        self.epoch: int | None = None
        self.public_keys: dict[DomainId, str] = {}  # the contract's key per keyed domain
        self._packages: dict[str, bytes] = {}  # resharing: public key packages dealers sent, by session
        self.protocol_state = "unknown"
        self.domains: dict[DomainId, str] = {}  # domain -> scheme, for keyed domains
        self.keyshares: dict[DomainId, KeygenOutput] = {}
        self.queue: RequestQueue | None = None
        self.seen: dict[RequestId, SignRequest] = {}  # by instance id: this node's own copy of each request
        self.blamed: dict[ParticipantId, float] = {}
        self.misbehaviour: dict[ParticipantId, dict[str, int]] = {}  # per peer: culprit / refused / malformed counts
        self._following: dict[ParticipantId, int] = {}  # follower tasks in flight per leader
        self.peer_heights: dict[ParticipantId, tuple[int, float]] = {}  # indexer height reported, when received
        self._keygen_tasks: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._children: set[asyncio.Task[Any]] = set()
        self._wake = asyncio.Event()
        self._new_requests = asyncio.Event()
        self._last_request_at = 0.0
        self._stopped = asyncio.Event()
        self.metrics: dict[str, int] = {"requests_seen": 0, "requests_served": 0, "requests_failed": 0,
                                        "requests_dropped": 0, "requests_completed_elsewhere": 0,
                                        "respond_rejected": 0, "protocol_errors": 0, "triples_generated": 0,
                                        "presignatures_generated": 0, "culprits_named": 0, "tasks_refused": 0}
        self.latencies_ms: list[float] = []
        self.latencies_blocks: list[int] = []
        self.started_at = time.monotonic()

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.status.start()
        self._tasks = [asyncio.create_task(coro, name=name) for name, coro in (
            ("indexer", self.indexer.run()), ("updates", self._follow_updates()), ("coordinator", self._coordinate()),
            ("queue", self._serve_queue()), ("control", self._control_loop()), ("pools", self._pools()),
            ("heights", self._report_height()),
        )]
        for task in self._tasks:
            task.add_done_callback(self._task_died)
        log.info("node started", extra={"account": self.account_id, "status": self.status.url})

    def _task_died(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("node task crashed", extra={"task": task.get_name(), "error": repr(task.exception())})
            self._stopped.set()

    async def wait(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        """Cancel every task, close the mesh, the status server, the RPC sessions and the stores."""
        self._stopped.set()
        for task in [*self._tasks, *self._children, *self._keygen_tasks.values()]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._children, *self._keygen_tasks.values(), return_exceptions=True)
        if self.net is not None:
            await self.net.close()
        await self.status.stop()
        await self.responder.close()
        await self.rpc.close()
        self.indexer.close()
        self.store.close()
        log.info("node stopped")

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._children.add(task)
        task.add_done_callback(self._child_done)

    def _child_done(self, task: asyncio.Task[Any]) -> None:
        self._children.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("node task failed", extra={"task": task.get_name(), "error": repr(task.exception())})

    # ---- status ---------------------------------------------------------------------------------------------------
    def _live(self) -> set[ParticipantId]:
        """This node and every peer with an authenticated link whose indexer (as it reported in the last
        HEIGHT_STALE_S) is at most LIVE_LAG_BLOCKS behind ours — as in the reference, a peer far behind the chain
        cannot follow requests it has not seen."""
        if self.me is None or self.net is None:
            return set()
        now, mine = time.monotonic(), self.indexer.processed_height
        return {self.me, *(p for p in self.net.connected() if (report := self.peer_heights.get(p)) is not None
                           and p in self.participants  # a node named in a proposal signs only from its epoch on
                           and now - report[1] <= HEIGHT_STALE_S and report[0] >= mine - LIVE_LAG_BLOCKS)}

    async def _report_height(self) -> None:
        while True:
            await asyncio.sleep(HEIGHT_REPORT_S)
            if self.net is not None and self.me is not None:
                peers = {*self.participants, *self.proposed}
                await self._send_control(list(peers), HeightReport(self.indexer.processed_height))

    def _eligible(self) -> set[ParticipantId]:
        now = time.monotonic()
        return {p for p in self._live() if self.blamed.get(p, 0.0) < now}

    def snapshot(self) -> dict[str, Any]:
        me = self.me if self.me is not None else -1
        lat = sorted(self.latencies_ms)
        return {
            "account_id": self.account_id, "participant_id": me, "protocol_state": self.protocol_state,
            "threshold": self.threshold, "domains": {str(d): s for d, s in self.domains.items()},
            "keyshares": sorted(int(d) for d in self.keyshares),
            "height": {"processed": self.indexer.processed_height, "latest": self.indexer.latest_height},
            "peers_connected": len(self.net.connected()) if self.net is not None else 0,
            "peers_live": len(self._live()) - 1 if self._live() else 0,
            "peers": {str(p): {"connected": self.net is not None and p in self.net.connected(),
                               "height": self.peer_heights[p][0] if p in self.peer_heights else None,
                               "live": p in self._live()} for p in self.participants if p != self.me},
            "requests": {**self.metrics, "pending": len(self.queue) if self.queue else 0},
            "pools": {"triples": self.store.count(AssetKind.TRIPLE),
                      "presignatures": self.store.count(AssetKind.PRESIGNATURE),
                      "triples_owned": self.store.count(AssetKind.TRIPLE, me),
                      "presignatures_owned": min((self.store.count(AssetKind.PRESIGNATURE, me, d)
                                                  for d in self._ecdsa_domains()), default=0),
                      "presignatures_owned_by_domain": {str(d): self.store.count(AssetKind.PRESIGNATURE, me, d)
                                                        for d in self._ecdsa_domains()}},
            "misbehaviour": self._misbehaviour_report(),
            "latency_ms": {"p50": lat[len(lat) // 2] if lat else 0.0,
                           "p95": lat[min(len(lat) - 1, int(len(lat) * 0.95))] if lat else 0.0,
                           "mean": statistics.fmean(lat) if lat else 0.0, "count": len(lat)},
            "responder": {"submitted": self.responder.submitted, "failed": self.responder.failed},
            "uptime_s": round(time.monotonic() - self.started_at, 1),
        }

    def _misbehaviour_report(self) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        dropped = self.net.dropped_messages if self.net is not None else {}
        report: dict[str, dict[str, Any]] = {}
        for pid in sorted(set(self.misbehaviour) | set(dropped) | {p for p, t in self.blamed.items() if t > now}):
            info = self.participants.get(pid)
            report[str(pid)] = {"account_id": info.account_id if info else None, **self.misbehaviour.get(pid, {}),
                                "messages_dropped": dropped.get(pid, 0),
                                "excluded_for_s": round(max(0.0, self.blamed.get(pid, 0.0) - now), 1)}
        return report

    def _note(self, peer: ParticipantId, what: str) -> None:
        counts = self.misbehaviour.setdefault(peer, {})
        counts[what] = counts.get(what, 0) + 1

    # ---- indexer → queue ----------------------------------------------------------------------------------------
    async def _follow_updates(self) -> None:
        while True:
            update: BlockUpdate = await self.indexer.updates.get()
            queue = self.queue
            for req in update.requests:
                self.seen[req.instance_id] = req
                self.metrics["requests_seen"] += 1
                if queue is not None and queue.add(req):
                    log.info("sign request seen", extra={"request": req.request_id.hex()[:16], "height": req.block_height,
                                                         "domain": req.domain_id, "caller": req.caller})
            if queue is not None:
                for rid in update.responded:
                    if not update.catching_up:
                        queue.mark_responded(rid)
                for dropped in queue.update_height(update.height):
                    self.metrics["requests_dropped"] += 1
                    log.info("request left the queue after expiry_blocks (answered elsewhere or timed out)",
                             extra={"request": dropped.request.request_id.hex()[:16]})
            horizon = update.height - 2 * self.config.queue.expiry_blocks
            if len(self.seen) > 10_000:
                self.seen = {k: v for k, v in self.seen.items() if v.block_height >= horizon}
            if update.requests:
                if not update.catching_up:
                    self._last_request_at = time.monotonic()
                self._wake.set()
                self._new_requests.set()  # wakes followers waiting for these requests
                self._new_requests = asyncio.Event()

    # ---- coordinator ------------------------------------------------------------------------------------------------
    async def _coordinate(self) -> None:
        while True:
            try:
                state = await self.rpc.view(self.contract_id, "state", {})
                await self._apply_state(state)
            except ChainError as exc:
                log.warning("cannot read contract state", extra={"error": str(exc)[:300]})
                await asyncio.sleep(2.0)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("unexpected contract state shape", extra={"error": repr(exc)})
            await asyncio.sleep(1.0 if self.protocol_state == "Running" and self.keyshares else 0.3)

    async def _apply_state(self, state: dict[str, Any]) -> None:
        self.protocol_state = state["protocol_state"]
        self.threshold = int(state["threshold"])
        infos = _participant_infos(state["participants"])
        proposal = state.get("proposal") if self.protocol_state == "Resharing" else None
        proposed = _participant_infos(proposal["participants"]) if proposal else {}
        mine = [p for p in (*infos.values(), *proposed.values()) if p.account_id == self.account_id]
        epoch = int(state.get("epoch", 0))
        if not mine:
            if self.me is not None and self.keyshares:
                self._leave(epoch)
            elif self.me is None:
                log.warning("this account is not a participant of the contract; waiting")
            return
        if mine[0].tls_public_key != self._p2p.key_pair.public_key:
            raise ValueError("the contract's tls_public_key for this account is not this node's p2p key")
        if self.me is None:
            self.me = mine[0].participant_id
            self.queue = RequestQueue(self.me, self.config.queue)
            for req in self.seen.values():
                self.queue.add(req)
        self.participants = infos
        self.proposed = proposed
        # Nodes named in a proposal join the mesh as soon as it is on chain (they take part in the resharing).
        everyone = {**infos, **proposed}
        peers = [Peer(p.participant_id, p.host, p.port, p.tls_public_key) for p in everyone.values()]
        if self.net is None:
            port = self.config.network.listen_port or mine[0].port
            self.net = PeerNetwork(self.me, self._p2p.key_pair, peers, host=self.config.network.listen_host, port=port,
                                   max_frame_bytes=self.config.network.max_frame_bytes,
                                   keepalive_s=self.config.network.keepalive_s)
            await self.net.start()
            self._spawn(self._drain_new_channels(), "drain-channels")
        else:
            self.net.update_peers(peers)
        if self.epoch is not None and epoch != self.epoch:
            self._new_epoch(epoch, self.me in infos)
        self.epoch = epoch
        for domain in state.get("domains", []):
            did = DomainId(int(domain["id"]))
            if did in self.keyshares or not domain.get("public_key") or self.me not in infos:
                continue
            self.domains[did] = domain["scheme"]
            self.public_keys[did] = domain["public_key"]
            try:
                _, share = self.store.key_share(did, epoch)
            except AssetNotFound:
                log.error("no key share for a keyed domain; cannot sign for it", extra={"domain": did})
                continue
            out = codec.decode_keygen(share.expose())
            if public_key_string(out.group.name, out.public_key) != domain["public_key"]:
                log.error("stored key share does not match the contract's public key", extra={"domain": did})
                continue
            self.keyshares[did] = out
            log.info("key share loaded", extra={"domain": did, "scheme": domain["scheme"], "epoch": epoch})
        for domain in state.get("domains", []):
            if domain.get("public_key"):
                self.public_keys[DomainId(int(domain["id"]))] = domain["public_key"]
        gen = state.get("generating_key")
        if gen is not None:
            kid = gen["key_event_id"]
            if kid is None:  # no attempt running (none started yet, or it timed out / was aborted)
                if gen["leader"] == self.account_id:
                    self._start_key_event("start_keygen_instance", gen)
                return
            tag = json.dumps(kid, sort_keys=True)
            task = self._keygen_tasks.get(tag)
            if self.account_id not in gen.get("votes", {}) and (task is None or task.done()):
                self._keygen_tasks[tag] = asyncio.create_task(self._keygen(kid, gen["scheme"], epoch, sorted(infos)))
        event = state.get("resharing_key")
        if proposal is not None and event is not None:
            self._follow_resharing(event, infos, proposed, int(proposal["threshold"]),
                                   int(state["prospective_epoch_id"]))

    # ---- resharing ----------------------------------------------------------------------------------------------
    def _follow_resharing(self, event: dict[str, Any], old: dict[ParticipantId, ParticipantInfo],
                          new: dict[ParticipantId, ParticipantInfo], new_threshold: int, new_epoch: int) -> None:
        """Drive this node's part of the current domain's reshare attempt: the leader starts attempts; continuing
        participants deal their share, joiners receive; every new participant votes `vote_reshared` when done."""
        kid = event["key_event_id"]
        if kid is None:
            if event["leader"] == self.account_id:
                self._start_key_event("start_reshare_instance", event)
            return
        assert self.me is not None
        dealers = sorted(set(old) & set(new))
        if self.me not in new or self.account_id in (event.get("instance") or {}).get("completed", []):
            return  # leaving nodes take no part; a done vote needs nothing more
        tag = "reshare|" + json.dumps(kid, sort_keys=True)
        task = self._keygen_tasks.get(tag)
        if task is None:
            self._keygen_tasks[tag] = asyncio.create_task(self._reshare(
                kid, tag, DomainId(int(event["domain_id"])), dealers, sorted(new), new_threshold, new_epoch))

    async def _reshare(self, kid: dict[str, Any], tag: str, domain: DomainId, dealers: list[ParticipantId],
                       new: list[ParticipantId], new_threshold: int, new_epoch: int) -> None:
        assert self.net is not None and self.me is not None
        try:
            old_share = self.keyshares.get(domain) if self.me in dealers else None
            if self.me in dealers:
                if old_share is None:
                    raise MpcError(f"dealer without a key share for domain {domain}")
                package = PublicKeyPackage.from_keygen(old_share)
                joiners = [p for p in new if p not in dealers]
                await self.net.wait_connected([*dealers, *new], timeout_s=KEYGEN_TIMEOUT_S)
                await self._send_control(joiners, ResharePackage(tag[-MAX_SESSION_CHARS:],
                                                                 codec.encode_public_package(package)))
            else:
                package = await self._await_package(tag[-MAX_SESSION_CHARS:], domain)
            log.info("resharing starting", extra={"domain": domain, "key_event_id": kid, "dealers": dealers,
                                                  "new_participants": new, "new_threshold": new_threshold})
            inst = reshare(package, dealers, new, new_threshold, PPid(self.me),
                           hashlib.sha256(b"reshare|" + tag.encode() + b"|" + self.contract_id.encode()).digest(),
                           self.rng, old_share=old_share)
            out = await run_protocol(self.net, _channel("reshare", tag), inst, timeout_s=KEYGEN_TIMEOUT_S)
            if out.key is None or out.public.public_key != package.public_key:
                raise MpcError("resharing produced no share under the unchanged key")
            self.store.put_key_share(domain, new_epoch, codec.encode_keygen(out.key))
            log.info("resharing done; voting", extra={"domain": domain, "key_event_id": kid, "epoch": new_epoch})
            while True:
                outcome = await self.responder.call("vote_reshared", {"key_event_id": kid})
                if outcome.ok:
                    return
                log.error("vote_reshared rejected", extra={"domain": domain, "detail": outcome.detail})
                if "no active key event" in str(outcome.detail).lower():
                    return  # the attempt ended (timeout/abort): the coordinator follows the next one
                await asyncio.sleep(2.0)
        except (ProtocolError, ProtocolTimeout, MpcError) as exc:
            self._blame(exc, f"resharing of domain {domain}")
            with contextlib.suppress(Exception):
                await self.responder.call("vote_abort_key_event_instance", {"key_event_id": kid})

    async def _await_package(self, session: str, domain: DomainId) -> PublicKeyPackage:
        """A joiner's copy of the current key's public package, from a dealer (the echo round then makes every
        participant confirm the same one); its key must be the contract's key for the domain."""
        deadline = time.monotonic() + KEYGEN_TIMEOUT_S
        while (data := self._packages.get(session)) is None:
            if time.monotonic() > deadline:
                raise MpcError("no dealer sent the key's public package")
            await asyncio.sleep(0.05)
        package = codec.decode_public_package(data)
        if public_key_string(package.group.name, package.public_key) != self.public_keys.get(domain):
            raise MpcError(f"the public package a dealer sent is not the contract's key for domain {domain}")
        return package

    def _new_epoch(self, epoch: int, participant: bool) -> None:
        """A resharing completed: shares of the new epoch replace the old ones; assets made with the old shares or
        participant set are retired (the pools refill at once)."""
        log.info("new epoch", extra={"epoch": epoch, "previous": self.epoch, "participant": participant})
        self.keyshares.clear()
        self.blamed.clear()
        for kind in AssetKind:
            self.store.discard_all(kind)
        if not participant:
            self._leave(epoch)

    def _leave(self, epoch: int) -> None:
        """This node is no longer a participant: delete its key shares and assets."""
        removed = self.store.delete_key_shares()
        for kind in AssetKind:
            self.store.discard_all(kind)
        self.keyshares.clear()
        log.info("left the participant set; key shares and assets deleted", extra={"epoch": epoch,
                                                                                  "key_shares": removed})

    def _start_key_event(self, method: str, event: dict[str, Any]) -> None:
        """As the leader, start the contract's next keygen or reshare attempt (`method`)."""
        kid = {"epoch_id": event["epoch_id"], "domain_id": event["domain_id"], "attempt_id": event["next_attempt_id"]}
        tag = "start|" + json.dumps(kid, sort_keys=True)
        task = self._keygen_tasks.get(tag)
        if task is None or task.done():
            self._keygen_tasks[tag] = asyncio.create_task(self._call_start(method, kid))

    async def _call_start(self, method: str, kid: dict[str, Any]) -> None:
        outcome = await self.responder.call(method, {"key_event_id": kid})
        if outcome.ok:
            log.info("key event attempt started", extra={"method": method, "key_event_id": kid})
        else:
            log.warning(f"{method} rejected", extra={"key_event_id": kid, "detail": outcome.detail})
            await asyncio.sleep(2.0)  # the coordinator tries again after this

    async def _drain_new_channels(self) -> None:
        assert self.net is not None
        while True:
            await self.net.new_channels.get()

    async def _keygen(self, kid: dict[str, Any], scheme: str, epoch: int, participants: list[ParticipantId]) -> None:
        """This node's part of one keygen attempt: the DKG on the attempt's own channel, the share stored with the
        attempt, `vote_pk`. A share stored by an earlier attempt is not reused (the others hold shares of the new
        attempt's key); a failed DKG votes to abort the attempt so the leader starts the next one."""
        assert self.net is not None and self.me is not None
        domain = DomainId(int(kid["domain_id"]))
        group = SECP256K1 if scheme == "Secp256k1" else ED25519
        attempt = json.dumps(kid, sort_keys=True)
        try:
            if self.store.key_share_attempt(domain, epoch) == attempt:
                _, share = self.store.key_share(domain, epoch)
                out = codec.decode_keygen(share.expose())
                log.info("keygen already done for this attempt; voting again", extra={"domain": domain})
            else:
                await self.net.wait_connected(participants, timeout_s=KEYGEN_TIMEOUT_S)
                tag = attempt + "|" + self.contract_id
                log.info("keygen starting", extra={"domain": domain, "scheme": scheme, "participants": participants,
                                                   "key_event_id": kid})
                inst = keygen(group, participants, PPid(self.me), self.threshold,
                              hashlib.sha256(b"keygen|" + tag.encode()).digest(), self.rng)
                out = await run_protocol(self.net, _channel("keygen", tag), inst, timeout_s=KEYGEN_TIMEOUT_S)
                self.store.put_key_share(domain, epoch, codec.encode_keygen(out), attempt=attempt)
            public_key = public_key_string(out.group.name, out.public_key)
            log.info("keygen done; voting", extra={"domain": domain, "public_key": public_key})
            outcome = await self.responder.call("vote_pk", {"key_event_id": kid, "public_key": public_key})
            if not outcome.ok:
                log.error("vote_pk rejected", extra={"domain": domain, "detail": outcome.detail})
                await asyncio.sleep(5.0)  # the coordinator retries the vote after this
        except (ProtocolError, ProtocolTimeout, MpcError) as exc:
            self._blame(exc, "keygen")
            with contextlib.suppress(MpcError):
                await self.responder.call("vote_abort_key_event_instance", {"key_event_id": kid})

    # ---- blame ------------------------------------------------------------------------------------------------------
    def _blame(self, exc: Exception, what: str) -> None:
        self.metrics["protocol_errors"] += 1
        culprit = getattr(exc, "culprit", None)
        if culprit is not None:
            self.metrics["culprits_named"] += 1
            self.blamed[ParticipantId(culprit)] = time.monotonic() + BLAME_S
            self._note(ParticipantId(culprit), "culprit")
            account = self.participants.get(ParticipantId(culprit))
            log.warning(f"{what} failed; participant {culprit} misbehaved",
                        extra={"culprit": culprit, "culprit_account": account.account_id if account else None,
                               "error": str(exc)})
        else:
            log.warning(f"{what} failed", extra={"error": str(exc),
                                                 "waiting_for": sorted(getattr(exc, "waiting_for", set()))})

    # ---- control channel ------------------------------------------------------------------------------------------
    async def _send_control(self, to: Sequence[ParticipantId] | set[ParticipantId], message: ControlMessage) -> None:
        assert self.net is not None
        data = encode_control(message)
        for p in to:
            if p != self.me:
                await self.net.send(p, CONTROL, data)

    async def _control_loop(self) -> None:
        while self.net is None:
            await asyncio.sleep(0.05)
        inbox = self.net.inbox(CONTROL)
        while True:
            sender, data = await inbox.recv()
            try:
                message = decode_control(data)
            except ControlMessageError as exc:
                self._note(sender, "malformed_messages")
                self.blamed[sender] = time.monotonic() + BLAME_S  # left out of new signing sets for a while
                log.warning(f"participant {sender} sent a malformed control message",
                            extra={"culprit": sender, "error": str(exc)})
                continue
            if isinstance(message, HeightReport):
                self.peer_heights[sender] = (message.height, time.monotonic())
                continue
            if isinstance(message, ResharePackage):
                if sender in self.participants and len(self._packages) < 64:
                    self._packages.setdefault(message.session, message.package)
                continue
            if self._following.get(sender, 0) >= FOLLOWER_TASKS_PER_PEER:
                self._note(sender, "tasks_over_limit")
                log.warning(f"participant {sender} has too many tasks running here; refused",
                            extra={"peer": sender, "kind": message.kind})
                continue
            self._following[sender] = self._following.get(sender, 0) + 1
            self._spawn(self._follow(sender, message), f"follow-{message.kind}")

    async def _follow(self, sender: ParticipantId, message: ControlMessage) -> None:
        what = f"{message.kind} (follower of {sender})"
        try:
            if isinstance(message, TriplesRequest):
                await self._follow_triples(sender, message)
            elif isinstance(message, PresignRequest):
                await self._follow_presign(sender, message)
            elif isinstance(message, EcdsaSignRequest):
                await self._follow_sign(sender, message)
            elif isinstance(message, FrostSignRequest):
                await self._follow_frost(sender, message)
        except TaskRefused as exc:
            self.metrics["tasks_refused"] += 1
            self._note(sender, "tasks_refused")
            log.warning(f"{what} refused: {exc}", extra={"peer": sender})
        except (ProtocolError, ProtocolTimeout) as exc:
            self._blame(exc, what)
        except MpcError as exc:
            log.warning(f"{what} failed", extra={"error": repr(exc)})
        finally:
            self._following[sender] -= 1

    def _keyed_schemes(self) -> dict[DomainId, str]:
        """Domains this node holds a key share for, with their scheme."""
        return {d: ("Secp256k1" if out.group is SECP256K1 else "Ed25519") for d, out in self.keyshares.items()}

    def _ecdsa_domains(self) -> list[DomainId]:
        """Every secp256k1 domain with a key share: each has its own presignature pool."""
        return sorted(d for d, out in self.keyshares.items() if out.group is SECP256K1)

    def _make_room(self, kind: AssetKind, owner: ParticipantId, adding: int, domain_id: DomainId | None) -> None:
        """Bound what one peer's requests can make this node store: at most ASSET_CAP_FACTOR × the pool target of
        its assets (per domain for presignatures). An owner asks for more only when its own pool is low, so what
        exceeds the cap here is stale (used or dropped by the owner while this node was away): the oldest go."""
        target = (self.config.pools.triples_target if kind is AssetKind.TRIPLE
                  else self.config.pools.presignatures_target)
        cap = ASSET_CAP_FACTOR * max(target, TRIPLE_BATCH)
        excess = self.store.count(kind, owner, domain_id) + adding - cap
        if excess > 0:
            dropped = self.store.discard_oldest(kind, owner, excess, domain_id)
            log.info(f"dropped {dropped} stale {kind.value}s of participant {owner} to stay under {cap}",
                     extra={"peer": owner, "domain": domain_id})

    # ---- pools: triples and presignatures ----------------------------------------------------------------------
    def _signing_busy(self) -> bool:
        """Pool pacing: sign requests from the last BUSY_BLOCKS blocks still await their `respond`, or one arrived
        less than QUIET_S ago (generation running when the next one lands delays its signing by blocks)."""
        if time.monotonic() - self._last_request_at < QUIET_S:
            return True
        return self.queue is not None and self.queue.busy(BUSY_BLOCKS) > 0

    async def _pools(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            domains = self._ecdsa_domains()
            if not domains or self.me is None or self.net is None:
                continue
            live = sorted(self._eligible())
            t = self.threshold
            try:
                # Only presignatures whose signing set is live count: after nodes fail, fresh ones are made for
                # the survivors from the stored triples (which any t of the triple's participants can use).
                target = self.config.pools.presignatures_target
                usable, owned = {}, {}
                for d in domains:
                    mine = self.store.available(AssetKind.PRESIGNATURE, self.me, d)
                    owned[d] = len(mine)
                    usable[d] = sum(1 for a in mine if set(a.participants) <= set(live))
                domain = min(domains, key=lambda d: usable[d])  # the emptiest pool is filled first
                if self._signing_busy() and usable[domain] >= max(2, target // 4):
                    continue  # requests in flight: leave the CPU to them, refill afterwards
                mine_tri = self.store.available(AssetKind.TRIPLE, self.me)
                if (usable[domain] < target and owned[domain] < 4 * target and len(mine_tri) >= 2
                        and len(live) >= t):
                    await self._lead_presign(domain, mine_tri, live)
                elif len(mine_tri) < self.config.pools.triples_target and len(live) >= 2 * t - 1:
                    await self._lead_triples(live)
            except (ProtocolError, ProtocolTimeout) as exc:
                self._blame(exc, "asset generation")
                await asyncio.sleep(1.0)
            except MpcError as exc:
                log.warning("asset generation failed", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)

    async def _lead_triples(self, live: list[ParticipantId]) -> None:
        assert self.me is not None and self.net is not None
        message = TriplesRequest(new_asset_id(self.me), tuple(live), TRIPLE_BATCH)
        await self._send_control(live, message)
        await self._run_triples(self.me, message)

    async def _follow_triples(self, sender: ParticipantId, msg: TriplesRequest) -> None:
        assert self.me is not None
        if not msg.batch.startswith(f"{sender}-"):
            raise TaskRefused("a triple batch id must start with its owner's id")
        check_signing_set(msg.participants, sender=sender, me=self.me, eligible=self.participants,
                          threshold=2 * self.threshold - 1)
        if msg.count > TRIPLE_BATCH:
            raise TaskRefused(f"at most {TRIPLE_BATCH} triples per batch")
        self._make_room(AssetKind.TRIPLE, sender, msg.count, None)
        await self._run_triples(sender, msg)

    async def _run_triples(self, owner: ParticipantId, msg: TriplesRequest) -> None:
        assert self.me is not None and self.net is not None
        ps = list(msg.participants)
        inst = HonestMajorityTripleGenerator().generate(ps, PPid(self.me), self.threshold,
                                                        hashlib.sha256(b"triples|" + msg.batch.encode()).digest(),
                                                        msg.count, self.rng)
        triples = await run_protocol(self.net, _channel("triples", msg.batch), inst, timeout_s=PROTOCOL_TIMEOUT_S * 3)
        self.store.put_many(AssetKind.TRIPLE, owner, [(AssetId(f"{msg.batch}-{i}"), codec.encode_triple(t))
                                                      for i, t in enumerate(triples)], participants=ps)
        if owner == self.me:
            self.metrics["triples_generated"] += len(triples)

    async def _lead_presign(self, domain: DomainId, mine_tri: list[AssetInfo], live: list[ParticipantId]) -> None:
        assert self.me is not None
        t0, t1 = mine_tri[0], mine_tri[1]
        allowed = set(t0.participants) & set(t1.participants) & set(live)
        others = sorted(allowed - {self.me})
        if len(others) < self.threshold - 1:
            # These triples cannot be used with who is live now; drop them so fresh ones are made.
            if len(set(live)) >= 2 * self.threshold - 1:
                for info in (t0, t1):
                    self.store.take_owned(AssetKind.TRIPLE, info.id)
            return
        ps = tuple(sorted([self.me, *random.sample(others, self.threshold - 1)]))
        message = PresignRequest(new_asset_id(self.me), domain, ps, (t0.id, t1.id))
        everyone = sorted(set(t0.participants) & set(live))  # all holders of the triples: the others discard them
        await self._send_control(everyone, message)
        await self._run_presign(self.me, message)

    async def _follow_presign(self, sender: ParticipantId, msg: PresignRequest) -> None:
        assert self.me is not None
        if not all(x.startswith(f"{sender}-") for x in (msg.presignature, *msg.triples)):
            raise TaskRefused("presignature and triple ids must start with their owner's id")
        if self._keyed_schemes().get(msg.domain_id) != "Secp256k1":
            raise TaskRefused(f"domain {msg.domain_id} is not a secp256k1 domain with a key share here")
        infos = [self.store.info(AssetKind.TRIPLE, AssetId(t)) for t in msg.triples]
        if self.me not in msg.participants:
            for info in infos:  # not in this presignature: the sender's triples are spent anyway
                if info is not None and info.owner == sender:
                    with contextlib.suppress(AssetNotFound):
                        self.store.take_owned(AssetKind.TRIPLE, info.id)
            return
        for t, info in zip(msg.triples, infos, strict=True):
            if info is None or info.owner != sender or not set(msg.participants) <= set(info.participants):
                raise TaskRefused(f"triple {t} is not a triple of {sender} shared with the presigning set")
        check_signing_set(msg.participants, sender=sender, me=self.me, eligible=self.participants,
                          threshold=self.threshold)
        self._make_room(AssetKind.PRESIGNATURE, sender, 1, msg.domain_id)
        await self._run_presign(sender, msg)

    async def _run_presign(self, owner: ParticipantId, msg: PresignRequest) -> None:
        assert self.net is not None
        share = self.keyshares[msg.domain_id]
        taken0 = self.store.take_owned(AssetKind.TRIPLE, AssetId(msg.triples[0]))
        taken1 = self.store.take_owned(AssetKind.TRIPLE, AssetId(msg.triples[1]))
        if taken0.owner != owner or taken1.owner != owner:
            raise TaskRefused("triples belong to another owner")
        ps = list(msg.participants)
        inst = presign(share, codec.decode_triple(taken0.value.expose()), codec.decode_triple(taken1.value.expose()),
                       ps)
        result = await run_protocol(self.net, _channel("presign", msg.presignature), inst,
                                    timeout_s=PROTOCOL_TIMEOUT_S)
        self.store.put(AssetKind.PRESIGNATURE, AssetId(msg.presignature), owner, codec.encode_presignature(result),
                       participants=ps, domain_id=msg.domain_id)
        if owner == self.me:
            self.metrics["presignatures_generated"] += 1

    # ---- serving requests -----------------------------------------------------------------------------------------
    async def _serve_queue(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.queue.check_interval_s)
            self._wake.clear()
            queue = self.queue
            if queue is None or not self.keyshares:
                continue
            due, dropped = queue.due(self._live())
            for d in dropped:
                self.metrics["requests_failed"] += 1
                log.error("request dropped: attempts exhausted", extra={"request": d.request.request_id.hex()[:16]})
            for req in due:
                self._spawn(self._lead(req), "lead")

    async def _lead(self, req: SignRequest) -> None:
        assert self.queue is not None
        rid, instance = req.request_id, req.instance_id
        started = time.monotonic()
        try:
            scheme = self._keyed_schemes().get(req.domain_id)
            if scheme is None:
                raise MpcError(f"no key share for domain {req.domain_id}")
            # The leader checks what followers check, before any asset is taken.
            check_sign_task(req, request_id=rid, domain_id=req.domain_id, scheme=scheme,
                            domains=self._keyed_schemes())
            # A `sign` receipt may have failed (bad deposit or gas): ask the contract, never spend a presignature on it.
            # At "optimistic": the indexer reads blocks as they are produced; on a real chain "final" lags a few
            # blocks behind, where a fresh request is not pending yet.
            pending = await self.rpc.view(self.contract_id, "get_pending_request", {"request": req.respond_request()},
                                          finality="optimistic")
            if pending is None:
                self.queue.complete(instance)
                self.metrics["requests_completed_elsewhere"] += 1
                return
            checked = time.monotonic()
            if scheme == "Secp256k1":
                response = await self._lead_ecdsa(req)
            else:
                response = await self._lead_frost(req)
            signed = time.monotonic()
            outcome = await self.responder.respond(req.respond_request(), response)
        except TaskRefused as exc:
            log.warning("request refused: the contract should not have accepted it",
                        extra={"request": rid.hex()[:16], "error": str(exc)})
            self.queue.complete(instance)
            return
        except (ProtocolError, ProtocolTimeout) as exc:
            self._blame(exc, f"signing request {rid.hex()[:16]}")
            self.queue.failed(instance)
            self._wake.set()
            return
        except NoPresignature as exc:
            log.info("request waits for a presignature", extra={"request": rid.hex()[:16], "error": str(exc)})
            self.queue.not_ready(instance, 0.3)
            return
        except (MpcError, KeyError, ValueError) as exc:
            log.warning("request attempt failed", extra={"request": rid.hex()[:16], "error": repr(exc)})
            self.queue.failed(instance)
            return
        if outcome.ok:
            self.queue.complete(instance)
            self.metrics["requests_served"] += 1
            self.latencies_ms.append((time.monotonic() - started) * 1000)
            self.latencies_ms = self.latencies_ms[-10_000:]
            log.info("request served", extra={"request": rid.hex()[:16], "ms": round(self.latencies_ms[-1], 1),
                                              "ms_check": round((checked - started) * 1000, 1),
                                              "ms_sign": round((signed - checked) * 1000, 1),
                                              "ms_respond": round((time.monotonic() - signed) * 1000, 1),
                                              "tx": outcome.tx_hash})
        else:
            self.metrics["respond_rejected"] += 1
            log.warning("respond rejected by the contract", extra={"request": rid.hex()[:16],
                                                                    "detail": outcome.detail})
            self.queue.submitted(instance)

    def _pick_presignature(self, domain: DomainId) -> AssetInfo:
        """One of my presignatures for `domain` whose set is live; failing that, one another live owner made that
        includes me (each store deletes before use, so a presignature raced for by two leaders is used by at most
        one)."""
        assert self.me is not None
        eligible = self._eligible()
        for info in self.store.available(AssetKind.PRESIGNATURE, self.me, domain):
            if set(info.participants) <= eligible:
                return info
        for owner in sorted(eligible - {self.me}, key=lambda _: random.random()):
            for info in self.store.available(AssetKind.PRESIGNATURE, owner, domain):
                if set(info.participants) <= eligible:
                    return info
        raise NoPresignature(f"no presignature for domain {domain} fits the live participants")

    async def _lead_ecdsa(self, req: SignRequest) -> dict[str, Any]:
        assert self.me is not None and self.net is not None
        info = self._pick_presignature(req.domain_id)
        taken = self.store.take_owned(AssetKind.PRESIGNATURE, info.id)
        if taken.domain_id != req.domain_id:  # rows are immutable; this guards the store's contract
            raise TaskRefused(f"presignature {info.id} was made for domain {taken.domain_id}")
        log.info("presignature used", extra={"presignature": info.id, "request": req.request_id.hex()})
        pre = codec.decode_presignature(taken.value.expose())
        ps = list(taken.participants)
        await self._send_control(ps, EcdsaSignRequest(req.request_id, req.instance_id, req.domain_id, info.id,
                                                      taken.participants))
        inst = ecdsa_sign(pre, ps, PPid(self.me), tweak=req.tweak, msg_hash=req.payload, entropy=req.entropy)
        sig = await run_protocol(self.net, _channel("sign", req.instance_id.hex(), info.id), inst,
                                 timeout_s=SIGN_TIMEOUT_S)
        assert sig is not None
        return ecdsa_response(sig)

    async def _await_seen(self, instance_id: RequestId) -> SignRequest:
        """This node's own indexed copy of the request instance, waiting (≤ SEEN_WAIT_S) for its indexer."""
        deadline = time.monotonic() + SEEN_WAIT_S
        if instance_id not in self.seen:
            self.indexer.poke()  # the leader saw a block this node may not have asked for yet
        while instance_id not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TaskRefused(f"request {instance_id.hex()[:16]} was never seen on chain by this node")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_requests.wait(), min(remaining, 0.5))
        return self.seen[instance_id]

    def _tamper(self) -> Callable[[bytes], bytes] | None:
        """What rewrites this node's outgoing signing messages: nothing. Test doubles of a misbehaving participant
        (tests/e2e/malicious_node.py) override it; production code never sets it."""
        return None

    async def _follow_sign(self, sender: ParticipantId, msg: EcdsaSignRequest) -> None:
        """Contribute one ECDSA share: every field checked against this node's own copy, then the presignature
        taken (deleted) and used."""
        assert self.net is not None and self.me is not None
        req = await self._await_seen(msg.instance_id)
        check_sign_task(req, request_id=msg.request_id, domain_id=msg.domain_id, scheme="Secp256k1",
                        domains=self._keyed_schemes())
        check_signing_set(msg.participants, sender=sender, me=self.me, eligible=self.participants,
                          threshold=self.threshold)
        info = check_asset(self.store.info(AssetKind.PRESIGNATURE, AssetId(msg.presignature)),
                           what=f"presignature {msg.presignature}", participants=msg.participants,
                           domain_id=msg.domain_id)
        taken = self.store.take_owned(AssetKind.PRESIGNATURE, info.id)  # checked first, taken before use
        if taken.domain_id != msg.domain_id or taken.participants != msg.participants:
            raise TaskRefused(f"presignature {info.id} changed between check and take")
        pre = codec.decode_presignature(taken.value.expose())
        ps = list(msg.participants)
        inst = ecdsa_sign(pre, ps, PPid(sender), tweak=req.tweak, msg_hash=req.payload, entropy=req.entropy)
        await run_protocol(self.net, _channel("sign", req.instance_id.hex(), info.id), inst, timeout_s=SIGN_TIMEOUT_S,
                           tamper=self._tamper())

    async def _lead_frost(self, req: SignRequest) -> dict[str, Any]:
        assert self.me is not None and self.net is not None
        others = sorted(self._eligible() - {self.me})
        if len(others) < self.threshold - 1:
            raise NoPresignature("not enough live participants for FROST")
        ps = tuple(sorted([self.me, *random.sample(others, self.threshold - 1)]))
        session = secrets.token_hex(8)
        await self._send_control(ps, FrostSignRequest(req.request_id, req.instance_id, req.domain_id, ps, session))
        inst = frost_sign(self.keyshares[req.domain_id], list(ps), PPid(self.me), req.payload, req.tweak, self.rng)
        sig = await run_protocol(self.net, _channel("frost", req.instance_id.hex(), session), inst,
                                 timeout_s=SIGN_TIMEOUT_S)
        assert sig is not None
        return {"scheme": "Ed25519", "signature": list(sig)}

    async def _follow_frost(self, sender: ParticipantId, msg: FrostSignRequest) -> None:
        assert self.net is not None and self.me is not None
        req = await self._await_seen(msg.instance_id)
        check_sign_task(req, request_id=msg.request_id, domain_id=msg.domain_id, scheme="Ed25519",
                        domains=self._keyed_schemes())
        check_signing_set(msg.participants, sender=sender, me=self.me, eligible=self.participants,
                          threshold=self.threshold)
        inst = frost_sign(self.keyshares[msg.domain_id], list(msg.participants), PPid(sender), req.payload, req.tweak,
                          self.rng)
        await run_protocol(self.net, _channel("frost", req.instance_id.hex(), msg.session), inst,
                           timeout_s=SIGN_TIMEOUT_S, tamper=self._tamper())
