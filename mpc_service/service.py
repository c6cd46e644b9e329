"""The request path of a node: indexer updates → request queue → the scheme's provider → responder → chain.

`follow_updates` records each request the indexer saw (the node's own copy, which followers check leaders against)
and feeds the queue; `serve` starts the requests this node leads; `lead` checks a request, asks the contract whether
it is still pending, has the domain's provider produce the response and submits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping

from mpc_service.chain.events import PendingRequest
from mpc_service.chain.indexer import BlockUpdate, Indexer
from mpc_service.chain.rpc import JsonRpc
from mpc_service.checks import TaskRefused
from mpc_service.context import NodeContext
from mpc_service.errors import MpcError
from mpc_service.protocol import ProtocolError
from mpc_service.providers import NotReady, SchemeProvider
from mpc_service.responder import Responder
from mpc_service.runner import ProtocolTimeout

__all__ = ["RequestService"]

log = logging.getLogger("mpc_service.node")

NOT_READY_RETRY_S = 0.3


class RequestService:
    """See the module docstring. `providers` maps each scheme to its provider."""

    def __init__(self, ctx: NodeContext, indexer: Indexer, rpc: JsonRpc, responder: Responder,
                 providers: Mapping[str, SchemeProvider]) -> None:
        self.ctx = ctx
        self.indexer = indexer
        self.rpc = rpc
        self.responder = responder
        self.providers = dict(providers)
        self.wake = asyncio.Event()
        self.latencies_ms: list[float] = []

    async def follow_updates(self) -> None:
        ctx = self.ctx
        while True:
            update: BlockUpdate = await self.indexer.updates.get()
            queue = ctx.queue
            for req in update.requests:
                ctx.seen[req.instance_id] = req
                ctx.metrics["requests_seen"] += 1
                if queue is not None and queue.add(req):
                    log.info("request seen", extra={"kind": type(req).__name__,"request": req.request_id.hex()[:16], "height": req.block_height,
                                                         "domain": req.domain_id, "caller": req.caller})
            if queue is not None:
                for rid in update.responded:
                    if not update.catching_up:
                        queue.mark_responded(rid)
                for dropped in queue.update_height(update.height):
                    ctx.metrics["requests_dropped"] += 1
                    log.info("request left the queue after expiry_blocks (answered elsewhere or timed out)",
                             extra={"request": dropped.request.request_id.hex()[:16]})
            horizon = update.height - 2 * ctx.config.queue.expiry_blocks
            if len(ctx.seen) > 10_000:
                ctx.seen = {k: v for k, v in ctx.seen.items() if v.block_height >= horizon}
            if update.requests:
                ctx.requests_arrived(update.catching_up)
                self.wake.set()

    async def serve(self) -> None:
        ctx = self.ctx
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), ctx.config.queue.check_interval_s)
            self.wake.clear()
            queue = ctx.queue
            if queue is None or not ctx.keyshares:
                continue
            due, dropped = queue.due(ctx.live())
            for d in dropped:
                ctx.metrics["requests_failed"] += 1
                log.error("request dropped: attempts exhausted", extra={"request": d.request.request_id.hex()[:16]})
            for req in due:
                ctx.spawn(self.lead(req), "lead")

    async def lead(self, req: PendingRequest) -> None:
        ctx = self.ctx
        queue = ctx.queue
        assert queue is not None
        rid, instance = req.request_id, req.instance_id
        started = time.monotonic()
        try:
            scheme = ctx.keyed_schemes().get(req.domain_id)
            provider = self.providers.get(scheme) if scheme is not None else None
            if scheme is None or provider is None:
                raise MpcError(f"no key share for domain {req.domain_id}")
            # The leader checks what followers check, before any asset is taken.
            provider.check(req)
            with provider.reserve(req):
                # A `sign` receipt may have failed (bad deposit or gas): ask the contract, never spend a presignature
                # on it. At "optimistic": the indexer reads blocks as they are produced; on a real chain "final" lags
                # a few blocks behind, where a fresh request is not pending yet.
                pending = await self.rpc.view(ctx.contract_id, req.pending_view, {"request": req.respond_request()},
                                              finality="optimistic")
                if pending is None:
                    queue.complete(instance)
                    ctx.metrics["requests_completed_elsewhere"] += 1
                    return
                checked = time.monotonic()
                response = await provider.lead(req)
            signed = time.monotonic()
            outcome = await self.responder.call(req.respond_method, {"request": req.respond_request(),
                                                                     "response": response})
        except TaskRefused as exc:
            log.warning("request refused: the contract should not have accepted it",
                        extra={"request": rid.hex()[:16], "error": str(exc)})
            queue.complete(instance)
            return
        except (ProtocolError, ProtocolTimeout) as exc:
            ctx.blame(exc, f"signing request {rid.hex()[:16]}")
            queue.failed(instance)
            self.wake.set()
            return
        except NotReady as exc:
            log.debug("request waits for a presignature", extra={"request": rid.hex()[:16], "error": str(exc)})
            queue.not_ready(instance, NOT_READY_RETRY_S)
            return
        except (MpcError, KeyError, ValueError) as exc:
            log.warning("request attempt failed", extra={"request": rid.hex()[:16], "error": repr(exc)})
            queue.failed(instance)
            return
        if outcome.ok:
            queue.complete(instance)
            ctx.metrics["requests_served"] += 1
            self.latencies_ms.append((time.monotonic() - started) * 1000)
            self.latencies_ms = self.latencies_ms[-10_000:]
            log.info("request served", extra={"request": rid.hex()[:16], "ms": round(self.latencies_ms[-1], 1),
                                              "ms_check": round((checked - started) * 1000, 1),
                                              "ms_sign": round((signed - checked) * 1000, 1),
                                              "ms_respond": round((time.monotonic() - signed) * 1000, 1),
                                              "tx": outcome.tx_hash})
        else:
            ctx.metrics["respond_rejected"] += 1
            log.warning("respond rejected by the contract", extra={"request": rid.hex()[:16],
                                                                    "detail": outcome.detail})
            queue.submitted(instance)
