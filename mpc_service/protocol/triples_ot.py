"""Dishonest-majority Beaver triples (any n ≥ t) from OT-based multiplication, after cait-sith's design.

Security goal: static, malicious adversary corrupting up to n−1 of the n parties; a cheater is detected and the run
aborts (no guaranteed output), naming the culprit where the evidence allows. The invariant that matters downstream is
enforced by discrete-log checks alone, independent of the OT layer: **honest parties never output a triple whose
committed c differs from a·b**, because

* A = Σ A_i and B = Σ B_i come from hash-committed-then-revealed Feldman commitments (no party picks its a_i, b_i after
  seeing the others'), and every share is checked against them;
* every party i publishes C_i = a_i·B with a DLEQ proof that log_G A_i(0) = log_B C_i, so C = Σ C_i = a·b·G is a
  public, verified value;
* every party deals its additive product share c_i with a fresh Feldman-committed polynomial h_i, and the run aborts
  unless Σ H_i(0) = C — so c = Σ h_i(0) = a·b whatever happened inside the MtAs;
* a final echo makes every party confirm the same public triple data (A, B, C polynomials).

What the OT layer (``ot.py``) checks: base OTs bind keys to the pair and transcript, and the OT extension runs the
KOS15 consistency check (an inconsistent extension receiver is named). What it does *not* prove: that an MtA sender
used its committed a_i in every row. Such a lie shifts the product by an amount that depends on an honest party's
secret, so the C check aborts — without a culprit, since it cannot tell who lied. The residual risk is selective
failure: whether a run aborts can leak the choice bits a cheater probed, each probe halving its chance of going
unnoticed; the randomized encoding of b (STAT_BITS = 128 padding bits) hides b from such probes. An aborted run's
triples are discarded (the generator outputs nothing before the final confirmation).

Rounds (message round numbers in brackets; every message carries all ``count`` triples):

0. [0] broadcast a hash commitment to my Feldman commitments (f_i^a, f_i^b of degree t−1 per triple);
   [1] to each j, as base-OT sender of pair (j→me): S₀ = y·G;
1. [2] broadcast the echo of all commitment hashes, the commitments and their opening;
   [3] to each j: f_i^a(j), f_i^b(j), and my base-OT answers R_k for pair (me→j);
2. [4] broadcast C_i = a_i·B per triple with a DLEQ proof; [5] to each j: the OT-extension columns and KOS check
   values for pair (j→me);
3. [6] to each j: the MtA corrections for pair (me→j);
4. [7] broadcast Feldman commitments of h_i (h_i(0) = c_i, my additive share of a·b); [8] to each j: h_i(j);
5. [9] broadcast a hash of all public triple data.

Cost (pure Python): n·(n−1) MtAs of 384 extended OTs per triple, plus KAPPA base OTs per ordered pair and run.
"""
from __future__ import annotations

from collections.abc import Sequence

from .errors import BadProofError, BadShareError, CommitmentMismatchError
from .groups import SECP256K1, Group, Point, RandomSource
from .machine import Channel, Protocol, ProtocolBody, Receive, check_participants
from .ot import (
    ENCODED_BITS,
    KAPPA,
    BaseOtSender,
    ExtensionMessage,
    OtPair,
    base_ot_receive,
    decode_corrections,
    encode_corrections,
    extension_receive,
    extension_send,
    mta_encode,
    mta_receiver_finish,
    mta_sender,
)
from .polynomial import Polynomial, add_commitments, eval_commitment, eval_point
from .proofs import DleqProof, prove_dleq, verify_dleq
from .transcript import HashCommitment, Transcript, commit, open_commitment
from .triples import (
    MAX_TRIPLES_PER_RUN,
    HonestMajorityTripleGenerator,
    Triple,
    TripleGenerator,
    TriplePublic,
    confirm_public_data,
    make_triples,
)
from .types import ParticipantId, SessionId
from .wire import Reader, Writer

__all__ = ["DishonestMajorityTripleGenerator", "triple_generator_for"]

_PHASE = "triples-ot"


def _domain(sid: SessionId, me: ParticipantId) -> bytes:
    return b"triples-ot/commit" + sid + me.to_bytes(4, "big")


def _dleq_context(sid: SessionId, party: ParticipantId, index: int) -> Transcript:
    t = Transcript(b"triples-ot/c-share-dleq").append(b"sid", sid).append_int(b"party", party)
    return t.append_int(b"index", index)


def _check_shares(
    group: Group,
    x_me: int,
    total: int,
    commitments: Sequence[Point],
    parts: dict[ParticipantId, tuple[int, Sequence[Point]]],
    what: str,
) -> None:
    """Check my summed share against the summed commitments; on failure name a dealer whose share is wrong."""
    if group.base_mul(total) == eval_commitment(group, commitments, x_me):
        return
    for j in sorted(parts):
        share, poly = parts[j]
        if group.base_mul(share) != eval_commitment(group, poly, x_me):
            raise BadShareError(f"{what} share does not match its commitments", culprit=j, phase=_PHASE)
    raise BadShareError(f"{what} shares inconsistent", phase=_PHASE)  # pragma: no cover


class DishonestMajorityTripleGenerator(TripleGenerator):
    """OT-based triples for any n ≥ t (e.g. 4 of 4); see the module docstring for the security model."""

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
        ps = check_participants(group, participants, me=me, threshold=threshold, phase=_PHASE)
        if not 1 <= count <= MAX_TRIPLES_PER_RUN:
            raise ValueError(f"count must be in 1..{MAX_TRIPLES_PER_RUN}")
        sid = SessionId(bytes(session_id))
        order = group.order
        nbits = ENCODED_BITS * count

        def body(ch: Channel) -> ProtocolBody[list[Triple]]:
            others = frozenset(ch.others)
            x_me = eval_point(me)
            polys_a = [Polynomial.random(group, threshold - 1, rng) for _ in range(count)]
            polys_b = [Polynomial.random(group, threshold - 1, rng) for _ in range(count)]
            mine = [(fa.commit(), fb.commit()) for fa, fb in zip(polys_a, polys_b)]
            w = Writer()
            for ca, cb in mine:
                w.points(ca).points(cb)
            encoded = w.finish()
            my_com, opening = commit(_domain(sid, me), encoded, rng)
            base_senders = {j: BaseOtSender(OtPair(sid, j, me), rng) for j in ch.others}

            # Step 0: commit; base-OT first messages (I am the MtA receiver of pair j→me).
            ch.broadcast(0, Writer().blob(my_com.digest).finish())
            for j in ch.others:
                ch.send_private(1, j, Writer().point(base_senders[j].first_message).finish())
            got = yield Receive(0, others)
            coms = {me: my_com}
            for j, payload in got.items():
                r = Reader(payload, j)
                coms[j] = HashCommitment(r.blob(64))
                r.finish()
            echo_t = Transcript(b"triples-ot/echo").append(b"sid", sid).append_int(b"t", threshold)
            for j in ps:
                echo_t.append_int(b"p", j).append(b"c", coms[j].digest)
            echo = echo_t.digest()
            got = yield Receive(1, others)
            deltas: dict[ParticipantId, int] = {}
            base_keys: dict[ParticipantId, list[bytes]] = {}
            answers: dict[ParticipantId, list[Point]] = {}
            for j in sorted(got):
                r = Reader(got[j], j)
                s0 = r.point(group)
                r.finish()
                deltas[j] = int.from_bytes(rng.randbytes(KAPPA // 8), "big")
                answers[j], base_keys[j] = base_ot_receive(OtPair(sid, me, j), deltas[j], s0, rng)

            # Step 1: echo + reveal (broadcast); shares and base-OT answers (private).
            ch.broadcast(2, Writer().blob(echo).blob(encoded).blob(opening).finish())
            for j in ch.others:
                wj = Writer()
                for fa, fb in zip(polys_a, polys_b):
                    wj.scalar(group, fa.share_for(j)).scalar(group, fb.share_for(j))
                ch.send_private(3, j, wj.points(answers[j]).finish())
            got = yield Receive(2, others)
            dealt = {me: mine}
            for j in sorted(got):
                r = Reader(got[j], j)
                their_echo, enc, rand = r.blob(64), r.blob(), r.blob(64)
                r.finish()
                if their_echo != echo:
                    raise CommitmentMismatchError("echoed commitment hash differs", culprit=j, phase=_PHASE)
                if not open_commitment(coms[j], _domain(sid, j), enc, rand):
                    raise CommitmentMismatchError("reveal does not open the commitment", culprit=j, phase=_PHASE)
                fr = Reader(enc, j)
                dealt[j] = [(fr.points(group, threshold), fr.points(group, threshold)) for _ in range(count)]
                fr.finish()
            got = yield Receive(3, others)
            shares_in = {me: [(fa.share_for(me), fb.share_for(me)) for fa, fb in zip(polys_a, polys_b)]}
            their_answers: dict[ParticipantId, tuple[Point, ...]] = {}
            for j in sorted(got):
                r = Reader(got[j], j)
                shares_in[j] = [(r.scalar(group), r.scalar(group)) for _ in range(count)]
                their_answers[j] = r.points(group, KAPPA, allow_identity=False)
                r.finish()
            a_polys, b_polys, a_shares, b_shares = [], [], [], []
            for idx in range(count):
                big_a = add_commitments(group, [dealt[j][idx][0] for j in ps])
                big_b = add_commitments(group, [dealt[j][idx][1] for j in ps])
                a_me = sum(shares_in[j][idx][0] for j in ps) % order
                b_me = sum(shares_in[j][idx][1] for j in ps) % order
                _check_shares(group, x_me, a_me, big_a, {j: (shares_in[j][idx][0], dealt[j][idx][0]) for j in ps}, "a")
                _check_shares(group, x_me, b_me, big_b, {j: (shares_in[j][idx][1], dealt[j][idx][1]) for j in ps}, "b")
                for what, p in (("A", big_a[0]), ("B", big_b[0])):
                    group.require_not_identity(p, f"triple {what}")
                a_polys.append(big_a)
                b_polys.append(big_b)
                a_shares.append(a_me)
                b_shares.append(b_me)
            a_add = [fa.coefficients[0] for fa in polys_a]  # my additive shares of a and b
            b_add = [fb.coefficients[0] for fb in polys_b]

            # Step 2: C_i = a_i·B with a DLEQ proof (broadcast); OT-extension columns as MtA receiver (private).
            w = Writer()
            for idx in range(count):
                proof = prove_dleq(group, _dleq_context(sid, me, idx), a_add[idx], b_polys[idx][0], rng)
                w.point(group.mul(b_polys[idx][0], a_add[idx])).scalar(group, proof.e).scalar(group, proof.s)
            ch.broadcast(4, w.finish())
            choices: dict[ParticipantId, int] = {}
            rows_in: dict[ParticipantId, list[bytes]] = {}
            for j in ch.others:
                pair = OtPair(sid, j, me)
                choices[j] = mta_encode(b_add, rng)
                seeds = base_senders[j].keys(their_answers[j])
                ext, rows_in[j] = extension_receive(pair, seeds, choices[j], nbits, rng)
                ch.send_private(5, j, ext.encode(nbits))
            got = yield Receive(4, others)
            c_parts = {me: [group.mul(b_polys[idx][0], a_add[idx]) for idx in range(count)]}
            for j in sorted(got):
                r = Reader(got[j], j)
                items = []
                for idx in range(count):
                    c_j = r.point(group, allow_identity=True)
                    proof = DleqProof(r.scalar(group), r.scalar(group))
                    if not verify_dleq(group, _dleq_context(sid, j, idx), b_polys[idx][0], dealt[j][idx][0][0], c_j,
                                       proof):
                        raise BadProofError("DLEQ proof of C_i = a_i·B does not verify", culprit=j, phase=_PHASE)
                    items.append(c_j)
                r.finish()
                c_parts[j] = items
            big_cs = [group.sum(c_parts[j][idx] for j in ps) for idx in range(count)]
            got = yield Receive(5, others)

            # Step 3: MtA corrections as sender of pair (me→j).
            alphas: dict[ParticipantId, list[int]] = {}
            for j in sorted(got):
                pair = OtPair(sid, me, j)
                ext = ExtensionMessage.decode(got[j], nbits, j)
                rows0, rows1 = extension_send(pair, deltas[j], base_keys[j], ext, nbits)
                alphas[j], corrections = mta_sender(pair, a_add, rows0, rows1)
                ch.send_private(6, j, encode_corrections(corrections))
            got = yield Receive(6, others)
            betas: dict[ParticipantId, list[int]] = {}
            for j in sorted(got):
                corrections = decode_corrections(got[j], nbits, j)
                betas[j] = mta_receiver_finish(OtPair(sid, j, me), choices[j], rows_in[j], corrections)
            c_add = [
                (a_add[idx] * b_add[idx] + sum(alphas[j][idx] + betas[j][idx] for j in ch.others)) % order
                for idx in range(count)
            ]

            # Step 4: deal my additive product share (broadcast commitments, private shares).
            polys_c = [Polynomial.random(group, threshold - 1, rng, constant=c) for c in c_add]
            mine_c = [hc.commit() for hc in polys_c]
            w = Writer()
            for cc in mine_c:
                w.points(cc)
            ch.broadcast(7, w.finish())
            for j in ch.others:
                wj = Writer()
                for hc in polys_c:
                    wj.scalar(group, hc.share_for(j))
                ch.send_private(8, j, wj.finish())
            got = yield Receive(7, others)
            dealt_c = {me: mine_c}
            for j in sorted(got):
                r = Reader(got[j], j)
                dealt_c[j] = [r.points(group, threshold) for _ in range(count)]
                r.finish()
            got = yield Receive(8, others)
            c_in = {me: [hc.share_for(me) for hc in polys_c]}
            for j in sorted(got):
                r = Reader(got[j], j)
                c_in[j] = [r.scalar(group) for _ in range(count)]
                r.finish()
            publics: list[TriplePublic] = []
            c_shares: list[int] = []
            for idx in range(count):
                c_poly = add_commitments(group, [dealt_c[j][idx] for j in ps])
                if c_poly[0] != big_cs[idx]:
                    raise BadShareError(
                        "shared product does not match C = a·B (an MtA input or message was inconsistent)",
                        phase=_PHASE,
                    )
                group.require_not_identity(c_poly[0], "triple C")
                c_me = sum(c_in[j][idx] for j in ps) % order
                _check_shares(group, x_me, c_me, c_poly, {j: (c_in[j][idx], dealt_c[j][idx]) for j in ps}, "c")
                publics.append(TriplePublic(ps, threshold, a_polys[idx], b_polys[idx], c_poly))
                c_shares.append(c_me)

            # Step 5: confirm everyone holds the same public triple data.
            yield from confirm_public_data(ch, 9, others, b"triples-ot/confirm", sid, publics, _PHASE)
            return make_triples(me, publics, a_shares, b_shares, c_shares)

        return Protocol(_PHASE, ps, me, 10, body)


def triple_generator_for(n_live: int, threshold: int) -> TripleGenerator:
    """The honest-majority generator when n_live ≥ 2t−1 (cheaper), else the OT-based dishonest-majority one."""
    if n_live < threshold:
        raise ValueError(f"cannot make triples for threshold {threshold} with {n_live} participants")
    if n_live >= 2 * threshold - 1:
        return HonestMajorityTripleGenerator()
    return DishonestMajorityTripleGenerator()
