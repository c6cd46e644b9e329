"""Presignatures (cait-sith, 2 rounds) from two triples (a, b, c) and (k, d, e = k·d) and the key shares x_i.

0. open e:       broadcast e_i; e = Σ λ_i e_i, checked e·G = E (per-share e_i·G = E(i) names a culprit);
1. open α, β:    broadcast α_i = k_i + a_i and β_i = x_i + b_i; checked α·G = K + A and β·G = X + B;
output:          R = e⁻¹·D = k⁻¹·G, my shares k_i and σ_i = α·x_i − β·a_i + c_i (a Shamir sharing of k·x).

The presigning set (at least t parties) must be a subset of the set the triples were made for and of the key's
participants; the signing set must later be exactly the presigning set.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .errors import BadShareError, ParticipantSetError, ZeroOrIdentityError
from .groups import SECP256K1, Point
from .keygen import KeygenOutput
from .machine import Channel, Protocol, ProtocolBody, Receive, check_participants
from .polynomial import eval_commitment, eval_point, lagrange_coefficients
from .secret import SingleUse
from .triples import Triple
from .types import ParticipantId
from .wire import Reader, Writer

__all__ = ["Presignature", "PresignatureSecrets", "presign"]


@dataclass(frozen=True)
class PresignatureSecrets:
    """My shares k_i (of k, R = k⁻¹·G) and σ_i (of k·x)."""

    k: int
    sigma: int

    def __repr__(self) -> str:
        return "PresignatureSecrets(<redacted>)"


@dataclass(frozen=True)
class Presignature:
    """A single-use presignature share; ``take()`` hands out the secrets once.

    The public fields let a coordinator recompute every participant's k_j·G and σ_j·G to name a bad signature share.
    """

    me: ParticipantId
    participants: tuple[ParticipantId, ...]
    threshold: int
    big_r: Point
    public_key: Point
    k_commitments: tuple[Point, ...]
    sigma_parts: tuple[int, int, tuple[Point, ...], tuple[Point, ...], tuple[Point, ...]]
    """(α, β, key commitments, A commitments, C commitments): σ_j·G = α·X(j) − β·A(j) + C(j)."""
    secrets: SingleUse[PresignatureSecrets] = field(compare=False)

    def take(self) -> PresignatureSecrets:
        return self.secrets.take()

    def k_point(self, j: ParticipantId) -> Point:
        return eval_commitment(SECP256K1, self.k_commitments, eval_point(j))

    def sigma_point(self, j: ParticipantId) -> Point:
        g = SECP256K1
        alpha, beta, x_c, a_c, c_c = self.sigma_parts
        x = eval_point(j)
        parts = [
            g.mul(eval_commitment(g, x_c, x), alpha),
            g.mul(eval_commitment(g, a_c, x), -beta),
            eval_commitment(g, c_c, x),
        ]
        return g.sum(parts)


def _open(
    values: dict[ParticipantId, int],
    lambdas: dict[ParticipantId, int],
    expected: Point,
    share_point: Callable[[ParticipantId], Point],
    what: str,
) -> int:
    """Interpolate an opened value and check it in the exponent; on failure name the participant whose share is bad."""
    g = SECP256K1
    value = sum(lambdas[j] * v for j, v in values.items()) % g.order
    if g.base_mul(value) != expected:
        for j in sorted(values):
            if g.base_mul(values[j]) != share_point(j):
                raise BadShareError(f"opened share of {what} does not match its commitment", culprit=j,
                                    phase="presign")
        raise BadShareError(f"opened {what} does not match its commitment", phase="presign")  # pragma: no cover
    return value


def presign(
    keygen_output: KeygenOutput,
    triple0: Triple,
    triple1: Triple,
    participants: Sequence[int],
) -> Protocol[Presignature]:
    """Start a presignature for ``keygen_output.me`` from two fresh triples (both are consumed at once)."""
    g = SECP256K1
    if keygen_output.group is not g:
        raise ParticipantSetError("ECDSA presignatures need a secp256k1 key", phase="presign")
    me = keygen_output.me
    t = keygen_output.threshold
    ps = check_participants(g, participants, me=me, threshold=t, phase="presign")
    if not set(ps) <= set(keygen_output.participants):
        raise ParticipantSetError("presign participants must hold key shares", phase="presign")
    for tr in (triple0, triple1):
        if not set(ps) <= set(tr.public.participants) or tr.public.threshold != t or tr.me != me:
            raise ParticipantSetError("triples were generated for another participant set or threshold",
                                      phase="presign")
    if triple0.public == triple1.public:
        raise ParticipantSetError("the two triples must be different", phase="presign")
    s0 = triple0.take()
    s1 = triple1.take()
    x_me = keygen_output.private_share.expose()
    lambdas = lagrange_coefficients(g, ps)
    t0, t1 = triple0.public, triple1.public
    key_c = keygen_output.verification_commitments

    def at(commitments: tuple[Point, ...]) -> Callable[[ParticipantId], Point]:
        return lambda j: eval_commitment(g, commitments, eval_point(j))

    def body(ch: Channel) -> ProtocolBody[Presignature]:
        others = frozenset(ch.others)
        ch.broadcast(0, Writer().scalar(g, s1.c).finish())
        got = yield Receive(0, others)
        e_shares = {me: s1.c}
        for j, payload in got.items():
            r = Reader(payload, j)
            e_shares[j] = r.scalar(g)
            r.finish()
        e = _open(e_shares, lambdas, t1.big_c, at(t1.c_commitments), "e = k·d")
        if e == 0:
            raise ZeroOrIdentityError("opened e is zero", phase="presign")

        alpha_me = (s1.a + s0.a) % g.order
        beta_me = (x_me + s0.b) % g.order
        ch.broadcast(1, Writer().scalar(g, alpha_me).scalar(g, beta_me).finish())
        got = yield Receive(1, others)
        alphas, betas = {me: alpha_me}, {me: beta_me}
        for j, payload in got.items():
            r = Reader(payload, j)
            alphas[j], betas[j] = r.scalar(g), r.scalar(g)
            r.finish()
        alpha = _open(alphas, lambdas, g.add(t1.big_a, t0.big_a),
                      lambda j: g.add(at(t1.a_commitments)(j), at(t0.a_commitments)(j)), "alpha = k + a")
        beta = _open(betas, lambdas, g.add(keygen_output.public_key, t0.big_b),
                     lambda j: g.add(at(key_c)(j), at(t0.b_commitments)(j)), "beta = x + b")

        big_r = g.mul(t1.big_b, g.invert(e))
        g.require_not_identity(big_r, "R")
        sigma = (alpha * x_me - beta * s0.a + s0.c) % g.order
        return Presignature(
            me=me,
            participants=ps,
            threshold=t,
            big_r=big_r,
            public_key=keygen_output.public_key,
            k_commitments=t1.a_commitments,
            sigma_parts=(alpha, beta, key_c, t0.a_commitments, t0.c_commitments),
            secrets=SingleUse(PresignatureSecrets(s1.a, sigma), "presignature"),
        )

    return Protocol("presign", ps, me, 2, body)
