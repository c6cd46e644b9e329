"""secp256k1 ECDSA: owner-led pools of Beaver triples and per-domain presignatures in the encrypted store, and the
one-round signing that spends a presignature.

Pools: each node leads generation of its own assets (it *owns* them; its peers hold their shares under the owner's
id). Triples are made with every live participant: by honest-majority multiplication when at least 2t−1 are live,
by the OT-based (dishonest-majority) generator with t to 2t−2 of them (`triple_generator_for`), so a network whose
threshold is above half its size, or with nodes down, keeps making them; a presignature is made from two of the
owner's triples with t of their participants, for one domain and that exact set. Generation pauses while requests
are being signed and resumes when the pools run low or signing goes quiet.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import time
from collections.abc import Iterator
from typing import Any

from mpc_service import codec
from mpc_service.assets import AssetId, AssetInfo, AssetKind, AssetNotFound, new_asset_id
from mpc_service.chain.events import PendingRequest, PendingSignRequest
from mpc_service.checks import TaskRefused, check_asset, check_sign_task, check_signing_set
from mpc_service.context import NodeContext, channel
from mpc_service.control import ControlMessage, EcdsaSignRequest, PresignRequest, TriplesRequest
from mpc_service.errors import MpcError
from mpc_service.protocol import (
    SECP256K1,
    ProtocolError,
    ecdsa_sign,
    presign,
    triple_generator_for,
)
from mpc_service.protocol import ParticipantId as PPid
from mpc_service.providers.base import NotReady, SignProvider
from mpc_service.runner import ProtocolTimeout, run_protocol
from mpc_service.types import DomainId, ParticipantId

__all__ = ["EcdsaProvider", "NoPresignature"]

log = logging.getLogger("mpc_service.node")

PROTOCOL_TIMEOUT_S = 10.0
SIGN_TIMEOUT_S = 5.0
TRIPLE_BATCH = 8
PRESIGN_PARALLEL = 4  # presignatures one generation step leads at once
IDLE_POLL_S = 0.2  # the pause between generation steps
ASSET_CAP_FACTOR = 4  # a peer may own at most this × the pool target of triples (presignatures per domain) here
BUSY_BLOCKS = 30  # pool pacing: requests younger than this with no respond seen mean "signing in progress"
QUIET_S = 2.0  # pool pacing: and so does a request seen less than this long ago


class NoPresignature(NotReady):
    """No presignature of this leader fits the live participants."""


class EcdsaProvider(SignProvider):
    scheme = "Secp256k1"
    group = SECP256K1
    follows = (TriplesRequest, PresignRequest, EcdsaSignRequest)

    def __init__(self, ctx: NodeContext) -> None:
        super().__init__(ctx)
        self._held: dict[DomainId, int] = {}  # presignatures held by leads in progress (see `reserve`)
        self._all_held: dict[DomainId, frozenset[ParticipantId]] = {}

    # ---- signing ------------------------------------------------------------------------------------------------
    async def lead(self, request: PendingRequest) -> dict[str, Any]:
        ctx = self.ctx
        assert isinstance(request, PendingSignRequest)  # check() passed
        assert ctx.me is not None and ctx.net is not None
        info = self.pick_presignature(request.domain_id)
        taken = ctx.store.take_owned(AssetKind.PRESIGNATURE, info.id)
        if taken.domain_id != request.domain_id:  # rows are immutable; this guards the store's contract
            raise TaskRefused(f"presignature {info.id} was made for domain {taken.domain_id}")
        log.info("presignature used", extra={"presignature": info.id, "request": request.request_id.hex()})
        pre = codec.decode_presignature(taken.value.expose())
        ps = list(taken.participants)
        await ctx.send_control(ps, EcdsaSignRequest(request.request_id, request.instance_id, request.domain_id,
                                                    info.id, taken.participants))
        inst = ecdsa_sign(pre, ps, PPid(ctx.me), tweak=request.tweak, msg_hash=request.payload,
                          entropy=request.entropy)
        sig = await run_protocol(ctx.net, channel("sign", request.instance_id.hex(), info.id), inst,
                                 timeout_s=SIGN_TIMEOUT_S)
        assert sig is not None
        return sig.to_contract_json()

    @contextlib.contextmanager
    def reserve(self, request: PendingRequest) -> Iterator[None]:
        """Hold one of the presignatures that fit the live set for this lead; `NoPresignature` when all are held.
        "All held" is remembered per (domain, live set) until a presignature is stored or released, so the hundreds
        of requests an overloaded node has waiting do not each query the store."""
        domain = request.domain_id
        eligible = frozenset(self.ctx.eligible())
        if self._all_held.get(domain) == eligible:
            raise NoPresignature(f"every presignature for domain {domain} that fits the live participants is in use")
        if len(self._fitting(domain, eligible)) <= self._held.get(domain, 0):
            self._all_held[domain] = eligible
            raise NoPresignature(f"no free presignature for domain {domain} fits the live participants")
        self._held[domain] = self._held.get(domain, 0) + 1
        try:
            yield
        finally:
            self._held[domain] -= 1
            self._all_held.pop(domain, None)

    def _fitting(self, domain: DomainId, eligible: frozenset[ParticipantId]) -> list[AssetInfo]:
        """Presignatures for `domain` this node can lead with now: its own first, then other live owners' that
        include it (in a random owner order), each with a signing set inside `eligible`."""
        ctx = self.ctx
        assert ctx.me is not None
        fitting = [info for info in ctx.store.available(AssetKind.PRESIGNATURE, ctx.me, domain)
                   if set(info.participants) <= eligible]
        for owner in sorted(eligible - {ctx.me}, key=lambda _: random.random()):
            fitting += [info for info in ctx.store.available(AssetKind.PRESIGNATURE, owner, domain)
                        if set(info.participants) <= eligible]
        return fitting

    def pick_presignature(self, domain: DomainId) -> AssetInfo:
        """One of my presignatures for `domain` whose set is live; failing that, one another live owner made that
        includes me (each store deletes before use, so a presignature raced for by two leaders is used by at most
        one)."""
        fitting = self._fitting(domain, frozenset(self.ctx.eligible()))
        if not fitting:
            raise NoPresignature(f"no presignature for domain {domain} fits the live participants")
        return fitting[0]

    async def follow(self, sender: ParticipantId, message: ControlMessage) -> None:
        if isinstance(message, TriplesRequest):
            await self._follow_triples(sender, message)
        elif isinstance(message, PresignRequest):
            await self._follow_presign(sender, message)
        elif isinstance(message, EcdsaSignRequest):
            await self._follow_sign(sender, message)

    async def _follow_sign(self, sender: ParticipantId, msg: EcdsaSignRequest) -> None:
        """Contribute one ECDSA share: every field checked against this node's own copy, then the presignature
        taken (deleted) and used."""
        ctx = self.ctx
        assert ctx.net is not None and ctx.me is not None
        req = check_sign_task(await ctx.await_seen(msg.instance_id), request_id=msg.request_id,
                              domain_id=msg.domain_id, scheme=self.scheme, domains=ctx.keyed_schemes())
        check_signing_set(msg.participants, sender=sender, me=ctx.me, eligible=ctx.participants,
                          threshold=ctx.threshold)
        info = check_asset(ctx.store.info(AssetKind.PRESIGNATURE, AssetId(msg.presignature)),
                           what=f"presignature {msg.presignature}", participants=msg.participants,
                           domain_id=msg.domain_id)
        taken = ctx.store.take_owned(AssetKind.PRESIGNATURE, info.id)  # checked first, taken before use
        if taken.domain_id != msg.domain_id or taken.participants != msg.participants:
            raise TaskRefused(f"presignature {info.id} changed between check and take")
        pre = codec.decode_presignature(taken.value.expose())
        ps = list(msg.participants)
        inst = ecdsa_sign(pre, ps, PPid(sender), tweak=req.tweak, msg_hash=req.payload, entropy=req.entropy)
        await run_protocol(ctx.net, channel("sign", req.instance_id.hex(), info.id), inst, timeout_s=SIGN_TIMEOUT_S,
                           tamper=ctx.tamper)

    # ---- pools --------------------------------------------------------------------------------------------------
    def pool_status(self) -> dict[str, Any]:
        ctx = self.ctx
        me = ctx.me if ctx.me is not None else ParticipantId(-1)
        domains = ctx.domains_of(self.scheme)
        return {"triples": ctx.store.count(AssetKind.TRIPLE),
                "presignatures": ctx.store.count(AssetKind.PRESIGNATURE),
                "triples_owned": ctx.store.count(AssetKind.TRIPLE, me),
                "presignatures_owned": min((ctx.store.count(AssetKind.PRESIGNATURE, me, d) for d in domains),
                                           default=0),
                "presignatures_owned_by_domain": {str(d): ctx.store.count(AssetKind.PRESIGNATURE, me, d)
                                                  for d in domains}}

    def _signing_busy(self) -> bool:
        """Pool pacing: sign requests from the last BUSY_BLOCKS blocks still await their `respond`, or one arrived
        less than QUIET_S ago (generation running when the next one lands delays its signing by blocks)."""
        ctx = self.ctx
        if time.monotonic() - ctx.last_request_at < QUIET_S:
            return True
        return ctx.queue is not None and ctx.queue.busy(BUSY_BLOCKS) > 0

    async def upkeep(self) -> None:
        """Fill the pools, one generation step every IDLE_POLL_S at most. (Running the steps back to back, measured
        with bench_e2e --sustained 40 --rate 20, answered fewer requests: generation then competes with signing
        for the two cores.)"""
        ctx = self.ctx
        while True:
            await asyncio.sleep(IDLE_POLL_S)
            domains = ctx.domains_of(self.scheme)
            if not domains or ctx.me is None or ctx.net is None:
                continue
            live = sorted(ctx.eligible())
            t = ctx.threshold
            try:
                # Only presignatures whose signing set is live count: after nodes fail, fresh ones are made for
                # the survivors from the stored triples (which any t of the triple's participants can use).
                target = ctx.config.pools.presignatures_target
                usable, owned = {}, {}
                for d in domains:
                    mine = ctx.store.available(AssetKind.PRESIGNATURE, ctx.me, d)
                    owned[d] = len(mine)
                    usable[d] = sum(1 for a in mine if set(a.participants) <= set(live))
                domain = min(domains, key=lambda d: usable[d])  # the emptiest pool is filled first
                if self._signing_busy() and usable[domain] >= max(2, target // 4):
                    continue  # requests in flight: leave the CPU to them, refill afterwards
                mine_tri = ctx.store.available(AssetKind.TRIPLE, ctx.me)
                if (usable[domain] < target and owned[domain] < 4 * target and len(mine_tri) >= 2
                        and len(live) >= t):
                    await self._lead_presigns(domain, mine_tri, live, min(target - usable[domain], PRESIGN_PARALLEL))
                elif len(mine_tri) < ctx.config.pools.triples_target and len(live) >= t:
                    # Triples serve no request, so a peer whose indexer lags (a busy machine) still takes part:
                    # with 2t−1 of them the cheap honest-majority generator runs, not the OT-based one (~3× CPU).
                    await self._lead_triples(sorted(ctx.eligible(any_lag=True)))
            except (ProtocolError, ProtocolTimeout) as exc:
                ctx.blame(exc, "asset generation")
                await asyncio.sleep(1.0)
            except MpcError as exc:
                log.warning("asset generation failed", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)

    def _make_room(self, kind: AssetKind, owner: ParticipantId, adding: int, domain_id: DomainId | None) -> None:
        """Bound what one peer's requests can make this node store: at most ASSET_CAP_FACTOR × the pool target of
        its assets (per domain for presignatures). An owner asks for more only when its own pool is low, so what
        exceeds the cap here is stale (used or dropped by the owner while this node was away): the oldest go."""
        ctx = self.ctx
        target = (ctx.config.pools.triples_target if kind is AssetKind.TRIPLE
                  else ctx.config.pools.presignatures_target)
        cap = ASSET_CAP_FACTOR * max(target, TRIPLE_BATCH)
        excess = ctx.store.count(kind, owner, domain_id) + adding - cap
        if excess > 0:
            dropped = ctx.store.discard_oldest(kind, owner, excess, domain_id)
            log.info(f"dropped {dropped} stale {kind.value}s of participant {owner} to stay under {cap}",
                     extra={"peer": owner, "domain": domain_id})

    async def _lead_triples(self, live: list[ParticipantId]) -> None:
        ctx = self.ctx
        assert ctx.me is not None
        message = TriplesRequest(new_asset_id(ctx.me), tuple(live), TRIPLE_BATCH)
        await ctx.send_control(live, message)
        await self._run_triples(ctx.me, message)

    async def _follow_triples(self, sender: ParticipantId, msg: TriplesRequest) -> None:
        ctx = self.ctx
        assert ctx.me is not None
        if not msg.batch.startswith(f"{sender}-"):
            raise TaskRefused("a triple batch id must start with its owner's id")
        check_signing_set(msg.participants, sender=sender, me=ctx.me, eligible=ctx.participants,
                          threshold=ctx.threshold)
        if msg.count > TRIPLE_BATCH:
            raise TaskRefused(f"at most {TRIPLE_BATCH} triples per batch")
        self._make_room(AssetKind.TRIPLE, sender, msg.count, None)
        await self._run_triples(sender, msg)

    async def _run_triples(self, owner: ParticipantId, msg: TriplesRequest) -> None:
        ctx = self.ctx
        assert ctx.me is not None and ctx.net is not None
        ps = list(msg.participants)
        inst = triple_generator_for(len(ps), ctx.threshold).generate(
            ps, PPid(ctx.me), ctx.threshold, hashlib.sha256(b"triples|" + msg.batch.encode()).digest(), msg.count,
            ctx.rng)
        triples = await run_protocol(ctx.net, channel("triples", msg.batch), inst, timeout_s=PROTOCOL_TIMEOUT_S * 3)
        ctx.store.put_many(AssetKind.TRIPLE, owner, [(AssetId(f"{msg.batch}-{i}"), codec.encode_triple(t))
                                                     for i, t in enumerate(triples)], participants=ps)
        if owner == ctx.me:
            ctx.metrics["triples_generated"] += len(triples)

    async def _lead_presigns(self, domain: DomainId, mine_tri: list[AssetInfo], live: list[ParticipantId],
                             count: int) -> None:
        """Lead up to `count` presignatures at once, each from its own pair of triples (one run at a time capped a
        node at ~2 presignatures per second: below what a 5-node network signs under load)."""
        runs = max(1, min(count, len(mine_tri) // 2))
        pairs = [mine_tri[2 * i:2 * i + 2] for i in range(runs)]
        results = await asyncio.gather(*(self._lead_presign(domain, pair, live) for pair in pairs),
                                        return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _lead_presign(self, domain: DomainId, mine_tri: list[AssetInfo], live: list[ParticipantId]) -> bool:
        """Lead one presignature from two of this node's triples; False when nothing could be done (too few live)."""
        ctx = self.ctx
        assert ctx.me is not None
        t0, t1 = mine_tri[0], mine_tri[1]
        allowed = set(t0.participants) & set(t1.participants) & set(live)
        others = sorted(allowed - {ctx.me})
        if len(others) < ctx.threshold - 1:
            # These triples cannot be used with who is live now; drop them so fresh ones are made.
            if len(set(live)) >= ctx.threshold:
                ctx.store.take_owned_many(AssetKind.TRIPLE, [t0.id, t1.id])
                return True
            return False
        ps = tuple(sorted([ctx.me, *random.sample(others, ctx.threshold - 1)]))
        message = PresignRequest(new_asset_id(ctx.me), domain, ps, (t0.id, t1.id))
        everyone = sorted(set(t0.participants) & set(live))  # all holders of the triples: the others discard them
        await ctx.send_control(everyone, message)
        await self._run_presign(ctx.me, message)
        return True

    async def _follow_presign(self, sender: ParticipantId, msg: PresignRequest) -> None:
        ctx = self.ctx
        assert ctx.me is not None
        if not all(x.startswith(f"{sender}-") for x in (msg.presignature, *msg.triples)):
            raise TaskRefused("presignature and triple ids must start with their owner's id")
        if ctx.keyed_schemes().get(msg.domain_id) != self.scheme:
            raise TaskRefused(f"domain {msg.domain_id} is not a secp256k1 domain with a key share here")
        infos = [ctx.store.info(AssetKind.TRIPLE, AssetId(t)) for t in msg.triples]
        if ctx.me not in msg.participants:
            for info in infos:  # not in this presignature: the sender's triples are spent anyway
                if info is not None and info.owner == sender:
                    with contextlib.suppress(AssetNotFound):
                        ctx.store.take_owned(AssetKind.TRIPLE, info.id)
            return
        for t, info in zip(msg.triples, infos, strict=True):
            if info is None or info.owner != sender or not set(msg.participants) <= set(info.participants):
                raise TaskRefused(f"triple {t} is not a triple of {sender} shared with the presigning set")
        check_signing_set(msg.participants, sender=sender, me=ctx.me, eligible=ctx.participants,
                          threshold=ctx.threshold)
        self._make_room(AssetKind.PRESIGNATURE, sender, 1, msg.domain_id)
        await self._run_presign(sender, msg)

    async def _run_presign(self, owner: ParticipantId, msg: PresignRequest) -> None:
        ctx = self.ctx
        assert ctx.net is not None
        share = ctx.keyshares[msg.domain_id]
        taken0, taken1 = ctx.store.take_owned_many(AssetKind.TRIPLE, [AssetId(t) for t in msg.triples])
        if taken0.owner != owner or taken1.owner != owner:
            raise TaskRefused("triples belong to another owner")
        ps = list(msg.participants)
        inst = presign(share, codec.decode_triple(taken0.value.expose()), codec.decode_triple(taken1.value.expose()),
                       ps)
        result = await run_protocol(ctx.net, channel("presign", msg.presignature), inst,
                                    timeout_s=PROTOCOL_TIMEOUT_S)
        ctx.store.put(AssetKind.PRESIGNATURE, AssetId(msg.presignature), owner, codec.encode_presignature(result),
                      participants=ps, domain_id=msg.domain_id)
        self._all_held.pop(msg.domain_id, None)
        if owner == ctx.me:
            ctx.metrics["presignatures_generated"] += 1
