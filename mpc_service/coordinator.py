"""The key-event coordinator: follows the signer contract's `state` and does this node's part of every key event.

* membership: participants, threshold and epoch (→ the shared context and the peer mesh; nodes named in a proposal
  join the mesh as soon as it is on chain);
* keyed domains: the node's key share of each, loaded from the encrypted store and checked against the contract's key;
* keygen: the event's leader starts each attempt (`start_keygen_instance`); every participant runs the DKG over the
  domain scheme's group and votes `vote_pk`; a failed DKG votes `vote_abort_key_event_instance`;
* resharing: per domain, the leader starts the attempt (`start_reshare_instance`); continuing participants deal, new
  ones receive; every new participant votes `vote_reshared` with a share of the unchanged key;
* a new epoch retires every asset made under the old set; a node that left deletes its shares and assets.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from chainsig.ckd import format_bls_key
from chainsig.keys import Ed25519PublicKey, Secp256k1PublicKey
from mpc_service import codec
from mpc_service.assets import AssetKind, AssetNotFound
from mpc_service.chain.rpc import ChainError, JsonRpc
from mpc_service.context import NodeContext, ParticipantInfo, channel, participant_infos
from mpc_service.control import ResharePackage
from mpc_service.errors import MpcError
from mpc_service.network import Peer, PeerNetwork
from mpc_service.protocol import SECP256K1, Group, ProtocolError, PublicKeyPackage, keygen, reshare
from mpc_service.protocol import ParticipantId as PPid
from mpc_service.protocol.groups import BLS12381_G2
from mpc_service.queue import RequestQueue
from mpc_service.responder import Responder
from mpc_service.runner import ProtocolTimeout, run_protocol
from mpc_service.types import DomainId, ParticipantId

__all__ = ["KeyEventCoordinator", "public_key_string"]

log = logging.getLogger("mpc_service.node")

KEYGEN_TIMEOUT_S = 120.0
CONNECT_TIMEOUT_S = 30.0  # every participant of a key event attempt linked by then, or the attempt is aborted
MAX_SESSION_CHARS = 128


def public_key_string(group_name: str, point: bytes) -> str:
    """The contract's key string (secp256k1:<base58 X‖Y> / ed25519:<base58 point> / bls12381g2:<base58 96 bytes>),
    via the client's key types."""
    if group_name == SECP256K1.name:
        return str(Secp256k1PublicKey.from_sec1(point))
    if group_name == BLS12381_G2.name:
        return format_bls_key(point)
    return str(Ed25519PublicKey(point))


class KeyEventCoordinator:
    """See the module docstring. `groups` maps each scheme the node serves to its group."""

    def __init__(self, ctx: NodeContext, rpc: JsonRpc, responder: Responder, p2p_key: Any,
                 groups: Mapping[str, Group]) -> None:
        self.ctx = ctx
        self.rpc = rpc
        self.responder = responder
        self._p2p = p2p_key
        self.groups = dict(groups)
        self._packages: dict[str, bytes] = {}  # resharing: public key packages dealers sent, by session
        self._tasks: dict[str, asyncio.Task[None]] = {}  # key-event work by attempt tag

    async def run(self) -> None:
        ctx = self.ctx
        while True:
            try:
                state = await self.rpc.view(ctx.contract_id, "state", {})
                await self.apply_state(state)
            except ChainError as exc:
                log.warning("cannot read contract state", extra={"error": str(exc)[:300]})
                await asyncio.sleep(2.0)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("unexpected contract state shape", extra={"error": repr(exc)})
            await asyncio.sleep(1.0 if ctx.protocol_state == "Running" and ctx.keyshares else 0.3)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def receive_package(self, sender: ParticipantId, message: ResharePackage) -> None:
        """A dealer's copy of a key's public package for a joiner (checked against the contract's key on use)."""
        if sender in self.ctx.participants and len(self._packages) < 64:
            self._packages.setdefault(message.session, message.package)

    # ---- the contract's state -----------------------------------------------------------------------------------
    async def apply_state(self, state: dict[str, Any]) -> None:
        ctx = self.ctx
        resharing_ended = ctx.protocol_state == "Resharing" and state["protocol_state"] == "Running"
        ctx.protocol_state = state["protocol_state"]
        ctx.threshold = int(state["threshold"])
        infos = participant_infos(state["participants"])
        proposal = state.get("proposal") if ctx.protocol_state == "Resharing" else None
        proposed = participant_infos(proposal["participants"]) if proposal else {}
        mine = [p for p in (*infos.values(), *proposed.values()) if p.account_id == ctx.account_id]
        epoch = int(state.get("epoch", 0))
        if not mine:
            if ctx.me is not None and ctx.keyshares:
                self._leave(epoch)
                if ctx.net is not None:
                    ctx.net.update_peers([])  # no longer in the mesh: stop dialling the participants
            elif ctx.me is None:
                log.warning("this account is not a participant of the contract; waiting")
            return
        if mine[0].tls_public_key != self._p2p.key_pair.public_key:
            raise ValueError("the contract's tls_public_key for this account is not this node's p2p key")
        if ctx.me is None:
            ctx.me = mine[0].participant_id
            ctx.queue = RequestQueue(ctx.me, ctx.config.queue)
            for req in ctx.seen.values():
                ctx.queue.add(req)
        ctx.participants = infos
        ctx.proposed = proposed
        await self._update_mesh(mine[0], {**infos, **proposed})
        first_view, epoch_changed = ctx.epoch is None, ctx.epoch is not None and epoch != ctx.epoch
        if epoch_changed:
            self._new_epoch(epoch, ctx.me in infos)
        ctx.epoch = epoch
        if (first_view or resharing_ended or epoch_changed) and ctx.protocol_state == "Running":
            self._running(epoch)
        self._load_key_shares(state.get("domains", []), epoch, infos)
        gen = state.get("generating_key")
        if gen is not None:
            self._follow_keygen(gen, epoch, sorted(infos))
            return
        event = state.get("resharing_key")
        if proposal is not None and event is not None:
            self._follow_resharing(event, infos, proposed, int(proposal["threshold"]),
                                   int(state["prospective_epoch_id"]))

    async def _update_mesh(self, mine: ParticipantInfo, everyone: dict[ParticipantId, ParticipantInfo]) -> None:
        """Link to every participant of the running epoch and of a proposal (they take part in the resharing)."""
        ctx = self.ctx
        assert ctx.me is not None
        peers = [Peer(p.participant_id, p.host, p.port, p.tls_public_key) for p in everyone.values()]
        if ctx.net is None:
            network = ctx.config.network
            ctx.net = PeerNetwork(ctx.me, self._p2p.key_pair, peers, host=network.listen_host,
                                  port=network.listen_port or mine.port, max_frame_bytes=network.max_frame_bytes,
                                  keepalive_s=network.keepalive_s)
            await ctx.net.start()
            ctx.spawn(self._drain_new_channels(ctx.net), "drain-channels")
        else:
            ctx.net.update_peers(peers)

    @staticmethod
    async def _drain_new_channels(net: PeerNetwork) -> None:
        while True:
            await net.new_channels.get()

    def _load_key_shares(self, domains: list[dict[str, Any]], epoch: int,
                         infos: dict[ParticipantId, ParticipantInfo]) -> None:
        ctx = self.ctx
        for domain in domains:
            did = DomainId(int(domain["id"]))
            if domain.get("public_key"):
                ctx.public_keys[did] = domain["public_key"]
            if did in ctx.keyshares or not domain.get("public_key") or ctx.me not in infos:
                continue
            ctx.schemes[did] = domain["scheme"]
            try:
                _, share = ctx.store.key_share(did, epoch)
            except AssetNotFound:
                log.error("no key share for a keyed domain; cannot sign for it", extra={"domain": did})
                continue
            out = codec.decode_keygen(share.expose())
            if public_key_string(out.group.name, out.public_key) != domain["public_key"]:
                log.error("stored key share does not match the contract's public key", extra={"domain": did})
                continue
            ctx.keyshares[did] = out
            log.info("key share loaded", extra={"domain": did, "scheme": domain["scheme"], "epoch": epoch})

    def _run_once(self, tag: str, work: Any) -> None:
        """Start `work` (a coroutine) for `tag` unless a task for it is already running."""
        task = self._tasks.get(tag)
        if task is None or task.done():
            self._tasks[tag] = asyncio.create_task(work, name=tag[:60])
        else:
            work.close()

    # ---- keygen -------------------------------------------------------------------------------------------------
    def _follow_keygen(self, gen: dict[str, Any], epoch: int, participants: list[ParticipantId]) -> None:
        kid = gen["key_event_id"]
        if kid is None:  # no attempt running (none started yet, or it timed out / was aborted)
            if gen["leader"] == self.ctx.account_id:
                self._start_key_event("start_keygen_instance", gen)
            return
        if self.ctx.account_id not in gen.get("votes", {}):
            self._run_once(json.dumps(kid, sort_keys=True), self._keygen(kid, gen["scheme"], epoch, participants))

    async def _keygen(self, kid: dict[str, Any], scheme: str, epoch: int, participants: list[ParticipantId]) -> None:
        """This node's part of one keygen attempt: the DKG on the attempt's own channel, the share stored with the
        attempt, `vote_pk`. A share stored by an earlier attempt is not reused (the others hold shares of the new
        attempt's key); a failed DKG votes to abort the attempt so the leader starts the next one."""
        ctx = self.ctx
        assert ctx.net is not None and ctx.me is not None
        domain = DomainId(int(kid["domain_id"]))
        attempt = json.dumps(kid, sort_keys=True)
        try:
            group = self.groups.get(scheme)
            if group is None:
                raise MpcError(f"this node serves no {scheme} domains")
            if ctx.store.key_share_attempt(domain, epoch) == attempt:
                _, share = ctx.store.key_share(domain, epoch)
                out = codec.decode_keygen(share.expose())
                log.info("keygen already done for this attempt; voting again", extra={"domain": domain})
            else:
                await ctx.net.wait_connected(participants, timeout_s=CONNECT_TIMEOUT_S)
                tag = attempt + "|" + ctx.contract_id
                log.info("keygen starting", extra={"domain": domain, "scheme": scheme, "participants": participants,
                                                   "key_event_id": kid})
                inst = keygen(group, participants, PPid(ctx.me), ctx.threshold,
                              hashlib.sha256(b"keygen|" + tag.encode()).digest(), ctx.rng)
                out = await run_protocol(ctx.net, channel("keygen", tag), inst, timeout_s=KEYGEN_TIMEOUT_S)
                ctx.store.put_key_share(domain, epoch, codec.encode_keygen(out), attempt=attempt)
            public_key = public_key_string(out.group.name, out.public_key)
            log.info("keygen done; voting", extra={"domain": domain, "public_key": public_key})
            outcome = await self.responder.call("vote_pk", {"key_event_id": kid, "public_key": public_key})
            if not outcome.ok:
                log.error("vote_pk rejected", extra={"domain": domain, "detail": outcome.detail})
                await asyncio.sleep(5.0)  # the coordinator retries the vote after this
        except (ProtocolError, ProtocolTimeout, MpcError) as exc:
            ctx.blame(exc, f"keygen of domain {domain}")
            with contextlib.suppress(MpcError):
                await self.responder.call("vote_abort_key_event_instance", {"key_event_id": kid})

    # ---- resharing ----------------------------------------------------------------------------------------------
    def _follow_resharing(self, event: dict[str, Any], old: dict[ParticipantId, ParticipantInfo],
                          new: dict[ParticipantId, ParticipantInfo], new_threshold: int, new_epoch: int) -> None:
        """Drive this node's part of the current domain's reshare attempt: the leader starts attempts; continuing
        participants deal their share, joiners receive; every new participant votes `vote_reshared` when done."""
        ctx = self.ctx
        kid = event["key_event_id"]
        if kid is None:
            if event["leader"] == ctx.account_id:
                self._start_key_event("start_reshare_instance", event)
            return
        assert ctx.me is not None
        dealers = sorted(set(old) & set(new))
        if ctx.me not in new or ctx.account_id in (event.get("instance") or {}).get("completed", []):
            return  # leaving nodes take no part; a done vote needs nothing more
        tag = "reshare|" + json.dumps(kid, sort_keys=True)
        if tag not in self._tasks:  # one run per attempt: a failed run voted to abort it
            self._tasks[tag] = asyncio.create_task(self._reshare(
                kid, tag, DomainId(int(event["domain_id"])), dealers, sorted(new), new_threshold, new_epoch))

    async def _reshare(self, kid: dict[str, Any], tag: str, domain: DomainId, dealers: list[ParticipantId],
                       new: list[ParticipantId], new_threshold: int, new_epoch: int) -> None:
        ctx = self.ctx
        assert ctx.net is not None and ctx.me is not None
        try:
            old_share = ctx.keyshares.get(domain) if ctx.me in dealers else None
            if ctx.me in dealers:
                if old_share is None:
                    raise MpcError(f"dealer without a key share for domain {domain}")
                package = PublicKeyPackage.from_keygen(old_share)
                joiners = [p for p in new if p not in dealers]
                await ctx.net.wait_connected([*dealers, *new], timeout_s=CONNECT_TIMEOUT_S)
                await ctx.send_control(joiners, ResharePackage(tag[-MAX_SESSION_CHARS:],
                                                               codec.encode_public_package(package)))
            else:
                package = await self._await_package(tag[-MAX_SESSION_CHARS:], domain)
            log.info("resharing starting", extra={"domain": domain, "key_event_id": kid, "dealers": dealers,
                                                  "new_participants": new, "new_threshold": new_threshold})
            inst = reshare(package, dealers, new, new_threshold, PPid(ctx.me),
                           hashlib.sha256(b"reshare|" + tag.encode() + b"|" + ctx.contract_id.encode()).digest(),
                           ctx.rng, old_share=old_share)
            out = await run_protocol(ctx.net, channel("reshare", tag), inst, timeout_s=KEYGEN_TIMEOUT_S)
            if out.key is None or out.public.public_key != package.public_key:
                raise MpcError("resharing produced no share under the unchanged key")
            ctx.store.put_key_share(domain, new_epoch, codec.encode_keygen(out.key))
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
            ctx.blame(exc, f"resharing of domain {domain}")
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
        if public_key_string(package.group.name, package.public_key) != self.ctx.public_keys.get(domain):
            raise MpcError(f"the public package a dealer sent is not the contract's key for domain {domain}")
        return package

    def _new_epoch(self, epoch: int, participant: bool) -> None:
        """A resharing completed: shares of the new epoch replace the old ones; assets made with the old shares or
        participant set are retired (the pools refill at once)."""
        ctx = self.ctx
        log.info("new epoch", extra={"epoch": epoch, "previous": ctx.epoch, "participant": participant})
        ctx.keyshares.clear()
        ctx.blamed.clear()
        for kind in AssetKind:
            ctx.store.discard_all(kind)
        if not participant:
            self._leave(epoch)

    def _running(self, epoch: int) -> None:
        """Running (at start, in a new epoch, or in the same one after a cancelled resharing): stop any reshare
        still in flight and keep only this epoch's key shares (a cancelled attempt's are secret material too)."""
        stopped = [tag for tag in self._tasks if tag.startswith("reshare|")]
        for tag in stopped:
            self._tasks.pop(tag).cancel()
        removed = self.ctx.store.keep_key_shares_of(epoch)
        if stopped or removed:
            log.info("running: reshares stopped, other epochs' key shares deleted",
                     extra={"epoch": epoch, "reshares_stopped": len(stopped), "key_shares_deleted": removed})

    def _leave(self, epoch: int) -> None:
        """This node is no longer a participant: delete its key shares and assets."""
        ctx = self.ctx
        removed = ctx.store.delete_key_shares()
        for kind in AssetKind:
            ctx.store.discard_all(kind)
        ctx.keyshares.clear()
        log.info("left the participant set; key shares and assets deleted", extra={"epoch": epoch,
                                                                                  "key_shares": removed})

    def _start_key_event(self, method: str, event: dict[str, Any]) -> None:
        """As the leader, start the contract's next keygen or reshare attempt (`method`)."""
        kid = {"epoch_id": event["epoch_id"], "domain_id": event["domain_id"], "attempt_id": event["next_attempt_id"]}
        self._run_once("start|" + json.dumps(kid, sort_keys=True), self._call_start(method, kid))

    async def _call_start(self, method: str, kid: dict[str, Any]) -> None:
        outcome = await self.responder.call(method, {"key_event_id": kid})
        if outcome.ok:
            log.info("key event attempt started", extra={"method": method, "key_event_id": kid})
        else:
            log.warning(f"{method} rejected", extra={"key_event_id": kid, "detail": outcome.detail})
            await asyncio.sleep(2.0)  # the coordinator tries again after this
