"""Tampering helpers: play a malicious sender by rewriting its messages in the in-memory driver."""
from __future__ import annotations

from collections.abc import Callable

from mpc_service.protocol.groups import Group
from mpc_service.protocol.types import ParticipantId

Tamper = Callable[[ParticipantId, ParticipantId, bytes], bytes]


def round_of(data: bytes) -> int:
    return int.from_bytes(data[:2], "big")


def bump_scalar_at(group: Group, data: bytes, offset: int) -> bytes:
    """Replace the scalar at byte ``offset`` (from the start of the whole message) by itself + 1."""
    k = group.decode_scalar(data[offset : offset + 32])
    return data[:offset] + group.encode_scalar(k + 1) + data[offset + 32 :]


def tamper_last_scalar(
    group: Group, culprit: ParticipantId, round_: int, victim: ParticipantId | None = None
) -> Tamper:
    """``culprit`` adds 1 to the last scalar of its ``round_`` message (to ``victim`` only, or to everyone)."""

    def tamper(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        if sender == culprit and round_of(data) == round_ and (victim is None or to == victim):
            return bump_scalar_at(group, data, len(data) - 32)
        return data

    return tamper


def tamper_byte(culprit: ParticipantId, round_: int, offset: int) -> Tamper:
    """``culprit`` flips one bit of byte ``offset`` of its ``round_`` messages."""

    def tamper(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        if sender == culprit and round_of(data) == round_:
            return data[:offset] + bytes([data[offset] ^ 1]) + data[offset + 1 :]
        return data

    return tamper
