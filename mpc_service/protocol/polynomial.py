"""Shamir polynomials, Feldman commitments and Lagrange coefficients.

Participant ``i`` holds the evaluation at ``x = i + 1`` (cait-sith's convention), so participant 0 is valid.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .groups import Group, Point, RandomSource
from .types import ParticipantId

__all__ = [
    "Polynomial",
    "add_commitments",
    "eval_commitment",
    "eval_point",
    "lagrange_at_zero",
    "lagrange_coefficients",
]


def eval_point(participant: ParticipantId) -> int:
    """The Shamir evaluation point of a participant."""
    return int(participant) + 1


@dataclass(frozen=True, repr=False)
class Polynomial:
    """A secret polynomial f(x) = Σ coefficients[k]·x^k over a group's scalar field (repr hides coefficients)."""

    group: Group
    coefficients: tuple[int, ...]

    @classmethod
    def random(cls, group: Group, degree: int, rng: RandomSource, constant: int | None = None) -> Polynomial:
        """A uniformly random polynomial of the given degree, optionally with a fixed constant term."""
        first = group.random_scalar(rng) if constant is None else constant % group.order
        return cls(group, (first, *(group.random_scalar(rng) for _ in range(degree))))

    def evaluate(self, x: int) -> int:
        acc = 0
        for c in reversed(self.coefficients):
            acc = (acc * x + c) % self.group.order
        return acc

    def share_for(self, participant: ParticipantId) -> int:
        return self.evaluate(eval_point(participant))

    def commit(self) -> tuple[Point, ...]:
        """Feldman commitments (c_k·G)."""
        return tuple(self.group.base_mul(c) for c in self.coefficients)

    def __repr__(self) -> str:
        return f"Polynomial(degree={len(self.coefficients) - 1}, coefficients=<redacted>)"


def eval_commitment(group: Group, commitments: Sequence[Point], x: int) -> Point:
    """Evaluate a Feldman-committed polynomial in the exponent at x (Horner): F(x) = Σ x^k·C_k."""
    acc = group.identity
    for c in reversed(commitments):
        acc = group.add(group.mul(acc, x), c)
    return acc


def add_commitments(group: Group, polys: Sequence[Sequence[Point]]) -> tuple[Point, ...]:
    """Coefficient-wise sum of committed polynomials of the same length."""
    return tuple(group.sum(column) for column in zip(*polys, strict=True))


def lagrange_at_zero(group: Group, participants: Sequence[ParticipantId], me: ParticipantId) -> int:
    """λ_me for interpolating at 0 over ``participants``: Π_{j≠me} x_j / (x_j − x_me)."""
    xi = eval_point(me)
    num, den = 1, 1
    for p in participants:
        if p == me:
            continue
        xj = eval_point(p)
        num = num * xj % group.order
        den = den * (xj - xi) % group.order
    return num * pow(den, -1, group.order) % group.order


def lagrange_coefficients(group: Group, participants: Sequence[ParticipantId]) -> dict[ParticipantId, int]:
    """λ_i for every participant of the set."""
    return {p: lagrange_at_zero(group, participants, p) for p in participants}
