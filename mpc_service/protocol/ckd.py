"""Confidential key derivation (CKD): a threshold BLS signature on an app id, ElGamal-encrypted to its requester.

As near/threshold-signatures defines it (``docs/confidential_key_derivation/confidential_key_derivation.md``,
``src/confidential_key_derivation/``), over BLS12-381:

* the master secret key msk is shared by a DKG over G2 (``keygen(BLS12381_G2, …)``): participant i holds x_i, the
  master public key is mvk = msk·G2 (96-byte compressed);
* H = hash_app_id(mvk, app_id) is RFC 9380 hash-to-curve into G1 (suite ``BLS12381G1_XMD:SHA-256_SSWU_RO_``, DST
  ``NEAR BLS12381G1_XMD:SHA-256_SSWU_RO_``) of mvk ‖ app_id;
* the requester draws a one-time key (a, A = a·G1), plus A₂ = a·G2 for the publicly verifiable check;
* participant i draws y_i and sends (λ_i·Y_i, λ_i·C_i) with Y_i = y_i·G1, C_i = x_i·H + y_i·A privately to the
  coordinator (λ_i: Lagrange coefficient at 0 over the session's participants);
* the coordinator adds them: (Y, C) with C = msk·H + a·Y — no node and no observer learns msk·H;
* the requester computes S = C − a·Y = msk·H, a BLS signature on (mvk ‖ app_id), and checks e(S, G2) = e(H, mvk)
  before deriving its key from S (the reference leaves that to an HKDF of the app's choice).

Anyone can check an output against A₂ without learning S: e(C, G2) = e(Y, A₂)·e(H, mvk) (the signer contract's
``ckd_output_check``). The protocol is one round; non-coordinators finish with ``None``.

The scheme's math and the requester's side (``hash_app_id``, the pairing checks, ``CkdRequesterKey``, ``CkdOutput``,
``decrypt_ckd_output``) are defined once in ``chainsig.ckd`` (the client, which the node already imports for key
derivation) and re-exported here; this module adds the participants' part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chainsig.ckd import (
    CKD_DOMAIN,
    CkdOutput,
    CkdRequesterKey,
    decrypt_ckd_output,
    hash_app_id,
    verify_ckd_output,
    verify_ckd_signature,
)

from .errors import ParticipantSetError
from .groups import BLS12381_G1, BLS12381_G2, Point, RandomSource
from .keygen import KeygenOutput
from .machine import Channel, Protocol, ProtocolBody, Receive, check_participants
from .polynomial import lagrange_at_zero
from .types import ParticipantId
from .wire import Reader, Writer

__all__ = [
    "CKD_DOMAIN",
    "CkdOutput",
    "CkdRequesterKey",
    "CkdShare",
    "ckd",
    "ckd_share",
    "combine_ckd_shares",
    "decrypt_ckd_output",
    "hash_app_id",
    "verify_ckd_output",
    "verify_ckd_signature",
]

G1 = BLS12381_G1
G2 = BLS12381_G2


@dataclass(frozen=True)
class CkdShare:
    """Participant ``participant``'s contribution, already weighted by its Lagrange coefficient: (λ·Y_i, λ·C_i)."""

    participant: ParticipantId
    big_y: Point
    big_c: Point


def _session_participants(
    keygen_output: KeygenOutput, participants: Sequence[int], coordinator: int
) -> tuple[ParticipantId, ...]:
    if keygen_output.group is not G2:
        raise ParticipantSetError(f"CKD needs a key shared over {G2.name}, not {keygen_output.group.name}", phase="ckd")
    ps = check_participants(G1, participants, me=keygen_output.me, phase="ckd")
    if coordinator not in ps:
        raise ParticipantSetError(f"coordinator {coordinator} is not in the participant set", phase="ckd")
    if len(ps) < keygen_output.threshold:
        raise ParticipantSetError(
            f"{len(ps)} participants cannot reconstruct a {keygen_output.threshold}-of-n key", phase="ckd"
        )
    outsiders = set(ps) - set(keygen_output.participants)
    if outsiders:
        raise ParticipantSetError(f"participants {sorted(outsiders)} hold no share of this key", phase="ckd")
    return ps


def ckd_share(
    keygen_output: KeygenOutput,
    participants: Sequence[int],
    app_id: bytes,
    app_public_key: Point,
    rng: RandomSource,
) -> CkdShare:
    """This participant's (λ_i·Y_i, λ_i·C_i) for the session of ``participants`` (pure; ``ckd`` sends it)."""
    ps = check_participants(G1, participants, me=keygen_output.me, phase="ckd")
    app_key = G1.decode_point(app_public_key)  # a valid, non-identity G1 point
    lam = lagrange_at_zero(G1, ps, keygen_output.me)
    y = G1.random_scalar(rng)
    hash_point = Point(hash_app_id(keygen_output.public_key, app_id))
    big_c = G1.add(G1.mul(hash_point, keygen_output.private_share.expose()), G1.mul(app_key, y))
    return CkdShare(keygen_output.me, G1.base_mul(y * lam % G1.order), G1.mul(big_c, lam))


def combine_ckd_shares(shares: Sequence[CkdShare]) -> CkdOutput:
    """(Y, C) = Σ (λ_i·Y_i, λ_i·C_i) over the session's participants (each exactly once)."""
    seen = [s.participant for s in shares]
    if len(set(seen)) != len(seen):
        raise ParticipantSetError("a participant's CKD share appears twice", phase="ckd")
    return CkdOutput(G1.sum(s.big_y for s in shares), G1.sum(s.big_c for s in shares))


def ckd(
    keygen_output: KeygenOutput,
    participants: Sequence[int],
    coordinator: ParticipantId,
    app_id: bytes,
    app_public_key: Point,
    rng: RandomSource,
) -> Protocol[CkdOutput | None]:
    """One participant's CKD instance: round 0 sends its share privately to ``coordinator``, which returns the
    combined ``CkdOutput``; everyone else returns ``None``. The coordinator rejects malformed or identity points
    naming the sender (``MalformedMessageError`` / ``ZeroOrIdentityError``)."""
    ps = _session_participants(keygen_output, participants, coordinator)
    me = keygen_output.me

    def body(ch: Channel) -> ProtocolBody[CkdOutput | None]:
        mine = ckd_share(keygen_output, ps, app_id, app_public_key, rng)
        if me != coordinator:
            ch.send_private(0, coordinator, Writer().point(mine.big_y).point(mine.big_c).finish())
            return None
        got = yield Receive(0, frozenset(p for p in ps if p != me))
        shares = [mine]
        for j in sorted(got):
            r = Reader(got[j], j)
            shares.append(CkdShare(j, r.point(G1), r.point(G1)))
            r.finish()
        return combine_ckd_shares(shares)

    return Protocol("ckd", ps, me, 1, body)
