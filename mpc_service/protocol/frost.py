"""FROST(Ed25519, SHA-512) threshold Schnorr signing (RFC 9591) with NEAR's additive key tweak.

Identifiers: participant ``i`` is RFC identifier ``i + 1`` (its Shamir evaluation point). With a tweak ε (32 bytes,
little-endian, reduced mod ℓ) the group key becomes PK' = PK + ε·B and every share s_i + ε (Σ λ_i = 1), so the
signature verifies as a plain Ed25519 signature under PK'.

* round 1 (``frost_commit``, RFC 9591 §5.1) may run ahead of any request: single-use nonces + public commitments;
* round 2 (``frost_sign_share``, §5.2) consumes the nonces;
* ``frost_aggregate`` (§5.3) sums the shares, verifies the signature and, if it fails, verifies every share (§5.4)
  to name the culprit.
* ``frost_sign`` wraps these in a poke()-style protocol (two rounds, or one with preprocessed commitments).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.signing

from .errors import (
    AssetConsumedError,
    BadShareError,
    BadSignatureError,
    CommitmentMismatchError,
    ParticipantSetError,
    PayloadRangeError,
    ZeroOrIdentityError,
)
from .groups import ED25519, Point, RandomSource
from .keygen import KeygenOutput
from .machine import Channel, Protocol, ProtocolBody, Receive, check_participants
from .polynomial import eval_point, lagrange_at_zero
from .secret import SingleUse
from .types import ParticipantId
from .wire import Reader, Writer

__all__ = [
    "CONTEXT_STRING",
    "FrostSignatureShare",
    "NoncePair",
    "SigningCommitments",
    "SigningNonces",
    "binding_factor_inputs",
    "binding_factors",
    "challenge",
    "commitment_list_digest",
    "frost_aggregate",
    "frost_commit",
    "frost_sign",
    "frost_sign_share",
    "group_commitment",
    "nonce_generate",
    "tweak_scalar",
    "tweaked_public_key",
    "verify_signature_share",
]

CONTEXT_STRING = b"FROST-ED25519-SHA512-v1"
_G = ED25519
_L = ED25519.order


def _h(tag: bytes, data: bytes) -> int:
    return _G.scalar_from_digest(hashlib.sha512(CONTEXT_STRING + tag + data).digest())


def _h1(m: bytes) -> int:
    return _h(b"rho", m)


def _h2(m: bytes) -> int:
    return _G.scalar_from_digest(hashlib.sha512(m).digest())


def _h3(m: bytes) -> int:
    return _h(b"nonce", m)


def _h4(m: bytes) -> bytes:
    return hashlib.sha512(CONTEXT_STRING + b"msg" + m).digest()


def _h5(m: bytes) -> bytes:
    return hashlib.sha512(CONTEXT_STRING + b"com" + m).digest()


def tweak_scalar(tweak: bytes) -> int:
    """ε from 32 bytes, little-endian, reduced mod ℓ (NEAR's ed25519 derivation)."""
    if len(tweak) != 32:
        raise PayloadRangeError(f"tweak must be 32 bytes, got {len(tweak)}", phase="frost")
    return int.from_bytes(tweak, "little") % _L


def tweaked_public_key(public_key: Point, tweak: bytes) -> Point:
    """PK + ε·B."""
    return _G.require_not_identity(_G.add(public_key, _G.base_mul(tweak_scalar(tweak))), "tweaked public key")


def nonce_generate(secret: int, random_bytes: bytes) -> int:
    """RFC 9591 §4.1: H3(random_bytes ‖ SerializeScalar(secret))."""
    return _h3(random_bytes + _G.encode_scalar(secret))


@dataclass(frozen=True)
class SigningCommitments:
    """Round-1 public output: hiding and binding nonce commitments of one participant."""

    participant: ParticipantId
    hiding: Point
    binding: Point


@dataclass(frozen=True)
class NoncePair:
    hiding: int
    binding: int

    def __repr__(self) -> str:
        return "NoncePair(<redacted>)"


@dataclass(frozen=True)
class SigningNonces:
    """Round-1 secret output; ``take()`` hands the nonces out once (reusing FROST nonces leaks the share)."""

    commitments: SigningCommitments
    secrets: SingleUse[NoncePair] = field(compare=False)

    def take(self) -> NoncePair:
        return self.secrets.take()


@dataclass(frozen=True)
class FrostSignatureShare:
    participant: ParticipantId
    z: int


def frost_commit(
    keygen_output: KeygenOutput,
    rng: RandomSource,
    *,
    hiding_randomness: bytes | None = None,
    binding_randomness: bytes | None = None,
) -> SigningNonces:
    """RFC 9591 §5.1 commit(); the randomness arguments exist for reproducing the RFC vectors."""
    if keygen_output.group is not _G:
        raise ParticipantSetError("FROST needs an ed25519 key", phase="frost/commit")
    sk = keygen_output.private_share.expose()
    hiding = nonce_generate(sk, hiding_randomness if hiding_randomness is not None else rng.randbytes(32))
    binding = nonce_generate(sk, binding_randomness if binding_randomness is not None else rng.randbytes(32))
    if hiding == 0 or binding == 0:  # pragma: no cover - probability 2^-252
        raise ZeroOrIdentityError("nonce is zero", phase="frost/commit")
    commitments = SigningCommitments(keygen_output.me, _G.base_mul(hiding), _G.base_mul(binding))
    return SigningNonces(commitments, SingleUse(NoncePair(hiding, binding), "FROST nonces"))


def _ordered(commitments: Mapping[ParticipantId, SigningCommitments]) -> list[SigningCommitments]:
    out = [commitments[p] for p in sorted(commitments)]
    for p, c in zip(sorted(commitments), out, strict=True):
        if c.participant != p:
            raise ParticipantSetError("commitment filed under another participant", culprit=p, phase="frost")
        _G.require_not_identity(c.hiding, "hiding commitment", culprit=p)
        _G.require_not_identity(c.binding, "binding commitment", culprit=p)
    return out


def binding_factor_inputs(
    group_public_key: Point, commitments: Mapping[ParticipantId, SigningCommitments], message: bytes
) -> dict[ParticipantId, bytes]:
    """RFC 9591 §4.4 binding_factor_input per participant: PK ‖ H4(msg) ‖ H5(encoded commitments) ‖ identifier."""
    ordered = _ordered(commitments)
    encoded = b"".join(_G.encode_scalar(eval_point(c.participant)) + c.hiding + c.binding for c in ordered)
    prefix = group_public_key + _h4(message) + _h5(encoded)
    return {c.participant: prefix + _G.encode_scalar(eval_point(c.participant)) for c in ordered}


def binding_factors(
    group_public_key: Point, commitments: Mapping[ParticipantId, SigningCommitments], message: bytes
) -> dict[ParticipantId, int]:
    """RFC 9591 §4.4 compute_binding_factors: ρ_i = H1(binding_factor_input_i)."""
    return {p: _h1(data) for p, data in binding_factor_inputs(group_public_key, commitments, message).items()}


def group_commitment(
    commitments: Mapping[ParticipantId, SigningCommitments], rho: Mapping[ParticipantId, int]
) -> Point:
    """RFC 9591 §4.5: R = Σ D_i + ρ_i·E_i."""
    return _G.sum(_G.add(c.hiding, _G.mul(c.binding, rho[p])) for p, c in commitments.items())


def challenge(big_r: Point, public_key: Point, message: bytes) -> int:
    """RFC 9591 §4.6: H2(R ‖ PK ‖ msg)."""
    return _h2(big_r + public_key + message)


def _check_set(
    keygen_output: KeygenOutput, commitments: Mapping[ParticipantId, SigningCommitments]
) -> tuple[ParticipantId, ...]:
    ps = check_participants(
        _G, list(commitments), me=keygen_output.me, threshold=keygen_output.threshold, phase="frost"
    )
    if not set(ps) <= set(keygen_output.participants):
        raise ParticipantSetError("signers must hold key shares", phase="frost")
    return ps


def frost_sign_share(
    keygen_output: KeygenOutput,
    nonces: SigningNonces,
    commitments: Mapping[ParticipantId, SigningCommitments],
    message: bytes,
    tweak: bytes,
) -> FrostSignatureShare:
    """RFC 9591 §5.2 sign() with the tweaked share s_i + ε; consumes ``nonces``."""
    ps = _check_set(keygen_output, commitments)
    me = keygen_output.me
    if commitments[me] != nonces.commitments:
        raise ParticipantSetError("my commitments in the list are not the ones of these nonces", phase="frost/sign")
    eps = tweak_scalar(tweak)
    pk = tweaked_public_key(keygen_output.public_key, tweak)
    rho = binding_factors(pk, commitments, message)
    big_r = group_commitment(commitments, rho)
    c = challenge(big_r, pk, message)
    lam = lagrange_at_zero(_G, ps, me)
    pair = nonces.take()
    sk = (keygen_output.private_share.expose() + eps) % _L
    return FrostSignatureShare(me, (pair.hiding + pair.binding * rho[me] + lam * sk * c) % _L)


def verify_signature_share(
    keygen_output: KeygenOutput,
    commitments: Mapping[ParticipantId, SigningCommitments],
    message: bytes,
    tweak: bytes,
    share: FrostSignatureShare,
) -> bool:
    """RFC 9591 §5.4 verify_signature_share with the tweaked verification share PK_i + ε·B."""
    ps = tuple(sorted(commitments))
    pk = tweaked_public_key(keygen_output.public_key, tweak)
    rho = binding_factors(pk, commitments, message)
    c = challenge(group_commitment(commitments, rho), pk, message)
    j = share.participant
    if j not in commitments:
        return False
    comm = commitments[j]
    vs = _G.add(keygen_output.verification_share(j), _G.base_mul(tweak_scalar(tweak)))
    lam = lagrange_at_zero(_G, ps, j)
    expected = _G.add(_G.add(comm.hiding, _G.mul(comm.binding, rho[j])), _G.mul(vs, c * lam))
    return _G.base_mul(share.z) == expected


def frost_aggregate(
    keygen_output: KeygenOutput,
    commitments: Mapping[ParticipantId, SigningCommitments],
    message: bytes,
    tweak: bytes,
    shares: Mapping[ParticipantId, FrostSignatureShare],
) -> bytes:
    """RFC 9591 §5.3 aggregate(): the 64-byte Ed25519 signature R ‖ z, verified under PK + ε·B."""
    _check_set(keygen_output, commitments)
    if set(shares) != set(commitments):
        raise ParticipantSetError("need exactly one share per committed participant", phase="frost/aggregate")
    pk = tweaked_public_key(keygen_output.public_key, tweak)
    rho = binding_factors(pk, commitments, message)
    big_r = group_commitment(commitments, rho)
    z = sum(s.z for s in shares.values()) % _L
    signature = big_r + _G.encode_scalar(z)
    try:
        nacl.signing.VerifyKey(pk).verify(message, signature)
        return signature
    except nacl.exceptions.BadSignatureError:
        pass
    for j in sorted(shares):
        if not verify_signature_share(keygen_output, commitments, message, tweak, shares[j]):
            raise BadShareError("FROST signature share does not verify", culprit=j, phase="frost/aggregate")
    raise BadSignatureError("aggregated FROST signature does not verify", phase="frost/aggregate")


def _encode_commitments(c: SigningCommitments) -> bytes:
    return Writer().point(c.hiding).point(c.binding).finish()


def commitment_list_digest(commitments: Mapping[ParticipantId, SigningCommitments]) -> bytes:
    """32 bytes naming the commitment list a signer used (sent with its share so views can be compared)."""
    h = hashlib.sha512(CONTEXT_STRING + b"chainsig-py/commitment-list")
    for c in _ordered(commitments):
        h.update(c.participant.to_bytes(4, "big") + c.hiding + c.binding)
    return h.digest()[:32]


def frost_sign(
    keygen_output: KeygenOutput,
    participants: Sequence[int],
    coordinator: ParticipantId,
    message: bytes,
    tweak: bytes,
    rng: RandomSource,
    *,
    preprocessed: tuple[SigningNonces, Mapping[ParticipantId, SigningCommitments]] | None = None,
) -> Protocol[bytes | None]:
    """FROST signing as a protocol: round 0 broadcasts commitments (skipped when ``preprocessed`` gives my nonces and
    everyone's commitments), round 1 sends shares to ``coordinator``, whose result is the signature; others get None.

    Each share travels with the digest of the commitment list its signer used; a coordinator whose list differs
    aborts with ``CommitmentMismatchError`` (someone equivocated in round 0) instead of blaming an honest signer."""
    me = keygen_output.me
    ps = check_participants(_G, participants, me=me, threshold=keygen_output.threshold, phase="frost")
    if coordinator not in ps:
        raise ParticipantSetError(f"coordinator {coordinator} is not a participant", phase="frost")
    if not set(ps) <= set(keygen_output.participants):
        raise ParticipantSetError("signers must hold key shares", phase="frost")
    tweak_scalar(tweak)
    if preprocessed is not None:
        pre_nonces, pre_commitments = preprocessed
        if set(pre_commitments) != set(ps):
            raise ParticipantSetError("preprocessed commitments are for another participant set", phase="frost")
        if pre_commitments[me] != pre_nonces.commitments:
            raise ParticipantSetError("my preprocessed commitments are not the ones of my nonces", phase="frost")
        _ordered(pre_commitments)
        if pre_nonces.secrets.consumed:
            raise AssetConsumedError("FROST nonces were already used", phase="frost")

    def body(ch: Channel) -> ProtocolBody[bytes | None]:
        others = frozenset(ch.others)
        if preprocessed is None:
            nonces = frost_commit(keygen_output, rng)
            ch.broadcast(0, _encode_commitments(nonces.commitments))
            got = yield Receive(0, others)
            commitments = {me: nonces.commitments}
            for j in sorted(got):
                r = Reader(got[j], j)
                commitments[j] = SigningCommitments(j, r.point(_G), r.point(_G))
                r.finish()
        else:
            nonces, commitments = preprocessed[0], dict(preprocessed[1])
        share = frost_sign_share(keygen_output, nonces, commitments, message, tweak)
        digest = commitment_list_digest(commitments)
        if me != coordinator:
            ch.send_private(1, coordinator, Writer().scalar(_G, share.z).blob(digest).finish())
            return None
        got = yield Receive(1, others)
        shares = {me: share}
        for j in sorted(got):
            r = Reader(got[j], j)
            z = r.scalar(_G)
            theirs = r.blob(32)
            r.finish()
            if theirs != digest:
                raise CommitmentMismatchError(
                    f"participant {j} signed over a different round-0 commitment list (inconsistent broadcast)",
                    phase="frost/aggregate",
                )
            shares[j] = FrostSignatureShare(j, z)
        return frost_aggregate(keygen_output, commitments, message, tweak, shares)

    return Protocol("frost-sign", ps, me, 2, body)
