"""Types shared by the client, the MPC node and the tests (one definition each).

`DomainId` numbers a signer domain; `PayloadScheme` is the `payload_v2` variant a domain signs. The request a client
sends is `chainsig.sign.SignRequest`; the node's record of one pending on-chain instance of it is
`mpc_service.chain.events.PendingSignRequest`. Signatures are `chainsig.signatures` (`EcdsaSignature`,
`Ed25519Signature`); NEAR key strings are `chainsig.keys`.
"""

from __future__ import annotations

from enum import Enum
from typing import NewType

from chainsig.errors import SignatureRequestError

__all__ = ["DomainId", "PayloadScheme"]

DomainId = NewType("DomainId", int)


class PayloadScheme(str, Enum):
    """The `payload_v2` variant: a 32-byte hash for ECDSA, a message of 0 to 1,232 bytes for EdDSA.

    A `str` enum: a member equals its JSON name ("Ecdsa", "Eddsa") and serialises as it."""

    ECDSA = "Ecdsa"
    EDDSA = "Eddsa"

    @classmethod
    def for_domain(cls, domain_id: int) -> PayloadScheme:
        """near/mpc's default domains: 0 is secp256k1 (ECDSA), 1 is ed25519 (EdDSA)."""
        if domain_id == 0:
            return cls.ECDSA
        if domain_id == 1:
            return cls.EDDSA
        raise SignatureRequestError(f"no default scheme for domain {domain_id}; pass the scheme explicitly")
