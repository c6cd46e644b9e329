"""Ed25519 by FROST (RFC 9591): no precomputed assets; the leader picks t live participants and runs both rounds."""

from __future__ import annotations

import random
import secrets
from typing import Any

from mpc_service.chain.events import PendingRequest, PendingSignRequest
from mpc_service.checks import check_sign_task, check_signing_set
from mpc_service.context import channel
from mpc_service.control import ControlMessage, FrostSignRequest
from mpc_service.protocol import ED25519, frost_sign
from mpc_service.protocol import ParticipantId as PPid
from mpc_service.providers.base import NotReady, SignProvider
from mpc_service.runner import run_protocol
from mpc_service.types import ParticipantId

__all__ = ["EddsaProvider"]

SIGN_TIMEOUT_S = 5.0


class EddsaProvider(SignProvider):
    scheme = "Ed25519"
    group = ED25519
    follows = (FrostSignRequest,)

    async def lead(self, request: PendingRequest) -> dict[str, Any]:
        ctx = self.ctx
        assert isinstance(request, PendingSignRequest)  # check() passed
        assert ctx.me is not None and ctx.net is not None
        others = sorted(ctx.eligible() - {ctx.me})
        if len(others) < ctx.threshold - 1:
            raise NotReady("not enough live participants for FROST")
        ps = tuple(sorted([ctx.me, *random.sample(others, ctx.threshold - 1)]))
        session = secrets.token_hex(8)
        await ctx.send_control(ps, FrostSignRequest(request.request_id, request.instance_id, request.domain_id, ps,
                                                    session))
        inst = frost_sign(ctx.keyshares[request.domain_id], list(ps), PPid(ctx.me), request.payload, request.tweak,
                          ctx.rng)
        sig = await run_protocol(ctx.net, channel("frost", request.instance_id.hex(), session), inst,
                                 timeout_s=SIGN_TIMEOUT_S)
        assert sig is not None
        return {"scheme": "Ed25519", "signature": list(sig)}

    async def follow(self, sender: ParticipantId, message: ControlMessage) -> None:
        ctx = self.ctx
        assert isinstance(message, FrostSignRequest)
        assert ctx.net is not None and ctx.me is not None
        req = check_sign_task(await ctx.await_seen(message.instance_id), request_id=message.request_id,
                              domain_id=message.domain_id, scheme=self.scheme, domains=ctx.keyed_schemes())
        check_signing_set(message.participants, sender=sender, me=ctx.me, eligible=ctx.participants,
                          threshold=ctx.threshold)
        inst = frost_sign(ctx.keyshares[message.domain_id], list(message.participants), PPid(sender), req.payload,
                          req.tweak, ctx.rng)
        await run_protocol(ctx.net, channel("frost", req.instance_id.hex(), message.session), inst,
                           timeout_s=SIGN_TIMEOUT_S, tamper=ctx.tamper)
