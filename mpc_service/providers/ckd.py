"""Confidential key derivation (docs/ckd.md): a Bls12381 domain's key is shared over G2; for a CKD request the
leader picks t live participants, each sends its ElGamal-encrypted, Lagrange-weighted share of msk·H(app_id) to the
leader (`mpc_service.protocol.ckd`), the leader adds them and answers `respond_ckd` with (Y, C). No assets.

When the request carries the requester's G2 key (pk2) the leader checks the output as the contract will,
e(C, G2) = e(Y, pk2)·e(H, mvk), before it responds, so a bad share costs a retry, not a rejected transaction.
"""

from __future__ import annotations

import random
import secrets
from typing import Any

from chainsig.ckd import verify_ckd_output
from mpc_service.chain.events import PendingCkdRequest, PendingRequest
from mpc_service.checks import CKD_SCHEME, check_ckd_task, check_signing_set
from mpc_service.context import channel
from mpc_service.control import CkdRequest, ControlMessage
from mpc_service.protocol import ParticipantId as PPid
from mpc_service.protocol import Point, ProtocolError
from mpc_service.protocol.ckd import ckd
from mpc_service.protocol.groups import BLS12381_G2
from mpc_service.providers.base import NotReady, SchemeProvider
from mpc_service.runner import run_protocol
from mpc_service.types import ParticipantId

__all__ = ["CkdProvider"]

CKD_TIMEOUT_S = 5.0


class CkdProvider(SchemeProvider):
    scheme = CKD_SCHEME
    group = BLS12381_G2
    follows = (CkdRequest,)

    def check(self, request: PendingRequest) -> None:
        check_ckd_task(request, request_id=request.request_id, domain_id=request.domain_id,
                       domains=self.ctx.keyed_schemes())

    async def lead(self, request: PendingRequest) -> dict[str, Any]:
        ctx = self.ctx
        assert ctx.me is not None and ctx.net is not None
        assert isinstance(request, PendingCkdRequest)  # check() passed
        others = sorted(ctx.eligible() - {ctx.me})
        if len(others) < ctx.threshold - 1:
            raise NotReady("not enough live participants for CKD")
        ps = tuple(sorted([ctx.me, *random.sample(others, ctx.threshold - 1)]))
        session = secrets.token_hex(8)
        await ctx.send_control(ps, CkdRequest(request.request_id, request.instance_id, request.domain_id, ps, session))
        key = ctx.keyshares[request.domain_id]
        inst = ckd(key, list(ps), PPid(ctx.me), request.app_id, Point(request.pk1), ctx.rng)
        output = await run_protocol(ctx.net, channel("ckd", request.instance_id.hex(), session), inst,
                                    timeout_s=CKD_TIMEOUT_S)
        assert output is not None
        if request.pk2 is not None and not verify_ckd_output(output, request.pk2, key.public_key, request.app_id):
            raise ProtocolError("the combined CKD output does not verify (a participant sent a bad share)",
                                phase="ckd")
        return output.to_json()

    async def follow(self, sender: ParticipantId, message: ControlMessage) -> None:
        ctx = self.ctx
        assert isinstance(message, CkdRequest)
        assert ctx.net is not None and ctx.me is not None
        req = check_ckd_task(await ctx.await_seen(message.instance_id), request_id=message.request_id,
                             domain_id=message.domain_id, domains=ctx.keyed_schemes())
        check_signing_set(message.participants, sender=sender, me=ctx.me, eligible=ctx.participants,
                          threshold=ctx.threshold)
        inst = ckd(ctx.keyshares[message.domain_id], list(message.participants), PPid(sender), req.app_id,
                   Point(req.pk1), ctx.rng)
        await run_protocol(ctx.net, channel("ckd", req.instance_id.hex(), message.session), inst,
                           timeout_s=CKD_TIMEOUT_S, tamper=ctx.tamper)
