"""Non-interactive zero-knowledge proofs (Fiat–Shamir over a ``Transcript``): Schnorr and Chaum–Pedersen DLEQ.

The caller's transcript carries the context (session id, participant, protocol phase) that binds a proof to one use.
"""
from __future__ import annotations

from dataclasses import dataclass

from .groups import Group, Point, RandomSource
from .transcript import Transcript

__all__ = ["DleqProof", "SchnorrProof", "prove_dleq", "prove_schnorr", "verify_dleq", "verify_schnorr"]


@dataclass(frozen=True)
class SchnorrProof:
    """Proof of knowledge of x with X = x·G: (challenge e, response s = k + e·x)."""

    e: int
    s: int


def prove_schnorr(group: Group, context: Transcript, x: int, public: Point, rng: RandomSource) -> SchnorrProof:
    k = group.random_scalar(rng)
    big_r = group.base_mul(k)
    e = context.fork().append(b"X", public).append(b"R", big_r).challenge(group)
    return SchnorrProof(e, (k + e * x) % group.order)


def verify_schnorr(group: Group, context: Transcript, public: Point, proof: SchnorrProof) -> bool:
    big_r = group.sub(group.base_mul(proof.s), group.mul(public, proof.e))
    return context.fork().append(b"X", public).append(b"R", big_r).challenge(group) == proof.e


@dataclass(frozen=True)
class DleqProof:
    """Proof that log_G(A) = log_H(B) for a secret a: (challenge e, response s)."""

    e: int
    s: int


def _dleq_challenge(group: Group, context: Transcript, h: Point, a: Point, b: Point, r1: Point, r2: Point) -> int:
    t = context.fork().append(b"H", h).append(b"A", a).append(b"B", b)
    return t.append(b"R1", r1).append(b"R2", r2).challenge(group)


def prove_dleq(group: Group, context: Transcript, secret: int, h: Point, rng: RandomSource) -> DleqProof:
    """Prove A = secret·G and B = secret·H."""
    a, b = group.base_mul(secret), group.mul(h, secret)
    k = group.random_scalar(rng)
    e = _dleq_challenge(group, context, h, a, b, group.base_mul(k), group.mul(h, k))
    return DleqProof(e, (k + e * secret) % group.order)


def verify_dleq(group: Group, context: Transcript, h: Point, a: Point, b: Point, proof: DleqProof) -> bool:
    r1 = group.sub(group.base_mul(proof.s), group.mul(a, proof.e))
    r2 = group.sub(group.mul(h, proof.s), group.mul(b, proof.e))
    return _dleq_challenge(group, context, h, a, b, r1, r2) == proof.e
