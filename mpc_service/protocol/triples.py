"""Beaver triples (a, b, c = a·b) shared among the presigning participants, behind a ``TripleGenerator`` seam.

``HonestMajorityTripleGenerator`` (the generator shipped now) — security model: static, malicious adversary
corrupting at most t−1 of n parties with n ≥ 2t−1; malicious behaviour is detected and aborts naming a culprit
(no guaranteed output). Construction (BGW-style multiplication with Feldman-verified resharing):

0. commit:  each party i hashes its Feldman commitments to random degree-(t−1) polynomials f_i^a, f_i^b (per triple);
1. reveal:  echo of all hash commitments + the commitments and openings (broadcast),
            shares f_i^a(j), f_i^b(j) (private);
   everyone checks the shares against the commitments; a = Σ f_i^a(0), b = Σ f_i^b(0);
2. reshare: party j reshares its product point a_j·b_j (on the degree-2t−2 product polynomial) with a fresh
   degree-(t−1) polynomial g_j, broadcasting G_j = g_j·G and a DLEQ proof that G_j(0) = a_j·B_j where B_j = b_j·G
   (public from the Feldman commitments) — so g_j(0) really is a_j·b_j; shares g_j(k) go privately;
   c_k = Σ_j λ_j g_j(k) over all n ≥ 2t−1 parties (degree reduction), with public C = Σ_j λ_j·G_j;
3. confirm: echo a hash of all public triple data; all must agree.

The triple's public commitments (A, B, C polynomials) let the presign check every opened share in the exponent.
For n < 2t−1 use ``triples_ot.DishonestMajorityTripleGenerator`` (cait-sith's OT-based multiplication);
``triples_ot.triple_generator_for`` picks between the two.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import BadProofError, BadShareError, CommitmentMismatchError, ParticipantSetError, ZeroOrIdentityError
from .groups import SECP256K1, Group, Point, RandomSource
from .machine import Channel, Protocol, ProtocolBody, Receive, check_participants
from .polynomial import Polynomial, add_commitments, eval_commitment, eval_point, lagrange_coefficients
from .proofs import DleqProof, prove_dleq, verify_dleq
from .secret import SingleUse
from .transcript import HashCommitment, Transcript, commit, open_commitment
from .types import ParticipantId, SessionId
from .wire import Reader, Writer

__all__ = ["HonestMajorityTripleGenerator", "Triple", "TripleGenerator", "TriplePublic", "TripleSecrets"]

MAX_TRIPLES_PER_RUN = 1024


@dataclass(frozen=True)
class TriplePublic:
    """Public data of one triple: Feldman commitments of the sharings of a, b and c = a·b."""

    participants: tuple[ParticipantId, ...]
    threshold: int
    a_commitments: tuple[Point, ...]
    b_commitments: tuple[Point, ...]
    c_commitments: tuple[Point, ...]

    @property
    def big_a(self) -> Point:
        return self.a_commitments[0]

    @property
    def big_b(self) -> Point:
        return self.b_commitments[0]

    @property
    def big_c(self) -> Point:
        return self.c_commitments[0]


@dataclass(frozen=True)
class TripleSecrets:
    """My Shamir shares of a, b, c (held only inside a ``SingleUse``)."""

    a: int
    b: int
    c: int

    def __repr__(self) -> str:
        return "TripleSecrets(<redacted>)"


@dataclass(frozen=True)
class Triple:
    """My share of one triple; the secret part can be taken once (a triple must never feed two presignatures)."""

    me: ParticipantId
    public: TriplePublic
    secrets: SingleUse[TripleSecrets] = field(compare=False)

    def take(self) -> TripleSecrets:
        return self.secrets.take()


class TripleGenerator(ABC):
    """Produces batches of triples for a participant set; the presign step does not care how."""

    @abstractmethod
    def generate(
        self,
        participants: Sequence[int],
        me: ParticipantId,
        threshold: int,
        session_id: bytes,
        count: int,
        rng: RandomSource,
    ) -> Protocol[list[Triple]]:
        """A protocol instance producing ``count`` triples for ``me``."""



def confirm_public_data(ch: Channel, round_no: int, others: frozenset[ParticipantId], label: bytes, sid: bytes,
                        publics: Sequence[TriplePublic], phase: str) -> ProtocolBody[None]:
    """A generator's last round: every party broadcasts a hash of all public triple data (the A, B, C commitment
    polynomials); a party whose hash differs is named."""
    transcript = Transcript(label).append(b"sid", sid)
    for pub in publics:
        for poly in (pub.a_commitments, pub.b_commitments, pub.c_commitments):
            for p in poly:
                transcript.append(b"P", p)
    final = transcript.digest()
    ch.broadcast(round_no, Writer().blob(final).finish())
    got = yield Receive(round_no, others)
    for j in sorted(got):
        r = Reader(got[j], j)
        theirs = r.blob(64)
        r.finish()
        if theirs != final:
            raise CommitmentMismatchError("public triple data differs", culprit=j, phase=phase)


def make_triples(me: ParticipantId, publics: Sequence[TriplePublic], a_shares: Sequence[int], b_shares: Sequence[int],
                 c_shares: Sequence[int]) -> list[Triple]:
    """This party's triples, each secret usable once."""
    return [Triple(me, pub, SingleUse(TripleSecrets(a, b, c), "triple"))
            for pub, a, b, c in zip(publics, a_shares, b_shares, c_shares, strict=True)]

def _domain(sid: SessionId, me: ParticipantId) -> bytes:
    return b"triples/commit" + sid + me.to_bytes(4, "big")


def _dleq_context(sid: SessionId, dealer: ParticipantId, index: int) -> Transcript:
    t = Transcript(b"triples/product-dleq").append(b"sid", sid).append_int(b"dealer", dealer)
    return t.append_int(b"index", index)


class HonestMajorityTripleGenerator(TripleGenerator):
    """BGW-style triples with Feldman checks and DLEQ-proven products; needs n ≥ 2t−1 (see module docstring)."""

    group: Group = SECP256K1

    def generate(
        self,
        participants: Sequence[int],
        me: ParticipantId,
        threshold: int,
        session_id: bytes,
        count: int,
        rng: RandomSource,
    ) -> Protocol[list[Triple]]:
        group = self.group
        ps = check_participants(group, participants, me=me, threshold=threshold, phase="triples")
        if len(ps) < 2 * threshold - 1:
            raise ParticipantSetError(
                f"honest-majority triples need n >= 2t-1 (n={len(ps)}, t={threshold})", phase="triples"
            )
        if not 1 <= count <= MAX_TRIPLES_PER_RUN:
            raise ValueError(f"count must be in 1..{MAX_TRIPLES_PER_RUN}")
        sid = SessionId(bytes(session_id))
        lambdas = lagrange_coefficients(group, ps)
        order = group.order

        def body(ch: Channel) -> ProtocolBody[list[Triple]]:
            others = frozenset(ch.others)
            x_me = eval_point(me)
            polys_a = [Polynomial.random(group, threshold - 1, rng) for _ in range(count)]
            polys_b = [Polynomial.random(group, threshold - 1, rng) for _ in range(count)]
            w = Writer()
            for fa, fb in zip(polys_a, polys_b):
                w.points(fa.commit()).points(fb.commit())
            encoded = w.finish()
            my_com, opening = commit(_domain(sid, me), encoded, rng)

            # Round 0: commit.
            ch.broadcast(0, Writer().blob(my_com.digest).finish())
            got = yield Receive(0, others)
            coms = {me: my_com}
            for j, payload in got.items():
                r = Reader(payload, j)
                coms[j] = HashCommitment(r.blob(64))
                r.finish()
            echo_t = Transcript(b"triples/echo").append(b"sid", sid)
            for j in ps:
                echo_t.append_int(b"p", j).append(b"c", coms[j].digest)
            echo = echo_t.digest()

            # Round 1: echo + reveal (broadcast), round 2: shares (private).
            ch.broadcast(1, Writer().blob(echo).blob(encoded).blob(opening).finish())
            for j in ch.others:
                wj = Writer()
                for fa, fb in zip(polys_a, polys_b):
                    wj.scalar(group, fa.share_for(j)).scalar(group, fb.share_for(j))
                ch.send_private(2, j, wj.finish())
            got = yield Receive(1, others)
            dealt: dict[ParticipantId, list[tuple[tuple[Point, ...], tuple[Point, ...]]]] = {
                me: [(fa.commit(), fb.commit()) for fa, fb in zip(polys_a, polys_b)]
            }
            for j in sorted(got):
                r = Reader(got[j], j)
                their_echo, enc, rand = r.blob(64), r.blob(), r.blob(64)
                r.finish()
                if their_echo != echo:
                    raise CommitmentMismatchError("echoed commitment hash differs", culprit=j, phase="triples/echo")
                if not open_commitment(coms[j], _domain(sid, j), enc, rand):
                    raise CommitmentMismatchError("reveal does not open the commitment", culprit=j,
                                                  phase="triples/reveal")
                fr = Reader(enc, j)
                dealt[j] = [(fr.points(group, threshold), fr.points(group, threshold)) for _ in range(count)]
                fr.finish()
            got = yield Receive(2, others)
            shares_in: dict[ParticipantId, list[tuple[int, int]]] = {
                me: [(fa.share_for(me), fb.share_for(me)) for fa, fb in zip(polys_a, polys_b)]
            }
            for j in sorted(got):
                r = Reader(got[j], j)
                shares_in[j] = [(r.scalar(group), r.scalar(group)) for _ in range(count)]
                r.finish()

            a_shares, b_shares, a_polys, b_polys = [], [], [], []
            for idx in range(count):
                big_a = add_commitments(group, [dealt[j][idx][0] for j in ps])
                big_b = add_commitments(group, [dealt[j][idx][1] for j in ps])
                a_me = sum(shares_in[j][idx][0] for j in ps) % order
                b_me = sum(shares_in[j][idx][1] for j in ps) % order
                # Aggregate check first; on failure find the dealer whose share is wrong.
                if group.base_mul(a_me) != eval_commitment(group, big_a, x_me) or group.base_mul(
                    b_me
                ) != eval_commitment(group, big_b, x_me):
                    for j in ch.others:
                        ca, cb = dealt[j][idx]
                        sa, sb = shares_in[j][idx]
                        if group.base_mul(sa) != eval_commitment(group, ca, x_me) or group.base_mul(
                            sb
                        ) != eval_commitment(group, cb, x_me):
                            raise BadShareError("share does not match commitments", culprit=j, phase="triples/shares")
                    raise BadShareError("shares inconsistent", phase="triples/shares")  # pragma: no cover
                a_shares.append(a_me)
                b_shares.append(b_me)
                a_polys.append(big_a)
                b_polys.append(big_b)

            # Round 3: reshare the products with DLEQ proofs (broadcast), round 4: product shares (private).
            g_polys = [Polynomial.random(group, threshold - 1, rng, constant=a * b) for a, b in zip(a_shares, b_shares)]
            w = Writer()
            for idx, gp in enumerate(g_polys):
                b_point = eval_commitment(group, b_polys[idx], x_me)
                group.require_not_identity(b_point, "my b-share commitment")
                proof = prove_dleq(group, _dleq_context(sid, me, idx), a_shares[idx], b_point, rng)
                w.points(gp.commit()).scalar(group, proof.e).scalar(group, proof.s)
            ch.broadcast(3, w.finish())
            for j in ch.others:
                wj = Writer()
                for gp in g_polys:
                    wj.scalar(group, gp.share_for(j))
                ch.send_private(4, j, wj.finish())

            got = yield Receive(3, others)
            reshared: dict[ParticipantId, list[tuple[Point, ...]]] = {me: [gp.commit() for gp in g_polys]}
            for j in sorted(got):
                r = Reader(got[j], j)
                x_j = eval_point(j)
                items = []
                for idx in range(count):
                    gj = r.points(group, threshold)
                    proof = DleqProof(r.scalar(group), r.scalar(group))
                    a_point = eval_commitment(group, a_polys[idx], x_j)
                    b_point = eval_commitment(group, b_polys[idx], x_j)
                    if group.is_identity(b_point) or not verify_dleq(
                        group, _dleq_context(sid, j, idx), b_point, a_point, gj[0], proof
                    ):
                        raise BadProofError("product DLEQ proof does not verify", culprit=j, phase="triples/reshare")
                    items.append(gj)
                r.finish()
                reshared[j] = items
            got = yield Receive(4, others)
            g_in: dict[ParticipantId, list[int]] = {me: [gp.share_for(me) for gp in g_polys]}
            for j in sorted(got):
                r = Reader(got[j], j)
                g_in[j] = [r.scalar(group) for _ in range(count)]
                r.finish()

            publics: list[TriplePublic] = []
            c_shares: list[int] = []
            for idx in range(count):
                c_poly = tuple(
                    group.sum(group.mul(reshared[j][idx][k], lambdas[j]) for j in ps) for k in range(threshold)
                )
                c_me = sum(lambdas[j] * g_in[j][idx] for j in ps) % order
                if group.base_mul(c_me) != eval_commitment(group, c_poly, x_me):
                    for j in ch.others:
                        if group.base_mul(g_in[j][idx]) != eval_commitment(group, reshared[j][idx], x_me):
                            raise BadShareError("product share does not match commitments", culprit=j,
                                                phase="triples/reshare")
                    raise BadShareError("product shares inconsistent", phase="triples/reshare")  # pragma: no cover
                for what, p in (("A", a_polys[idx][0]), ("B", b_polys[idx][0]), ("C", c_poly[0])):
                    if group.is_identity(p):
                        raise ZeroOrIdentityError(f"triple {what} is the identity", phase="triples")
                publics.append(TriplePublic(ps, threshold, a_polys[idx], b_polys[idx], c_poly))
                c_shares.append(c_me)

            # Round 5: confirm everyone holds the same public triple data.
            yield from confirm_public_data(ch, 5, others, b"triples/confirm", sid, publics, "triples/confirm")
            return make_triples(me, publics, a_shares, b_shares, c_shares)

        return Protocol("triples", ps, me, 6, body)
