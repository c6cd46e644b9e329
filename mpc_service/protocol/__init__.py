"""Sans-I/O threshold cryptography: DKG and key resharing (secp256k1, ed25519), threshold ECDSA (triples →
presignatures → one-round signing with rerandomization), FROST Ed25519 (RFC 9591) with NEAR's additive tweak, and
signature verification.

Every multi-party step is a ``Protocol``: feed ``message(sender, data)``, call ``poke()`` for ``Send`` / ``Wait`` /
``Done``. ``driver.run_protocols`` runs N of them in memory. See docs/protocol.md.
"""
from __future__ import annotations

from .driver import run_protocols
from .ecdsa import (
    EcdsaSignature,
    RerandomizedPresignature,
    SignatureShare,
    combine_signature_shares,
    derive_public_key,
    ecdsa_sign,
    rerandomize,
    sign_share,
)
from .errors import ProtocolError
from .frost import (
    FrostSignatureShare,
    SigningCommitments,
    SigningNonces,
    frost_aggregate,
    frost_commit,
    frost_sign,
    frost_sign_share,
    tweaked_public_key,
)
from .groups import ED25519, SECP256K1, Group, Point, RandomSource
from .keygen import KeygenOutput, keygen
from .machine import Action, Done, Outgoing, Protocol, Send, Wait
from .presign import Presignature, presign
from .reshare import PublicKeyPackage, ReshareOutput, reshare
from .triples import HonestMajorityTripleGenerator, Triple, TripleGenerator, TriplePublic
from .triples_ot import DishonestMajorityTripleGenerator, triple_generator_for
from .types import ParticipantId, SessionId
from .verify import recover_ecdsa, verify_ecdsa, verify_ecdsa_der, verify_ed25519

__all__ = [
    "ED25519",
    "SECP256K1",
    "Action",
    "DishonestMajorityTripleGenerator",
    "Done",
    "EcdsaSignature",
    "FrostSignatureShare",
    "Group",
    "HonestMajorityTripleGenerator",
    "KeygenOutput",
    "Outgoing",
    "ParticipantId",
    "Point",
    "Presignature",
    "Protocol",
    "ProtocolError",
    "PublicKeyPackage",
    "RandomSource",
    "RerandomizedPresignature",
    "ReshareOutput",
    "Send",
    "SessionId",
    "SignatureShare",
    "SigningCommitments",
    "SigningNonces",
    "Triple",
    "TripleGenerator",
    "TriplePublic",
    "Wait",
    "combine_signature_shares",
    "derive_public_key",
    "ecdsa_sign",
    "frost_aggregate",
    "frost_commit",
    "frost_sign",
    "frost_sign_share",
    "keygen",
    "presign",
    "recover_ecdsa",
    "rerandomize",
    "reshare",
    "run_protocols",
    "sign_share",
    "triple_generator_for",
    "tweaked_public_key",
    "verify_ecdsa",
    "verify_ecdsa_der",
    "verify_ed25519",
]
