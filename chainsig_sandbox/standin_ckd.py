"""A stand-in for the MPC network's confidential key derivation in contract-only tests and benchmarks: a BLS12-381
master key shared by the project's DKG over G2 (run in memory), and `respond_ckd` arguments built by running the
CKD protocol (mpc_service/protocol/ckd.py) among its participants, as the nodes would.

    keys = StandInCkdKeys.generate()
    domains = [*StandInKeys.generate().domains(), keys.domain(2)]            # init_running with a Bls12381 domain
    requester = CkdRequesterKey.generate(secrets.SystemRandom())
    request_args = {"derivation_path": "p", "app_public_key": app_public_key(requester, verifiable=True), "domain_id": 2}
    ... item = await wait_event(pending, "ckd_request")
    response = keys.respond(item["request"])                                 # {"big_y", "big_c"}
    key = decrypt_response(response, requester, keys.master_public_key, app_id_of(item["request"]))
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import base58

from chainsig.kdf import APP_ID_PREFIX, derive_app_id
from mpc_service.protocol import KeygenOutput, ParticipantId, keygen, run_protocols
from mpc_service.protocol.ckd import CkdOutput, CkdRequesterKey, ckd, decrypt_ckd_output
from mpc_service.protocol.groups import BLS12381_G2, Point, RandomSource

__all__ = ["APP_ID_PREFIX", "G1_PREFIX", "G2_PREFIX", "StandInCkdKeys", "app_id", "app_public_key", "decode_point",
           "decrypt_response", "encode_point"]

G1_PREFIX = "bls12381g1:"
G2_PREFIX = "bls12381g2:"
app_id = derive_app_id  # the client's definition: SHA3-256(prefix ‖ predecessor ‖ "," ‖ path)


def encode_point(point: bytes, prefix: str) -> str:
    """Any bytes as a NEAR BLS point string, unchecked (tests also build malformed ones); `chainsig.ckd.format_bls_key`
    is the checked form."""
    return prefix + base58.b58encode(point).decode()


def decode_point(text: str, prefix: str) -> Point:
    """The bytes of a NEAR BLS point string, unchecked (`chainsig.ckd.parse_g1`/`parse_g2` validate)."""
    if not text.startswith(prefix):
        raise ValueError(f"expected {prefix}<base58>, got {text!r}")
    return Point(base58.b58decode(text[len(prefix):]))


def app_public_key(requester: CkdRequesterKey, *, verifiable: bool) -> str | dict[str, str]:
    """The `app_public_key` of a request: pk1 alone, or {pk1, pk2} (the response is then checked on chain)."""
    pk1 = encode_point(requester.public_key, G1_PREFIX)
    return {"pk1": pk1, "pk2": encode_point(requester.public_key_g2, G2_PREFIX)} if verifiable else pk1


def decrypt_response(response: Mapping[str, str], requester: CkdRequesterKey, master_public_key: Point,
                     ident: bytes) -> Point:
    """S = C − a·Y, checked to be a BLS signature on (mvk ‖ app_id) (ckd.decrypt_ckd_output)."""
    output = CkdOutput(decode_point(response["big_y"], G1_PREFIX), decode_point(response["big_c"], G1_PREFIX))
    return Point(decrypt_ckd_output(output, requester, master_public_key, ident))


@dataclass(frozen=True)
class StandInCkdKeys:
    """A master key over G2 held as DKG shares (a test double: the secret shares live in one process)."""

    outputs: Mapping[ParticipantId, KeygenOutput] = field(repr=False)

    @classmethod
    def generate(cls, participants: int = 3, threshold: int = 2, rng: RandomSource | None = None) -> StandInCkdKeys:
        source = rng or secrets.SystemRandom()
        ps = [ParticipantId(i) for i in range(participants)]
        sid = source.randbytes(16)
        return cls(run_protocols({p: keygen(BLS12381_G2, ps, p, threshold, sid, source) for p in ps}))

    @property
    def master_public_key(self) -> Point:
        return next(iter(self.outputs.values())).public_key

    def domain(self, domain_id: int) -> dict[str, Any]:
        """The `init_running` domain entry of this key."""
        return {"id": domain_id, "scheme": "Bls12381", "public_key": encode_point(self.master_public_key, G2_PREFIX)}

    def respond(self, request: Mapping[str, Any], *, rng: RandomSource | None = None) -> dict[str, str]:
        """`respond_ckd`'s response for a pending request object: a CKD session of `threshold` participants."""
        source = rng or secrets.SystemRandom()
        key = request["app_public_key"]
        pk1 = decode_point(key if isinstance(key, str) else key["pk1"], G1_PREFIX)
        ident = bytes.fromhex(request["app_id"])
        first = next(iter(self.outputs.values()))
        session = sorted(self.outputs)[: first.threshold]
        coordinator = session[0]
        done = run_protocols({p: ckd(self.outputs[p], session, coordinator, ident, pk1, source) for p in session})
        output = done[coordinator]
        if output is None:
            raise RuntimeError("the CKD coordinator returned no output")
        return {"big_y": encode_point(output.big_y, G1_PREFIX), "big_c": encode_point(output.big_c, G1_PREFIX)}
