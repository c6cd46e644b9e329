"""What a node checks before it takes an asset or contributes to a protocol someone else leads (pure functions).

The security model: no single node can get anything signed that the user did not ask for. So a follower does not
trust the leader's description of a task: it looks the request instance up in its *own* indexed copy and checks
every field the leader names against it and against the domain's scheme, and checks that the asset it is asked to
use was made for that domain and that participant set. Only then does it take the asset (taking deletes it). The
leader runs the same request checks before it takes a presignature. Each check raises `TaskRefused` with a reason.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from chainsig.types import PayloadScheme
from mpc_service.assets import AssetInfo
from mpc_service.chain.events import PendingCkdRequest, PendingRequest, PendingSignRequest
from mpc_service.errors import MpcError
from mpc_service.types import DomainId, ParticipantId, RequestId

__all__ = ["CKD_SCHEME", "SCHEME_OF_PAYLOAD", "TaskRefused", "check_asset", "check_ckd_task", "check_payload",
           "check_sign_task",
           "check_signing_set"]

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
EDDSA_PAYLOAD_BYTES = (0, 1232)  # the signer contract's bounds (near/mpc's current ones)
CKD_SCHEME = "Bls12381"  # the contract's name of the CKD domains' scheme
SCHEME_OF_PAYLOAD = {PayloadScheme.ECDSA: "Secp256k1", PayloadScheme.EDDSA: "Ed25519"}


class TaskRefused(MpcError):
    """This node will not take part: what it was asked does not match its own view."""


def check_payload(kind: PayloadScheme | str, payload: bytes) -> None:
    """The contract's payload rules: ECDSA a 32-byte hash that is a non-zero scalar below the group order (zero
    makes ECDSA forgeable), EdDSA 0..1232 bytes."""
    try:
        scheme = PayloadScheme(kind)
    except ValueError:
        raise TaskRefused(f"unknown payload kind {kind!r}") from None
    if scheme is PayloadScheme.ECDSA:
        if len(payload) != 32:
            raise TaskRefused(f"ECDSA payload must be 32 bytes, got {len(payload)}")
        if not 0 < int.from_bytes(payload, "big") < SECP256K1_ORDER:
            raise TaskRefused("ECDSA payload must be a non-zero scalar below the secp256k1 order")
    else:
        low, high = EDDSA_PAYLOAD_BYTES
        if not low <= len(payload) <= high:
            raise TaskRefused(f"EdDSA payload must be {low}..{high} bytes, got {len(payload)}")


def check_sign_task(own: PendingRequest, *, request_id: RequestId, domain_id: DomainId, scheme: str,
                    domains: Mapping[DomainId, str]) -> PendingSignRequest:
    """`own` is this node's indexed copy of the instance the task names; `scheme` is what the task would produce
    ("Secp256k1" for an ECDSA share, "Ed25519" for FROST); `domains` are the keyed domains and their schemes.
    Returns `own`, a sign request."""
    if not isinstance(own, PendingSignRequest):
        raise TaskRefused("the instance the task names is not a sign request")
    _check_instance(own, request_id=request_id, domain_id=domain_id, scheme=scheme, domains=domains)
    if SCHEME_OF_PAYLOAD.get(own.payload_kind) != scheme:
        raise TaskRefused(f"a {own.payload_kind.value} payload cannot be signed with {scheme}")
    check_payload(own.payload_kind, own.payload)
    return own


def check_ckd_task(own: PendingRequest, *, request_id: RequestId, domain_id: DomainId,
                   domains: Mapping[DomainId, str]) -> PendingCkdRequest:
    """A CKD task: `own` (this node's copy of the instance) is a CKD request with the task's content and domain, and
    the domain is a Bls12381 (CKD) domain keyed here. Returns `own`."""
    if not isinstance(own, PendingCkdRequest):
        raise TaskRefused("the instance the task names is not a CKD request")
    _check_instance(own, request_id=request_id, domain_id=domain_id, scheme=CKD_SCHEME, domains=domains)
    return own


def _check_instance(own: PendingRequest, *, request_id: RequestId, domain_id: DomainId, scheme: str,
                    domains: Mapping[DomainId, str]) -> None:
    """What every task's instance must match: the task's content and domain, a domain keyed here with `scheme`."""
    if own.request_id != request_id:
        raise TaskRefused("the request content differs from this node's copy of the instance")
    if own.domain_id != domain_id:
        raise TaskRefused(f"the task names domain {domain_id}, the request is for domain {own.domain_id}")
    have = domains.get(domain_id)
    if have is None:
        raise TaskRefused(f"domain {domain_id} has no key share here")
    if have != scheme:
        raise TaskRefused(f"domain {domain_id} is {have}, the task would produce {scheme}")


def check_signing_set(participants: Collection[ParticipantId], *, sender: ParticipantId, me: ParticipantId,
                      eligible: Collection[ParticipantId], threshold: int) -> None:
    """The set names the leader and this node, only current participants, and at least `threshold` of them."""
    if sender not in participants or me not in participants:
        raise TaskRefused("the signing set must contain the leader and this node")
    if not set(participants) <= set(eligible):
        raise TaskRefused(f"the signing set names non-participants: {sorted(set(participants) - set(eligible))}")
    if len(participants) < threshold:
        raise TaskRefused(f"the signing set has {len(participants)} members, the threshold is {threshold}")


def check_asset(info: AssetInfo | None, *, what: str, participants: Collection[ParticipantId],
                domain_id: DomainId | None = None, owner: ParticipantId | None = None) -> AssetInfo:
    """The asset exists here, was made with exactly `participants`, for `domain_id` (presignatures), by `owner`."""
    if info is None:
        raise TaskRefused(f"{what} is not in this node's store (never made here, or already used)")
    if tuple(sorted(participants)) != info.participants:
        raise TaskRefused(f"{what} was made with participants {list(info.participants)}, not {sorted(participants)}")
    if domain_id is not None and info.domain_id != domain_id:
        raise TaskRefused(f"{what} was made for domain {info.domain_id}, not {domain_id}")
    if owner is not None and info.owner != owner:
        raise TaskRefused(f"{what} belongs to participant {info.owner}, not {owner}")
    return info
