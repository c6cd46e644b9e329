"""Key resharing: move a shared key to a new participant set and threshold without changing the public key.

The design follows the resharing of NEAR's threshold-signatures (each old holder deals its Lagrange-weighted share
with a fresh polynomial; Feldman commitments; echo broadcast; a final success round). Works on both groups.

Inputs (every participant of the session passes the same public ones):

* ``old``: the ``PublicKeyPackage`` of the current key — public key X, old participants P, old threshold t and the
  Feldman commitments C of the shared polynomial (so X_i = C(i) is every old participant's public share). A
  participant that holds a share gets it with ``PublicKeyPackage.from_keygen(keygen_output)``; a joiner receives it
  from its peers, and the echo round below makes every participant confirm the same package.
* ``dealers``: the old participants S ⊆ P taking part, |S| ≥ t (a session parameter, known to everyone);
* ``new_participants`` P' and ``new_threshold`` t'. Ids are stable: a continuing node keeps its id, a joiner's id is
  larger than every old id. A participant may be a dealer only (it leaves), new only (it joins and only receives)
  or both. The protocol runs among S ∪ P';
* ``old_share``: the dealer's own ``KeygenOutput`` for the old key (required exactly when ``me`` ∈ S).

Rounds (participants named in brackets send):

0. deal [S]:       broadcast F_i = f_i·G, the Feldman commitments of a fresh random polynomial f_i of degree t'−1
                   with f_i(0) = λ_i·x_i (λ_i the Lagrange coefficient at 0 over S), and a Schnorr proof of knowledge
                   of f_i(0) bound to (session, i, session parameters);
1. sub-shares [S]: send f_i(j) privately to each new participant j (the transport encrypts peer links);
2. echo [S ∪ P']:  broadcast a digest of the session parameters (group, session id, old package, S, P', t') and,
                   per dealer, a digest of its round-0 message as received. A differing parameter digest names the
                   echoer; a differing dealer digest names that dealer (it sent different broadcasts — or the echoer
                   misreports it; messages are authenticated, not signed, so the two cannot be told apart);
   checks:         |F_i| = t', the proof, and F_i(0) = λ_i·X_i (a dealer dealing any other secret is named);
                   Σ_i F_i(0) = X (the key is unchanged); a new participant j checks Σ_i f_i(j)·G = Σ_i F_i(j),
                   on failure f_i(j)·G = F_i(j) per dealer to name the one that sent a bad sub-share;
3. success [S ∪ P']: broadcast a digest of (echo, combined commitments Σ_i F_i); all must agree. Nobody outputs before
                   every participant confirmed, so a participant that received a bad sub-share stops everyone.

Messages (``u16 round ‖ payload``, ``wire`` encoding; digests are 32-byte transcript digests):
round 0 ``points(F_i) ‖ scalar e ‖ scalar s`` · round 1 ``scalar f_i(j)`` · round 2 ``blob(parameter digest) ‖
blob(dealing digest)`` per dealer in id order · round 3 ``blob(success digest)``.

Output (``ReshareOutput``): ``public``, the new ``PublicKeyPackage`` (X unchanged, P', t', Σ_i F_i — what the next
resharing takes as ``old``), and ``key``: for a new participant its ``KeygenOutput`` with x'_j = Σ_i f_i(j) (usable
at once by presign/FROST), ``None`` for a departing dealer (which should delete its old share once the new set runs).

Wiring: run one instance on every node of S ∪ P' with the same ``session_id`` (unique per attempt, e.g. a hash of the
chain event and the attempt number); a joiner must also check ``old.public_key`` against the key the contract holds.
Vote the new epoch only after ``Done``. Presignatures, triples and nonces made for the old shares are useless
afterwards: retire them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import BadProofError, BadShareError, CommitmentMismatchError, ParticipantSetError, ZeroOrIdentityError
from .groups import Group, Point, RandomSource
from .keygen import KeygenOutput
from .machine import Channel, Protocol, ProtocolBody, Receive, check_participants
from .polynomial import Polynomial, add_commitments, eval_commitment, eval_point, lagrange_at_zero
from .proofs import SchnorrProof, prove_schnorr, verify_schnorr
from .secret import SecretScalar
from .transcript import Transcript
from .types import ParticipantId, SessionId
from .wire import Reader, Writer

__all__ = ["PublicKeyPackage", "ReshareOutput", "reshare"]

_PHASE = "reshare"


@dataclass(frozen=True)
class PublicKeyPackage:
    """The public data of a shared key: what every participant (and the next resharing) needs to verify shares."""

    group: Group
    public_key: Point
    participants: tuple[ParticipantId, ...]
    threshold: int
    verification_commitments: tuple[Point, ...]
    """Feldman commitments of the shared polynomial (``threshold`` points, the first is ``public_key``)."""

    @classmethod
    def from_keygen(cls, output: KeygenOutput) -> PublicKeyPackage:
        return cls(output.group, output.public_key, output.participants, output.threshold,
                   output.verification_commitments)

    def verification_share(self, participant: ParticipantId) -> Point:
        """x_j·G for any participant j."""
        return eval_commitment(self.group, self.verification_commitments, eval_point(participant))

    def encode(self) -> bytes:
        w = Writer().blob(self.group.name.encode()).point(self.public_key).u32(self.threshold)
        w.u32(len(self.participants))
        for p in self.participants:
            w.u32(p)
        return w.points(self.verification_commitments).finish()


@dataclass(frozen=True)
class ReshareOutput:
    """A participant's result: the new public package, and its new key share unless it left (``key`` is None)."""

    public: PublicKeyPackage
    key: KeygenOutput | None


def _check_package(old: PublicKeyPackage) -> tuple[ParticipantId, ...]:
    g = old.group
    ps = check_participants(g, old.participants, threshold=old.threshold, phase=_PHASE)
    if ps != old.participants:
        raise ParticipantSetError("old participants must be sorted and distinct", phase=_PHASE)
    if len(old.verification_commitments) != old.threshold:
        raise ParticipantSetError("old verification commitments must have one point per threshold unit", phase=_PHASE)
    if old.verification_commitments[0] != old.public_key or g.is_identity(old.public_key):
        raise ParticipantSetError("old verification commitments do not commit to the public key", phase=_PHASE)
    return ps


def _dealer_constant(group: Group, dealers: tuple[ParticipantId, ...], old_share: KeygenOutput) -> int:
    """λ_i·x_i: my Lagrange-weighted old share, the constant term of the polynomial I deal."""
    lam = lagrange_at_zero(group, dealers, old_share.me)
    return lam * old_share.private_share.expose() % group.order


def _proof_context(group: Group, sid: SessionId, dealer: ParticipantId, params: bytes) -> Transcript:
    t = Transcript(b"reshare/proof-of-knowledge").append(b"group", group.name.encode()).append(b"sid", sid)
    return t.append_int(b"dealer", dealer).append(b"params", params)


def reshare(
    old: PublicKeyPackage,
    dealers: Sequence[int],
    new_participants: Sequence[int],
    new_threshold: int,
    me: ParticipantId,
    session_id: bytes,
    rng: RandomSource,
    *,
    old_share: KeygenOutput | None = None,
) -> Protocol[ReshareOutput]:
    """Start a resharing instance for ``me`` (see the module docstring); bad arguments raise ``ParticipantSetError``."""
    g = old.group
    old_ps = _check_package(old)
    ds = tuple(sorted(ParticipantId(int(d)) for d in dealers))
    if len(set(ds)) != len(ds):
        raise ParticipantSetError("dealer ids must be distinct", phase=_PHASE)
    if len(ds) < old.threshold:
        raise ParticipantSetError(
            f"resharing needs at least the old threshold of {old.threshold} old participants as dealers, "
            f"got {len(ds)}", phase=_PHASE)
    if not set(ds) <= set(old_ps):
        raise ParticipantSetError(f"dealers {sorted(set(ds) - set(old_ps))} hold no old share", phase=_PHASE)
    new_ps = check_participants(g, new_participants, threshold=new_threshold, phase=_PHASE)
    joiners = [p for p in new_ps if p not in old_ps]
    if joiners and min(joiners) <= old_ps[-1]:
        raise ParticipantSetError(
            f"joiner ids must be larger than every old id (ids are never reused): {joiners}", phase=_PHASE)
    everyone = tuple(sorted(set(ds) | set(new_ps)))
    if me not in everyone:
        raise ParticipantSetError(f"participant {me} is neither a dealer nor a new participant", phase=_PHASE)
    am_dealer, am_new = me in ds, me in new_ps
    if am_dealer != (old_share is not None):
        raise ParticipantSetError("old_share is required for a dealer and only for a dealer", phase=_PHASE)
    constant = 0
    if old_share is not None:
        if PublicKeyPackage.from_keygen(old_share) != old or old_share.me != me:
            raise ParticipantSetError("old_share belongs to another key, participant set or participant", phase=_PHASE)
        if g.base_mul(old_share.private_share.expose()) != old.verification_share(me):
            raise ParticipantSetError("old_share does not match its public verification share", phase=_PHASE)
        constant = _dealer_constant(g, ds, old_share)
    sid = SessionId(bytes(session_id))
    lambdas = {i: lagrange_at_zero(g, ds, i) for i in ds}

    params_t = Transcript(b"reshare/params").append(b"group", g.name.encode()).append(b"sid", sid)
    params_t.append(b"old", old.encode()).append_int(b"new-threshold", new_threshold)
    for d in ds:
        params_t.append_int(b"dealer", d)
    for p in new_ps:
        params_t.append_int(b"new", p)
    params = params_t.digest()

    poly: Polynomial | None = None
    my_dealing = b""
    if am_dealer:  # dealt now, so the instance holds only the fresh polynomial, not the old share
        poly = Polynomial.random(g, new_threshold - 1, rng, constant=constant)
        big_f = poly.commit()
        proof = prove_schnorr(g, _proof_context(g, sid, me, params), constant, big_f[0], rng)
        my_dealing = Writer().points(big_f).scalar(g, proof.e).scalar(g, proof.s).finish()

    def body(ch: Channel) -> ProtocolBody[ReshareOutput]:
        other_dealers = frozenset(d for d in ds if d != me)
        others = frozenset(ch.others)
        deal_payloads: dict[ParticipantId, bytes] = {}
        if poly is not None:
            deal_payloads[me] = my_dealing
            ch.broadcast(0, my_dealing)
            for j in new_ps:
                if j != me:
                    ch.send_private(1, j, Writer().scalar(g, poly.share_for(j)).finish())

        # Round 0 (receive): dealings, decoded and checked only after the echo confirmed the session parameters
        # (a participant with another threshold must be named, not the dealers whose points it cannot count).
        got = yield Receive(0, other_dealers)
        deal_payloads.update(got)

        # Round 2: echo the parameters and what each dealer broadcast to me.
        digests = {i: Transcript(b"reshare/dealing").append(b"m", deal_payloads[i]).digest() for i in ds}
        echo = Writer().blob(params)
        for i in ds:
            echo.blob(digests[i])
        ch.broadcast(2, echo.finish())
        got = yield Receive(2, others)
        for k in sorted(got):
            r = Reader(got[k], k)
            theirs = r.blob(64)
            if theirs != params:
                raise CommitmentMismatchError("echoed session parameters differ (old key package, dealers, new set, "
                                              "threshold or session id)", culprit=k, phase="reshare/echo")
            for i in ds:
                if r.blob(64) != digests[i]:
                    raise CommitmentMismatchError(
                        f"participant {k} received a different round-0 broadcast from dealer {i} than {me} did "
                        f"(inconsistent broadcast)", culprit=i, phase="reshare/echo")
            r.finish()
        echo_t = Transcript(b"reshare/echo").append(b"params", params)
        for i in ds:
            echo_t.append(b"dealing", digests[i])
        echoed = echo_t.digest()

        dealings: dict[ParticipantId, tuple[tuple[Point, ...], SchnorrProof]] = {}
        for i in ds:
            r = Reader(deal_payloads[i], i)
            fi = r.points(g, new_threshold)  # the count is the degree check
            pf = SchnorrProof(r.scalar(g), r.scalar(g))
            r.finish()
            dealings[i] = (fi, pf)
            if not verify_schnorr(g, _proof_context(g, sid, i, params), fi[0], pf):
                raise BadProofError("proof of knowledge of the dealt constant term does not verify", culprit=i,
                                    phase="reshare/deal")
            if fi[0] != g.mul(old.verification_share(i), lambdas[i]):
                raise BadShareError("dealt constant term is not the dealer's Lagrange-weighted old share "
                                    "(it dealt another secret)", culprit=i, phase="reshare/deal")
        commitments = add_commitments(g, [dealings[i][0] for i in ds])
        if commitments[0] != old.public_key:  # implied by the per-dealer checks; kept as the defining invariant
            raise CommitmentMismatchError("the reshared key differs from the old public key", phase="reshare")

        new_share: int | None = None
        if am_new:
            got = yield Receive(1, other_dealers)
            x_me = eval_point(me)
            sub_shares = {me: poly.share_for(me)} if poly is not None else {}
            for i in sorted(got):
                r = Reader(got[i], i)
                sub_shares[i] = r.scalar(g)
                r.finish()
            share = sum(sub_shares.values()) % g.order
            # One check of the sum against the combined commitments; per dealer only to name a culprit.
            if g.base_mul(share) != eval_commitment(g, commitments, x_me):
                for i in sorted(got):
                    if g.base_mul(sub_shares[i]) != eval_commitment(g, dealings[i][0], x_me):
                        raise BadShareError("sub-share does not match the dealer's commitments", culprit=i,
                                            phase="reshare/sub-shares")
                raise BadShareError("new share does not match the combined commitments",  # pragma: no cover
                                    phase="reshare/sub-shares")
            if share == 0:
                raise ZeroOrIdentityError("the reshared private share is zero", phase=_PHASE)
            new_share = share

        # Round 3: success.
        success_t = Transcript(b"reshare/success").append(b"echo", echoed)
        success = success_t.append(b"commitments", Writer().points(commitments).finish()).digest()
        ch.broadcast(3, Writer().blob(success).finish())
        got = yield Receive(3, others)
        for k in sorted(got):
            r = Reader(got[k], k)
            theirs = r.blob(64)
            r.finish()
            if theirs != success:
                raise CommitmentMismatchError("success message disagrees on the reshared public data", culprit=k,
                                              phase="reshare/success")
        public = PublicKeyPackage(g, old.public_key, new_ps, new_threshold, commitments)
        key = None
        if new_share is not None:
            key = KeygenOutput(g, me, SecretScalar(new_share), old.public_key, new_ps, new_threshold, commitments)
        return ReshareOutput(public, key)

    return Protocol(_PHASE, everyone, me, 4, body)
