"""Distributed key generation: PedPop with hash-committed Feldman commitments and an echo round (cait-sith keygen).

Rounds (t-of-n, any group):

0. commit:  broadcast H(sid, i, F_i) where F_i = f_i·G are Feldman commitments to a random degree-(t−1) polynomial f_i.
1. confirm: broadcast the hash of every participant's commitment (echo); all must agree.
2. reveal:  broadcast F_i, the opening, and a Schnorr proof of knowledge of f_i(0) bound to (sid, i);
3. shares:  send f_i(j) privately to each j (the transport encrypts and authenticates peer links).
4. success: after checking degrees, openings, proofs and x_ij·G = F_j(j), broadcast a hash of the resulting public
            data (NEAR's PedPop+ final round); nobody outputs a key before every participant confirmed the same data,
            so a participant that received a bad share stops everyone instead of leaving the others with a key.

The output is x_i = Σ_j f_j(i) and X = Σ_j F_j(0).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import BadProofError, BadShareError, CommitmentMismatchError, ZeroOrIdentityError
from .groups import Group, Point, RandomSource
from .machine import Channel, Protocol, ProtocolBody, Receive, check_participants
from .polynomial import Polynomial, add_commitments, eval_commitment, eval_point
from .proofs import SchnorrProof, prove_schnorr, verify_schnorr
from .secret import SecretScalar
from .transcript import HashCommitment, Transcript, commit, open_commitment
from .types import ParticipantId, SessionId
from .wire import Reader, Writer

__all__ = ["KeygenOutput", "keygen"]


@dataclass(frozen=True)
class KeygenOutput:
    """One participant's result of a DKG. ``private_share`` prints as ``<redacted>``."""

    group: Group
    me: ParticipantId
    private_share: SecretScalar
    public_key: Point
    participants: tuple[ParticipantId, ...]
    threshold: int
    verification_commitments: tuple[Point, ...]
    """Feldman commitments of the shared polynomial; ``verification_share(j)`` = x_j·G."""

    def verification_share(self, participant: ParticipantId) -> Point:
        """x_j·G for any participant j (public)."""
        return eval_commitment(self.group, self.verification_commitments, eval_point(participant))


def _commitment_domain(sid: SessionId, me: ParticipantId) -> bytes:
    return b"keygen/commit" + sid + me.to_bytes(4, "big")


def _proof_context(group: Group, sid: SessionId, participant: ParticipantId, confirm: bytes) -> Transcript:
    t = Transcript(b"keygen/proof-of-knowledge").append(b"group", group.name.encode()).append(b"sid", sid)
    return t.append_int(b"participant", participant).append(b"confirm", confirm)


def _encode_commitments(points: Sequence[Point]) -> bytes:
    return Writer().points(list(points)).finish()


def keygen(
    group: Group,
    participants: Sequence[int],
    me: ParticipantId,
    threshold: int,
    session_id: bytes,
    rng: RandomSource,
) -> Protocol[KeygenOutput]:
    """Start a DKG instance for ``me``; every participant must use the same participants, threshold and session id."""
    ps = check_participants(group, participants, me=me, threshold=threshold, phase="keygen")
    sid = SessionId(bytes(session_id))

    def body(ch: Channel) -> ProtocolBody[KeygenOutput]:
        others = frozenset(ch.others)
        poly = Polynomial.random(group, threshold - 1, rng)
        big_f = poly.commit()
        encoded_f = _encode_commitments(big_f)
        my_com, opening = commit(_commitment_domain(sid, me), encoded_f, rng)

        # Round 0: commit.
        ch.broadcast(0, Writer().blob(my_com.digest).finish())
        got = yield Receive(0, others)
        coms: dict[ParticipantId, HashCommitment] = {me: my_com}
        for j, payload in got.items():
            r = Reader(payload, j)
            coms[j] = HashCommitment(r.blob(64))
            r.finish()

        # Round 1: confirm (echo the hash of all commitments).
        confirm_t = Transcript(b"keygen/confirm").append(b"sid", sid).append(b"group", group.name.encode())
        confirm_t.append_int(b"threshold", threshold)
        for j in ps:
            confirm_t.append_int(b"participant", j).append(b"commitment", coms[j].digest)
        confirm = confirm_t.digest()
        ch.broadcast(1, Writer().blob(confirm).finish())
        got = yield Receive(1, others)
        for j, payload in got.items():
            r = Reader(payload, j)
            theirs = r.blob(64)
            r.finish()
            if theirs != confirm:
                raise CommitmentMismatchError("echoed commitment hash differs", culprit=j, phase="keygen/confirm")

        # Round 2: reveal with proof of knowledge; round 3: private shares.
        proof = prove_schnorr(group, _proof_context(group, sid, me, confirm), poly.coefficients[0], big_f[0], rng)
        w = Writer().blob(encoded_f).blob(opening).scalar(group, proof.e).scalar(group, proof.s)
        ch.broadcast(2, w.finish())
        for j in ch.others:
            ch.send_private(3, j, Writer().scalar(group, poly.share_for(j)).finish())

        got = yield Receive(2, others)
        all_f: dict[ParticipantId, tuple[Point, ...]] = {me: big_f}
        for j in sorted(got):
            r = Reader(got[j], j)
            enc = r.blob()
            rand = r.blob(64)
            pf = SchnorrProof(r.scalar(group), r.scalar(group))
            r.finish()
            if not open_commitment(coms[j], _commitment_domain(sid, j), enc, rand):
                raise CommitmentMismatchError("revealed commitments do not open the hash commitment", culprit=j,
                                              phase="keygen/reveal")
            fr = Reader(enc, j)
            fj = fr.points(group, threshold)  # the count is the degree check
            fr.finish()
            if not verify_schnorr(group, _proof_context(group, sid, j, confirm), fj[0], pf):
                raise BadProofError("proof of knowledge of f_j(0) does not verify", culprit=j, phase="keygen/reveal")
            all_f[j] = fj

        got = yield Receive(3, others)
        share = poly.share_for(me)
        x_me = eval_point(me)
        for j in sorted(got):
            r = Reader(got[j], j)
            s_j = r.scalar(group)
            r.finish()
            if group.base_mul(s_j) != eval_commitment(group, all_f[j], x_me):
                raise BadShareError("private share does not match the sender's commitments", culprit=j,
                                    phase="keygen/shares")
            share = (share + s_j) % group.order

        commitments = add_commitments(group, [all_f[j] for j in ps])
        if group.is_identity(commitments[0]):
            raise ZeroOrIdentityError("the generated public key is the identity", phase="keygen")
        if share == 0:
            raise ZeroOrIdentityError("the generated private share is zero", phase="keygen")

        # Round 4: success (everyone verified its shares and holds the same public data).
        success_t = Transcript(b"keygen/success").append(b"confirm", confirm)
        success = success_t.append(b"commitments", _encode_commitments(commitments)).digest()
        ch.broadcast(4, Writer().blob(success).finish())
        got = yield Receive(4, others)
        for j in sorted(got):
            r = Reader(got[j], j)
            theirs = r.blob(64)
            r.finish()
            if theirs != success:
                raise CommitmentMismatchError("success message disagrees on the public key data", culprit=j,
                                              phase="keygen/success")
        return KeygenOutput(group, me, SecretScalar(share), commitments[0], ps, threshold, commitments)

    return Protocol("keygen", ps, me, 5, body)
