"""Length-prefixed, domain-separated hashing: transcripts, hash commitments, challenges."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from .groups import Group, RandomSource

__all__ = ["HashCommitment", "Transcript", "commit", "open_commitment"]

_PROTOCOL_LABEL = b"chainsig-py/mpc/v1"


class Transcript:
    """An append-only SHA-512 transcript; every item is a (label, data) pair, both length-prefixed."""

    def __init__(self, domain: bytes) -> None:
        self._h = hashlib.sha512()
        self.append(b"protocol", _PROTOCOL_LABEL)
        self.append(b"domain", domain)

    def append(self, label: bytes, data: bytes) -> Transcript:
        self._h.update(len(label).to_bytes(4, "big") + label)
        self._h.update(len(data).to_bytes(8, "big") + data)
        return self

    def append_int(self, label: bytes, value: int) -> Transcript:
        return self.append(label, value.to_bytes(8, "big"))

    def fork(self) -> Transcript:
        t = Transcript.__new__(Transcript)
        t._h = self._h.copy()
        return t

    def digest(self) -> bytes:
        """32 bytes summarizing everything appended so far."""
        return self._h.digest()[:32]

    def challenge(self, group: Group) -> int:
        """A scalar derived from the transcript (64-byte digest reduced mod order)."""
        return group.scalar_from_digest(self._h.digest())


@dataclass(frozen=True)
class HashCommitment:
    """A binding, hiding commitment: SHA-512/256 over a domain, 32 random bytes and the committed data."""

    digest: bytes


def _commitment_digest(domain: bytes, randomness: bytes, data: bytes) -> bytes:
    return Transcript(b"hash-commitment").append(b"domain", domain).append(b"r", randomness).append(b"m", data).digest()


def commit(domain: bytes, data: bytes, rng: RandomSource) -> tuple[HashCommitment, bytes]:
    """Commit to ``data``; returns the commitment and the opening randomness."""
    randomness = rng.randbytes(32)
    return HashCommitment(_commitment_digest(domain, randomness, data)), randomness


def open_commitment(commitment: HashCommitment, domain: bytes, data: bytes, randomness: bytes) -> bool:
    """True when (data, randomness) opens the commitment."""
    return hmac.compare_digest(commitment.digest, _commitment_digest(domain, randomness, data))
