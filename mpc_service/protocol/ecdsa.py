"""One-round threshold ECDSA signing from a presignature, with the rerandomization of NEAR's threshold-signatures.

For a request with tweak ε (derived key X' = X + ε·G), message hash h and public entropy ρ known only once the
request exists:

    δ  = HKDF-SHA3-256(ikm = ρ, info = label ‖ X ‖ ε ‖ h ‖ R ‖ participants) mod n   (64 bytes, reduced)
    R' = δ·R,   k_i' = k_i/δ,   σ_i' = (σ_i + ε·k_i)/δ,   r = R'.x (abort if R'.x ≥ n)
    s_i = λ_i·(h·k_i' + r·σ_i')

The coordinator sums the shares, normalizes to low-s (flipping the recovery id's parity), and checks that the signature
recovers to X'. If it does not, it recomputes every s_j·G from public data and names the participant whose share is off.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import coincurve
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from chainsig.signatures import EcdsaSignature  # one definition, shared with the client

from .errors import (
    BadShareError,
    BadSignatureError,
    ParticipantSetError,
    PayloadRangeError,
    RetryWithOtherPresignatureError,
    ZeroOrIdentityError,
)
from .groups import SECP256K1, Point
from .machine import Channel, Protocol, ProtocolBody, Receive, check_participants
from .polynomial import lagrange_at_zero
from .presign import Presignature
from .secret import SingleUse
from .types import ParticipantId
from .wire import Reader, Writer

__all__ = [
    "EcdsaSignature",
    "RerandomizedPresignature",
    "SignatureShare",
    "check_message_hash",
    "check_tweak",
    "combine_signature_shares",
    "derive_delta",
    "derive_public_key",
    "ecdsa_sign",
    "rerandomize",
    "sign_share",
]

_N = SECP256K1.order
_HALF_N = _N // 2
_DELTA_INFO = b"chainsig-py/ecdsa/rerandomize/v1"


def check_message_hash(msg_hash: bytes) -> int:
    """The payload as a scalar: exactly 32 bytes, 0 < h < n (ECDSA payloads ≥ n are refused, as by the contract)."""
    if len(msg_hash) != 32:
        raise PayloadRangeError(f"message hash must be 32 bytes, got {len(msg_hash)}", phase="sign")
    h = int.from_bytes(msg_hash, "big")
    if h == 0:
        raise PayloadRangeError("message hash is zero", phase="sign")
    if h >= _N:
        raise PayloadRangeError("message hash is not below the group order n", phase="sign")
    return h


def check_tweak(tweak: bytes) -> int:
    """The tweak ε read big-endian; it must be 32 bytes and below n."""
    if len(tweak) != 32:
        raise PayloadRangeError(f"tweak must be 32 bytes, got {len(tweak)}", phase="sign")
    eps = int.from_bytes(tweak, "big")
    if eps >= _N:
        raise PayloadRangeError("tweak is not below the group order n", phase="sign")
    return eps


def derive_public_key(public_key: Point, tweak: bytes) -> Point:
    """X + ε·G (the derived key a signature must verify under)."""
    g = SECP256K1
    derived = g.add(public_key, g.base_mul(check_tweak(tweak)))
    return g.require_not_identity(derived, "derived public key")


def derive_delta(
    public_key: Point,
    tweak: bytes,
    msg_hash: bytes,
    big_r: Point,
    participants: Sequence[ParticipantId],
    entropy: bytes,
) -> int:
    """δ binding (X, ε, h, R, participant set, ρ); never zero."""
    if len(entropy) != 32:
        raise PayloadRangeError(f"entropy must be 32 bytes, got {len(entropy)}", phase="sign")
    info = bytearray(_DELTA_INFO)
    for part in (public_key, tweak, msg_hash, big_r, b"".join(int(p).to_bytes(4, "big") for p in participants)):
        info += len(part).to_bytes(4, "big") + part
    okm = HKDF(algorithm=hashes.SHA3_256(), length=64, salt=None, info=bytes(info)).derive(entropy)
    delta = int.from_bytes(okm, "big") % _N
    if delta == 0:  # pragma: no cover - probability 2^-256
        raise ZeroOrIdentityError("rerandomizer is zero", phase="sign")
    return delta


@dataclass(frozen=True)
class RerandomizedSecrets:
    k: int
    sigma: int

    def __repr__(self) -> str:
        return "RerandomizedSecrets(<redacted>)"


@dataclass(frozen=True)
class RerandomizedPresignature:
    """A presignature bound to one request (R' = δ·R); its secrets can produce exactly one signature share."""

    me: ParticipantId
    participants: tuple[ParticipantId, ...]
    big_r: Point
    """R' = δ·R (the signature's nonce point)."""
    delta: int
    tweak: int
    public_key: Point
    derived_public_key: Point
    presignature: Presignature = field(compare=False, repr=False)
    secrets: SingleUse[RerandomizedSecrets] = field(compare=False)


@dataclass(frozen=True)
class SignatureShare:
    """Participant ``participant``'s additive share s_i of s (public once sent)."""

    participant: ParticipantId
    s: int


def rerandomize(
    presignature: Presignature, *, tweak: bytes, msg_hash: bytes, entropy: bytes
) -> RerandomizedPresignature:
    """Consume a presignature for one request (the presignature's secrets are taken here)."""
    g = SECP256K1
    eps = check_tweak(tweak)
    check_message_hash(msg_hash)
    derived = derive_public_key(presignature.public_key, tweak)
    delta = derive_delta(presignature.public_key, tweak, msg_hash, presignature.big_r, presignature.participants,
                         entropy)
    big_r2 = g.mul(presignature.big_r, delta)
    if g.x_coordinate(big_r2) >= _N:  # pragma: no cover - probability ~2^-128
        raise RetryWithOtherPresignatureError("R'.x >= n; use another presignature", phase="sign")
    secrets = presignature.take()
    inv = pow(delta, -1, _N)
    k2 = secrets.k * inv % _N
    sigma2 = (secrets.sigma + eps * secrets.k) * inv % _N
    return RerandomizedPresignature(
        me=presignature.me,
        participants=presignature.participants,
        big_r=big_r2,
        delta=delta,
        tweak=eps,
        public_key=presignature.public_key,
        derived_public_key=derived,
        presignature=presignature,
        secrets=SingleUse(RerandomizedSecrets(k2, sigma2), "rerandomized presignature"),
    )


def sign_share(rerandomized: RerandomizedPresignature, msg_hash: bytes) -> SignatureShare:
    """s_i = λ_i·(h·k_i' + r·σ_i'); consumes the rerandomized presignature."""
    h = check_message_hash(msg_hash)
    r = SECP256K1.x_coordinate(rerandomized.big_r) % _N
    sec = rerandomized.secrets.take()
    lam = lagrange_at_zero(SECP256K1, rerandomized.participants, rerandomized.me)
    return SignatureShare(rerandomized.me, lam * (h * sec.k + r * sec.sigma) % _N)


def _recovers_to(sig: EcdsaSignature, msg_hash: bytes, expected: Point) -> bool:
    try:
        recovered = coincurve.PublicKey.from_signature_and_message(sig.to_rsv(), msg_hash, hasher=None)
    except ValueError:
        return False
    return recovered.format(compressed=True) == expected


def _expected_share_point(rp: RerandomizedPresignature, j: ParticipantId, h: int) -> Point:
    """s_j·G = λ_j/δ·((h + r·ε)·K(j) + r·Σ(j)) from public data."""
    g = SECP256K1
    r = g.x_coordinate(rp.big_r) % _N
    lam = lagrange_at_zero(g, rp.participants, j)
    scale = lam * pow(rp.delta, -1, _N) % _N
    inner = g.add(g.mul(rp.presignature.k_point(j), h + r * rp.tweak), g.mul(rp.presignature.sigma_point(j), r))
    return g.mul(inner, scale)


def combine_signature_shares(
    rerandomized: RerandomizedPresignature, msg_hash: bytes, shares: Mapping[ParticipantId, SignatureShare]
) -> EcdsaSignature:
    """Sum the shares of every participant, normalize to low-s, verify under X + ε·G, or name the bad share."""
    g = SECP256K1
    h = check_message_hash(msg_hash)
    if set(shares) != set(rerandomized.participants):
        raise ParticipantSetError("need exactly one share from every signing participant", phase="sign/combine")
    s = sum(sh.s for sh in shares.values()) % _N
    recovery_id = 1 if g.y_is_odd(rerandomized.big_r) else 0
    if s > _HALF_N:
        s = _N - s
        recovery_id ^= 1
    sig = EcdsaSignature(rerandomized.big_r, s, recovery_id) if s != 0 else None
    if sig is not None and _recovers_to(sig, msg_hash, rerandomized.derived_public_key):
        return sig
    for j in sorted(shares):
        if g.base_mul(shares[j].s) != _expected_share_point(rerandomized, j, h):
            raise BadShareError("signature share does not match the presignature", culprit=j, phase="sign/combine")
    raise BadSignatureError("aggregated signature does not verify", phase="sign/combine")


def ecdsa_sign(
    presignature: Presignature,
    participants: Sequence[int],
    coordinator: ParticipantId,
    *,
    tweak: bytes,
    msg_hash: bytes,
    entropy: bytes,
) -> Protocol[EcdsaSignature | None]:
    """One-round signing: every participant sends its share to ``coordinator``, whose result is the signature
    (the others finish with ``None``). The presignature is consumed when the instance is created."""
    g = SECP256K1
    ps = check_participants(g, participants, me=presignature.me, phase="sign")
    if ps != presignature.participants:
        raise ParticipantSetError("the signing set must equal the presigning set", phase="sign")
    if coordinator not in ps:
        raise ParticipantSetError(f"coordinator {coordinator} is not a participant", phase="sign")
    rp = rerandomize(presignature, tweak=tweak, msg_hash=msg_hash, entropy=entropy)
    mine = sign_share(rp, msg_hash)
    me = presignature.me

    def body(ch: Channel) -> ProtocolBody[EcdsaSignature | None]:
        if me != coordinator:
            ch.send_private(0, coordinator, Writer().scalar(g, mine.s).finish())
            return None
        got = yield Receive(0, frozenset(ch.others))
        shares = {me: mine}
        for j, payload in got.items():
            r = Reader(payload, j)
            shares[j] = SignatureShare(j, r.scalar(g))
            r.finish()
        return combine_signature_shares(rp, msg_hash, shares)

    return Protocol("sign", ps, me, 1, body)


