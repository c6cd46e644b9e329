"""Errors of the threshold protocols.

    MpcError
     └── ProtocolError                 every failure of a protocol instance; ``culprit`` names the participant to blame
          ├── MalformedMessageError    undecodable bytes, wrong lengths, unknown round, trailing data
          ├── UnexpectedMessageError   a message from a non-participant, a duplicate, or one for a finished instance
          ├── ParticipantSetError      participant lists that are too small, duplicated, or disagree between stages
          ├── ZeroOrIdentityError      a zero scalar or the identity point where neither is allowed
          ├── PayloadRangeError        an ECDSA payload (message hash) that is zero or not below the group order
          ├── CommitmentMismatchError  a revealed value that does not open its hash commitment, or a differing echo
          ├── BadProofError            a Schnorr or DLEQ proof that does not verify
          ├── BadShareError            a private or opened share that is inconsistent with its public commitment
          ├── BadSignatureError        an aggregated signature that does not verify (no single culprit found)
          ├── AssetConsumedError       a single-use presignature or nonce taken a second time
          ├── RetryWithOtherPresignatureError  R'.x >= n: this presignature cannot sign; use another one
          └── ProtocolAbortedError     poke() on an instance that already failed
"""
from __future__ import annotations

from ..errors import MpcError
from .types import ParticipantId

__all__ = [
    "AssetConsumedError",
    "BadProofError",
    "BadShareError",
    "BadSignatureError",
    "CommitmentMismatchError",
    "MalformedMessageError",
    "ParticipantSetError",
    "PayloadRangeError",
    "ProtocolAbortedError",
    "ProtocolError",
    "RetryWithOtherPresignatureError",
    "UnexpectedMessageError",
    "ZeroOrIdentityError",
]


class ProtocolError(MpcError):
    """A protocol instance failed; ``culprit`` is the participant at fault when one can be named."""

    def __init__(self, message: str, *, culprit: ParticipantId | None = None, phase: str = "") -> None:
        self.culprit = culprit
        self.phase = phase
        where = f"[{phase}] " if phase else ""
        blame = f" (culprit: participant {culprit})" if culprit is not None else ""
        super().__init__(f"{where}{message}{blame}")


class MalformedMessageError(ProtocolError):
    """The bytes of a message could not be decoded."""


class UnexpectedMessageError(ProtocolError):
    """A message that this instance cannot accept: unknown sender, duplicate, or late."""


class ParticipantSetError(ProtocolError, ValueError):
    """Participant sets are invalid or inconsistent between stages."""


class ZeroOrIdentityError(ProtocolError, ValueError):
    """A zero scalar or the identity point where it is not allowed."""


class PayloadRangeError(ProtocolError, ValueError):
    """An ECDSA payload that is zero or not below the group order n."""


class CommitmentMismatchError(ProtocolError):
    """A value does not match the hash commitment or echo made for it."""


class BadProofError(ProtocolError):
    """A zero-knowledge proof failed to verify."""


class BadShareError(ProtocolError):
    """A share is inconsistent with its public commitment."""


class BadSignatureError(ProtocolError):
    """The aggregated signature does not verify."""


class AssetConsumedError(ProtocolError):
    """A single-use secret (presignature, nonce) was already taken."""


class RetryWithOtherPresignatureError(ProtocolError):
    """The rerandomized nonce point has R'.x >= n; this presignature cannot produce a signature."""


class ProtocolAbortedError(ProtocolError):
    """The instance failed earlier and cannot continue."""
