"""Test doubles of misbehaving participants, started by the e2e tests in place of a node (production code has none).

`python -m tests.e2e.malicious_node --config node.toml --behaviour B` from the repository root:

* `cross-scheme` (CrossSchemeLeader): the honest node plus one attack. For every Ed25519 request it sees,
it leads an ECDSA signing of the request's 32-byte payload with one of its secp256k1 presignatures — once naming the
request's own (Ed25519) domain, once naming the secp256k1 domain — and asks the presignature's other participants
for their shares. An ECDSA signature over that payload under the requester's derived secp256k1 key is something
nobody asked for. It logs `attack succeeded` (with the signature) or `attack failed`.
* `bad-shares` (BadSharesForger): flips a bit of every signing message it sends as a follower, and answers every
  request it sees at once with a made-up signature (`malicious respond sent`, with whether the contract took it).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

from chainsig.types import PayloadScheme
from mpc_service.__main__ import run_node
from mpc_service.assets import AssetKind
from mpc_service.chain.events import PendingSignRequest
from mpc_service.context import channel
from mpc_service.control import EcdsaSignRequest
from mpc_service.node import MpcNode
from mpc_service.protocol import ParticipantId as PPid
from mpc_service.protocol import ProtocolError, ecdsa_sign
from mpc_service.providers.ecdsa import EcdsaProvider, NoPresignature
from mpc_service.runner import ProtocolTimeout, run_protocol
from mpc_service.types import DomainId

log = logging.getLogger("mpc_service.node")


class CrossSchemeLeader(MpcNode):
    """Leads ECDSA signings of Ed25519 requests (see the module docstring)."""

    async def start(self) -> None:
        await super().start()
        self.ctx.spawn(self._attack(), "attack")

    async def _attack(self) -> None:
        attacked: set[bytes] = set()
        while True:
            await asyncio.sleep(0.2)
            ecdsa = self.ctx.domains_of("Secp256k1")
            for req in list(self.ctx.seen.values()):
                if (not isinstance(req, PendingSignRequest) or req.payload_kind is not PayloadScheme.EDDSA
                        or len(req.payload) != 32 or req.instance_id in attacked or not ecdsa):
                    continue
                attacked.add(req.instance_id)
                for named in (req.domain_id, ecdsa[0]):
                    await self._one_attack(req, named, ecdsa[0])

    async def _one_attack(self, req: Any, named: DomainId, key_domain: DomainId) -> None:
        ctx = self.ctx
        assert ctx.me is not None and ctx.net is not None
        ecdsa = self.providers["Secp256k1"]
        assert isinstance(ecdsa, EcdsaProvider)
        deadline = asyncio.get_running_loop().time() + 60
        while True:  # right after a restart no peer is live yet, so no presignature fits: wait for one
            try:
                info = ecdsa.pick_presignature(key_domain)
                break
            except NoPresignature as exc:
                if asyncio.get_running_loop().time() > deadline:
                    log.warning("attack failed", extra={"stage": "no presignature", "error": repr(exc)})
                    return
                await asyncio.sleep(0.3)
        taken = ctx.store.take_owned(AssetKind.PRESIGNATURE, info.id)
        from mpc_service import codec

        pre = codec.decode_presignature(taken.value.expose())
        ps = list(taken.participants)
        log.warning("attack started", extra={"request": req.request_id.hex()[:16], "named_domain": named,
                                             "presignature": info.id, "participants": ps})
        await ctx.send_control(ps, EcdsaSignRequest(req.request_id, req.instance_id, named, info.id,
                                                      taken.participants))
        inst = ecdsa_sign(pre, ps, PPid(ctx.me), tweak=req.tweak, msg_hash=req.payload, entropy=req.entropy)
        try:
            sig = await run_protocol(ctx.net, channel("sign", req.instance_id.hex(), info.id), inst, timeout_s=8.0)
        except (ProtocolError, ProtocolTimeout) as exc:
            log.warning("attack failed", extra={"stage": "signing", "named_domain": named, "presignature": info.id,
                                                "error": repr(exc)})
            return
        log.warning("attack succeeded", extra={"named_domain": named, "presignature": info.id,
                                               "request": req.request_id.hex(), "signature": sig.to_contract_json()})


class BadSharesForger(MpcNode):
    """Corrupts its signature shares and sends forged responds (see the module docstring)."""

    async def start(self) -> None:
        await super().start()
        self.ctx.spawn(self._forge(), "forge")

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.ctx.tamper = lambda data: data[:-1] + bytes([data[-1] ^ 1]) if data else data

    async def _forge(self) -> None:
        import os

        import coincurve

        forged: set[bytes] = set()
        while True:
            await asyncio.sleep(0.1)
            for req in list(self.ctx.seen.values()):
                if (not isinstance(req, PendingSignRequest) or req.instance_id in forged
                        or self.indexer.latest_height - req.block_height > 20):
                    continue
                forged.add(req.instance_id)
                if req.payload_kind is PayloadScheme.ECDSA:
                    fake = coincurve.PrivateKey().sign_recoverable(req.payload, hasher=None)
                    point = coincurve.PrivateKey().public_key.format(compressed=True)
                    response: dict[str, Any] = {"scheme": "Secp256k1", "big_r": {"affine_point": point.hex()},
                                                "s": {"scalar": fake[32:64].hex()}, "recovery_id": 0}
                else:
                    response = {"scheme": "Ed25519", "signature": list(os.urandom(64))}
                outcome = await self.responder.respond(req.respond_request(), response)
                log.warning("malicious respond sent", extra={"request": req.request_id.hex()[:16], "ok": outcome.ok})


BEHAVIOURS = {"cross-scheme": CrossSchemeLeader, "bad-shares": BadSharesForger}


def main() -> int:
    parser = argparse.ArgumentParser(prog="malicious_node")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--behaviour", choices=sorted(BEHAVIOURS), default="cross-scheme")
    args = parser.parse_args()
    return asyncio.run(run_node(args.config, BEHAVIOURS[args.behaviour]))


if __name__ == "__main__":
    raise SystemExit(main())
