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
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import base58

from mpc_service import codec
from mpc_service.assets import AssetId, AssetKind, AssetNotFound, AssetStore, new_asset_id
from mpc_service.chain.events import SignRequest
from mpc_service.chain.indexer import BlockUpdate, Indexer
from mpc_service.chain.rpc import ChainError, JsonRpc
from mpc_service.config import NodeConfig
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
    ecdsa_sign,
    frost_sign,
    keygen,
    presign,
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
BUSY_BLOCKS = 30  # pool pacing: requests younger than this with no respond seen mean "signing in progress"
QUIET_S = 2.0  # pool pacing: and so does a request seen less than this long ago
MALICIOUS_ENV = "MPC_NODE_MALICIOUS"  # test-only: "bad_shares" or "bad_respond"


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


def _ids_text(ps: Sequence[int]) -> str:
    return ".".join(str(p) for p in sorted(ps))


def _ids_of(asset_id: str) -> tuple[PPid, ...]:
    """Assets are named `<unique>@<participant ids>` so a leader can pick one fitting the live set without decrypting."""
    _, _, tail = asset_id.rpartition("@")
    return tuple(PPid(int(p)) for p in tail.split(".")) if tail else ()


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


def _parse_url(url: str) -> tuple[str, int]:
    parsed = urlparse(url if "//" in url else "//" + url)
    if not parsed.hostname or not parsed.port:
        raise ValueError(f"participant url {url!r} has no host:port")
    return parsed.hostname, parsed.port


class MpcNode:
    """A running node; `await start()`, then `await wait()` or `await stop()`."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.malicious = os.environ.get(MALICIOUS_ENV, "")
        try:
            self._p2p = load_near_key_file(config.p2p_key_file)
            storage_secret = load_storage_secret(config.storage_secret_file)
            account_keys = [load_near_key_file(p) for p in config.responder.access_key_files] or [self._p2p]
        except MpcError as exc:
            raise NodeStartError(str(exc)) from None
        try:
            config.data_dir.mkdir(parents=True, exist_ok=True)
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
        self.participants: dict[ParticipantId, ParticipantInfo] = {}
        self.protocol_state = "unknown"
        self.domains: dict[DomainId, str] = {}  # domain -> scheme, for keyed domains
        self.keyshares: dict[DomainId, KeygenOutput] = {}
        self.queue: RequestQueue | None = None
        self.seen: dict[RequestId, SignRequest] = {}
        self.blamed: dict[ParticipantId, float] = {}
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
                                        "presignatures_generated": 0, "culprits_named": 0}
        self.latencies_ms: list[float] = []
        self.latencies_blocks: list[int] = []
        self.started_at = time.monotonic()

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.status.start()
        self._tasks = [asyncio.create_task(coro, name=name) for name, coro in (
            ("indexer", self.indexer.run()), ("updates", self._follow_updates()), ("coordinator", self._coordinate()),
            ("queue", self._serve_queue()), ("control", self._control_loop()), ("pools", self._pools()),
        )]
        for task in self._tasks:
            task.add_done_callback(self._task_died)
        log.info("node started", extra={"account": self.account_id, "status": self.status.url,
                                        "malicious": self.malicious or None})

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
        task.add_done_callback(self._children.discard)

    # ---- status ---------------------------------------------------------------------------------------------------
    def _live(self) -> set[ParticipantId]:
        if self.me is None or self.net is None:
            return set()
        return {self.me, *self.net.connected()}

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
            "peers_connected": len(self._live()) - 1 if self._live() else 0,
            "requests": {**self.metrics, "pending": len(self.queue) if self.queue else 0},
            "pools": {"triples": self.store.count(AssetKind.TRIPLE),
                      "presignatures": self.store.count(AssetKind.PRESIGNATURE),
                      "triples_owned": self.store.count(AssetKind.TRIPLE, me),
                      "presignatures_owned": self.store.count(AssetKind.PRESIGNATURE, me)},
            "latency_ms": {"p50": lat[len(lat) // 2] if lat else 0.0,
                           "p95": lat[min(len(lat) - 1, int(len(lat) * 0.95))] if lat else 0.0,
                           "mean": statistics.fmean(lat) if lat else 0.0, "count": len(lat)},
            "responder": {"submitted": self.responder.submitted, "failed": self.responder.failed},
            "uptime_s": round(time.monotonic() - self.started_at, 1),
        }

    # ---- indexer → queue ----------------------------------------------------------------------------------------
    async def _follow_updates(self) -> None:
        while True:
            update: BlockUpdate = await self.indexer.updates.get()
            queue = self.queue
            for req in update.requests:
                self.seen[req.request_id] = req
                self.metrics["requests_seen"] += 1
                if queue is not None and queue.add(req):
                    log.info("sign request seen", extra={"request": req.request_id.hex()[:16], "height": req.block_height,
                                                         "domain": req.domain_id, "caller": req.caller})
                if "bad_respond" in self.malicious and not update.catching_up:
                    self._spawn(self._malicious_respond(req), "malicious-respond")
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
        infos: dict[ParticipantId, ParticipantInfo] = {}
        for account_id, pid, info in state["participants"]["participants"]:
            host, port = _parse_url(info["url"])
            key = base58.b58decode(info["tls_public_key"].split(":", 1)[1])
            infos[ParticipantId(pid)] = ParticipantInfo(ParticipantId(pid), account_id, host, port, key)
        mine = [p for p in infos.values() if p.account_id == self.account_id]
        if not mine:
            if self.me is None:
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
        peers = [Peer(p.participant_id, p.host, p.port, p.tls_public_key) for p in infos.values()]
        if self.net is None:
            port = self.config.network.listen_port or mine[0].port
            self.net = PeerNetwork(self.me, self._p2p.key_pair, peers, host=self.config.network.listen_host, port=port,
                                   max_frame_bytes=self.config.network.max_frame_bytes,
                                   keepalive_s=self.config.network.keepalive_s)
            await self.net.start()
            self._spawn(self._drain_new_channels(), "drain-channels")
        else:
            self.net.update_peers(peers)
        epoch = int(state.get("epoch", 0))
        for domain in state.get("domains", []):
            did = DomainId(int(domain["id"]))
            if did in self.keyshares or not domain.get("public_key"):
                continue
            self.domains[did] = domain["scheme"]
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
            log.info("key share loaded", extra={"domain": did, "scheme": domain["scheme"]})
        gen = state.get("generating_key")
        if gen is not None:
            kid = gen["key_event_id"]
            if kid is None:  # no attempt running (none started yet, or it timed out / was aborted)
                if gen["leader"] == self.account_id:
                    self._start_keygen_attempt(gen)
                return
            tag = json.dumps(kid, sort_keys=True)
            task = self._keygen_tasks.get(tag)
            if self.account_id not in gen.get("votes", {}) and (task is None or task.done()):
                self._keygen_tasks[tag] = asyncio.create_task(self._keygen(kid, gen["scheme"], epoch, sorted(infos)))

    def _start_keygen_attempt(self, gen: dict[str, Any]) -> None:
        """As the leader, start the contract's next keygen attempt (`start_keygen_instance`)."""
        kid = {"epoch_id": gen["epoch_id"], "domain_id": gen["domain_id"], "attempt_id": gen["next_attempt_id"]}
        tag = "start|" + json.dumps(kid, sort_keys=True)
        task = self._keygen_tasks.get(tag)
        if task is None or task.done():
            self._keygen_tasks[tag] = asyncio.create_task(self._call_start_keygen(kid))

    async def _call_start_keygen(self, kid: dict[str, Any]) -> None:
        outcome = await self.responder.call("start_keygen_instance", {"key_event_id": kid})
        if outcome.ok:
            log.info("keygen attempt started", extra={"key_event_id": kid})
        else:
            log.warning("start_keygen_instance rejected", extra={"key_event_id": kid, "detail": outcome.detail})
            await asyncio.sleep(2.0)  # the coordinator tries again after this

    async def _drain_new_channels(self) -> None:
        assert self.net is not None
        while True:
            await self.net.new_channels.get()

    async def _keygen(self, kid: dict[str, Any], scheme: str, epoch: int, participants: list[ParticipantId]) -> None:
        assert self.net is not None and self.me is not None
        domain = DomainId(int(kid["domain_id"]))
        group = SECP256K1 if scheme == "Secp256k1" else ED25519
        try:
            try:
                _, share = self.store.key_share(domain, epoch)
                out = codec.decode_keygen(share.expose())
                log.info("keygen already done; voting again", extra={"domain": domain})
            except AssetNotFound:
                await self.net.wait_connected(participants, timeout_s=KEYGEN_TIMEOUT_S)
                tag = json.dumps(kid, sort_keys=True) + "|" + self.contract_id
                log.info("keygen starting", extra={"domain": domain, "scheme": scheme, "participants": participants})
                inst = keygen(group, participants, PPid(self.me), self.threshold,
                              hashlib.sha256(b"keygen|" + tag.encode()).digest(), self.rng)
                out = await run_protocol(self.net, _channel("keygen", tag), inst, timeout_s=KEYGEN_TIMEOUT_S)
                self.store.put_key_share(domain, epoch, codec.encode_keygen(out))
            public_key = public_key_string(out.group.name, out.public_key)
            log.info("keygen done; voting", extra={"domain": domain, "public_key": public_key})
            outcome = await self.responder.call("vote_pk", {"key_event_id": kid, "public_key": public_key})
            if not outcome.ok:
                log.error("vote_pk rejected", extra={"domain": domain, "detail": outcome.detail})
                await asyncio.sleep(5.0)  # the coordinator retries the vote after this
        except (ProtocolError, ProtocolTimeout, MpcError) as exc:
            self._blame(exc, "keygen")

    # ---- blame ------------------------------------------------------------------------------------------------------
    def _blame(self, exc: Exception, what: str) -> None:
        self.metrics["protocol_errors"] += 1
        culprit = getattr(exc, "culprit", None)
        if culprit is not None:
            self.metrics["culprits_named"] += 1
            self.blamed[ParticipantId(culprit)] = time.monotonic() + BLAME_S
            account = self.participants.get(ParticipantId(culprit))
            log.warning(f"{what} failed; participant {culprit} misbehaved",
                        extra={"culprit": culprit, "culprit_account": account.account_id if account else None,
                               "error": str(exc)})
        else:
            log.warning(f"{what} failed", extra={"error": str(exc),
                                                 "waiting_for": sorted(getattr(exc, "waiting_for", set()))})

    # ---- control channel ------------------------------------------------------------------------------------------
    async def _send_control(self, to: Sequence[ParticipantId] | set[ParticipantId], message: dict[str, Any]) -> None:
        assert self.net is not None
        data = json.dumps(message).encode()
        for p in to:
            if p != self.me:
                await self.net.send(p, CONTROL, data)

    async def _control_loop(self) -> None:
        while self.net is None:
            await asyncio.sleep(0.05)
        inbox = self.net.inbox(CONTROL)
        handlers = {"triples": self._follow_triples, "presign": self._follow_presign, "sign": self._follow_sign,
                    "frost": self._follow_frost}
        while True:
            sender, data = await inbox.recv()
            try:
                message = json.loads(data)
                handler = handlers[message["kind"]]
            except (ValueError, KeyError, TypeError):
                log.warning(f"participant {sender} sent a malformed control message", extra={"culprit": sender})
                continue
            self._spawn(self._guarded(handler(sender, message), f"{message['kind']} (follower of {sender})"),
                        f"follow-{message['kind']}")

    async def _guarded(self, coro: Coroutine[Any, Any, Any], what: str) -> None:
        try:
            await coro
        except (ProtocolError, ProtocolTimeout) as exc:
            self._blame(exc, what)
        except (MpcError, KeyError, ValueError, TypeError) as exc:
            log.warning(f"{what} refused", extra={"error": repr(exc)})

    # ---- pools: triples and presignatures ----------------------------------------------------------------------
    def _ecdsa_domain(self) -> DomainId | None:
        """Presignatures are made for the (first) secp256k1 domain's key."""
        for did, out in sorted(self.keyshares.items()):
            if out.group is SECP256K1:
                return did
        return None

    def _signing_busy(self) -> bool:
        """Pool pacing: sign requests from the last BUSY_BLOCKS blocks still await their `respond`, or one arrived
        less than QUIET_S ago (generation running when the next one lands delays its signing by blocks)."""
        if time.monotonic() - self._last_request_at < QUIET_S:
            return True
        return self.queue is not None and self.queue.busy(BUSY_BLOCKS) > 0

    async def _pools(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            if self._ecdsa_domain() is None or self.me is None or self.net is None:
                continue
            live = sorted(self._eligible())
            t = self.threshold
            try:
                # Only presignatures whose signing set is live count: after nodes fail, fresh ones are made for
                # the survivors from the stored triples (which any t of the triple's participants can use).
                owned = self.store.ids(AssetKind.PRESIGNATURE, self.me)
                usable = sum(1 for aid in owned if set(_ids_of(aid)) <= set(live))
                target = self.config.pools.presignatures_target
                if self._signing_busy() and usable >= max(2, target // 4):
                    continue  # requests in flight: leave the CPU to them, refill afterwards
                mine_tri = self.store.ids(AssetKind.TRIPLE, self.me)
                if usable < target and len(owned) < 4 * target and len(mine_tri) >= 2 and len(live) >= t:
                    await self._lead_presign(mine_tri, live)
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
        batch = new_asset_id(self.me)
        await self._send_control(live, {"kind": "triples", "batch": batch, "participants": live,
                                        "count": TRIPLE_BATCH})
        await self._run_triples(self.me, batch, live, TRIPLE_BATCH)

    async def _follow_triples(self, sender: ParticipantId, msg: dict[str, Any]) -> None:
        ps = [ParticipantId(int(p)) for p in msg["participants"]]
        batch = str(msg["batch"])
        if not batch.startswith(f"{sender}-") or self.me not in ps or sender not in ps:
            raise ValueError(f"bad triples request from {sender}")
        await self._run_triples(sender, batch, ps, min(int(msg["count"]), TRIPLE_BATCH))

    async def _run_triples(self, owner: ParticipantId, batch: str, ps: list[ParticipantId], count: int) -> None:
        assert self.me is not None and self.net is not None
        inst = HonestMajorityTripleGenerator().generate(ps, PPid(self.me), self.threshold,
                                                        hashlib.sha256(b"triples|" + batch.encode()).digest(), count,
                                                        self.rng)
        triples = await run_protocol(self.net, _channel("triples", batch), inst, timeout_s=PROTOCOL_TIMEOUT_S * 3)
        self.store.put_many(AssetKind.TRIPLE, owner, [(AssetId(f"{batch}-{i}@{_ids_text(ps)}"), codec.encode_triple(t))
                                                      for i, t in enumerate(triples)])
        if owner == self.me:
            self.metrics["triples_generated"] += len(triples)

    async def _lead_presign(self, mine_tri: list[AssetId], live: list[ParticipantId]) -> None:
        assert self.me is not None
        t0_id, t1_id = mine_tri[0], mine_tri[1]
        allowed = set(_ids_of(t0_id)) & set(_ids_of(t1_id)) & set(live)
        others = sorted(allowed - {self.me})
        if len(others) < self.threshold - 1:
            # These triples cannot be used with who is live now; drop them so fresh ones are made.
            if len(set(live)) >= 2 * self.threshold - 1:
                for aid in (t0_id, t1_id):
                    self.store.take_owned(AssetKind.TRIPLE, aid)
            return
        ps = sorted([self.me, *random.sample(others, self.threshold - 1)])
        pre_id = f"{new_asset_id(self.me)}@{_ids_text(ps)}"
        everyone = sorted(set(_ids_of(t0_id)) & set(live))
        await self._send_control(everyone, {"kind": "presign", "id": pre_id, "participants": ps,
                                            "triples": [t0_id, t1_id]})
        await self._run_presign(self.me, pre_id, ps, t0_id, t1_id)

    async def _follow_presign(self, sender: ParticipantId, msg: dict[str, Any]) -> None:
        ps = [ParticipantId(int(p)) for p in msg["participants"]]
        pre_id = str(msg["id"])
        t0_id, t1_id = (str(x) for x in msg["triples"])
        if not all(x.startswith(f"{sender}-") for x in (pre_id, t0_id, t1_id)) or sender not in ps:
            raise ValueError(f"bad presign request from {sender}")
        if self.me not in ps:
            for aid in (t0_id, t1_id):  # not in this presignature: the triples are spent anyway
                with contextlib.suppress(AssetNotFound):
                    self.store.take_owned(AssetKind.TRIPLE, AssetId(aid))
            return
        await self._run_presign(sender, pre_id, ps, t0_id, t1_id)

    async def _run_presign(self, owner: ParticipantId, pre_id: str, ps: list[ParticipantId], t0_id: str,
                           t1_id: str) -> None:
        assert self.net is not None
        domain = self._ecdsa_domain()
        if domain is None:
            raise MpcError("no secp256k1 key share")
        share = self.keyshares[domain]
        taken0 = self.store.take_owned(AssetKind.TRIPLE, AssetId(t0_id))
        taken1 = self.store.take_owned(AssetKind.TRIPLE, AssetId(t1_id))
        if taken0.owner != owner or taken1.owner != owner:
            raise ValueError("triples belong to another owner")
        inst = presign(share, codec.decode_triple(taken0.value.expose()), codec.decode_triple(taken1.value.expose()),
                       ps)
        result = await run_protocol(self.net, _channel("presign", pre_id), inst, timeout_s=PROTOCOL_TIMEOUT_S)
        self.store.put(AssetKind.PRESIGNATURE, AssetId(pre_id), owner, codec.encode_presignature(result))
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
        rid = req.request_id
        started = time.monotonic()
        try:
            # A `sign` receipt may have failed (bad deposit or gas): ask the contract, never spend a presignature on it.
            pending = await self.rpc.view(self.contract_id, "get_pending_request", {"request": req.respond_request()})
            if pending is None:
                self.queue.complete(rid)
                self.metrics["requests_completed_elsewhere"] += 1
                return
            scheme = self.domains.get(req.domain_id)
            if req.domain_id not in self.keyshares:
                raise MpcError(f"no key share for domain {req.domain_id}")
            checked = time.monotonic()
            if scheme == "Secp256k1":
                response = await self._lead_ecdsa(req)
            else:
                response = await self._lead_frost(req)
            signed = time.monotonic()
            outcome = await self.responder.respond(req.respond_request(), response)
        except (ProtocolError, ProtocolTimeout) as exc:
            self._blame(exc, f"signing request {rid.hex()[:16]}")
            self.queue.failed(rid)
            self._wake.set()
            return
        except NoPresignature as exc:
            log.info("request waits for a presignature", extra={"request": rid.hex()[:16], "error": str(exc)})
            self.queue.not_ready(rid, 0.3)
            return
        except (MpcError, KeyError, ValueError) as exc:
            log.warning("request attempt failed", extra={"request": rid.hex()[:16], "error": repr(exc)})
            self.queue.failed(rid)
            return
        if outcome.ok:
            self.queue.complete(rid)
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
            self.queue.submitted(rid)

    def _pick_presignature(self) -> AssetId:
        """One of my presignatures whose set is live; failing that, one another live owner made that includes me
        (each store deletes before use, so a presignature raced for by two leaders is used by at most one)."""
        assert self.me is not None
        eligible = self._eligible()
        for aid in self.store.ids(AssetKind.PRESIGNATURE, self.me):
            if set(_ids_of(aid)) <= eligible:
                return aid
        for owner in sorted(eligible - {self.me}, key=lambda _: random.random()):
            for aid in self.store.ids(AssetKind.PRESIGNATURE, owner):
                if set(_ids_of(aid)) <= eligible:
                    return aid
        raise NoPresignature("no presignature fits the live participants")

    async def _lead_ecdsa(self, req: SignRequest) -> dict[str, Any]:
        assert self.me is not None and self.net is not None
        aid = self._pick_presignature()
        ps = list(_ids_of(aid))
        taken = self.store.take_owned(AssetKind.PRESIGNATURE, aid)
        log.info("presignature used", extra={"presignature": aid, "request": req.request_id.hex()})
        pre = codec.decode_presignature(taken.value.expose())
        await self._send_control(ps, {"kind": "sign", "request": req.request_id.hex(), "presignature": aid,
                                      "participants": ps})
        inst = ecdsa_sign(pre, ps, PPid(self.me), tweak=req.tweak, msg_hash=req.payload, entropy=req.entropy)
        sig = await run_protocol(self.net, _channel("sign", req.request_id.hex(), aid), inst,
                                 timeout_s=SIGN_TIMEOUT_S)
        assert sig is not None
        return ecdsa_response(sig)

    async def _await_seen(self, rid_hex: str) -> SignRequest:
        """This node's own indexed copy of the request, waiting (≤ SEEN_WAIT_S) for the indexer to reach it."""
        rid = RequestId(bytes.fromhex(rid_hex))
        deadline = time.monotonic() + SEEN_WAIT_S
        if rid not in self.seen:
            self.indexer.poke()  # the leader saw a block this node may not have asked for yet
        while rid not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MpcError(f"request {rid_hex[:16]} was never seen on chain by this node; refusing to sign")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_requests.wait(), min(remaining, 0.5))
        return self.seen[rid]

    def _tamper(self) -> Any:
        if "bad_shares" not in self.malicious:
            return None
        return lambda data: data[:-1] + bytes([data[-1] ^ 1]) if data else data

    async def _follow_sign(self, sender: ParticipantId, msg: dict[str, Any]) -> None:
        assert self.net is not None
        aid = AssetId(str(msg["presignature"]))
        ps = [PPid(int(p)) for p in msg["participants"]]
        if list(_ids_of(aid)) != ps or sender not in ps or self.me not in ps:
            raise ValueError(f"bad sign request from {sender}")
        taken = self.store.take_owned(AssetKind.PRESIGNATURE, aid)  # taken before waiting: never reusable
        req = await self._await_seen(str(msg["request"]))
        pre = codec.decode_presignature(taken.value.expose())
        inst = ecdsa_sign(pre, ps, PPid(sender), tweak=req.tweak, msg_hash=req.payload, entropy=req.entropy)
        await run_protocol(self.net, _channel("sign", req.request_id.hex(), aid), inst, timeout_s=SIGN_TIMEOUT_S,
                           tamper=self._tamper())

    async def _lead_frost(self, req: SignRequest) -> dict[str, Any]:
        assert self.me is not None and self.net is not None
        others = sorted(self._eligible() - {self.me})
        if len(others) < self.threshold - 1:
            raise NoPresignature("not enough live participants for FROST")
        ps = sorted([self.me, *random.sample(others, self.threshold - 1)])
        nonce = secrets.token_hex(8)
        await self._send_control(ps, {"kind": "frost", "request": req.request_id.hex(), "participants": ps,
                                      "nonce": nonce})
        inst = frost_sign(self.keyshares[req.domain_id], ps, PPid(self.me), req.payload, req.tweak, self.rng)
        sig = await run_protocol(self.net, _channel("frost", req.request_id.hex(), nonce), inst,
                                 timeout_s=SIGN_TIMEOUT_S)
        assert sig is not None
        return {"scheme": "Ed25519", "signature": list(sig)}

    async def _follow_frost(self, sender: ParticipantId, msg: dict[str, Any]) -> None:
        assert self.net is not None
        ps = [PPid(int(p)) for p in msg["participants"]]
        if sender not in ps or self.me not in ps:
            raise ValueError(f"bad frost request from {sender}")
        req = await self._await_seen(str(msg["request"]))
        inst = frost_sign(self.keyshares[req.domain_id], ps, PPid(sender), req.payload, req.tweak, self.rng)
        await run_protocol(self.net, _channel("frost", req.request_id.hex(), str(msg["nonce"])), inst,
                           timeout_s=SIGN_TIMEOUT_S, tamper=self._tamper())

    async def _malicious_respond(self, req: SignRequest) -> None:
        """Test-only misbehaviour: answer every request at once with a made-up signature."""
        if req.payload_kind == "Ecdsa":
            import coincurve

            fake = coincurve.PrivateKey().sign_recoverable(req.payload, hasher=None)
            point = coincurve.PrivateKey().public_key.format(compressed=True)
            response: dict[str, Any] = {"scheme": "Secp256k1", "big_r": {"affine_point": point.hex()},
                                        "s": {"scalar": fake[32:64].hex()}, "recovery_id": 0}
        else:
            response = {"scheme": "Ed25519", "signature": list(os.urandom(64))}
        outcome = await self.responder.respond(req.respond_request(), response)
        log.warning("malicious respond sent", extra={"request": req.request_id.hex()[:16], "ok": outcome.ok})

