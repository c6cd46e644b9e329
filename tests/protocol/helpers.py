"""Tampering helpers: play a malicious sender by rewriting its messages in the in-memory driver."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

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


def drive_until_failures(instances: Mapping[ParticipantId, Any], everyone: Sequence[ParticipantId], tamper: Tamper,
                         error: type[Exception], rounds: int = 10) -> tuple[set[ParticipantId], dict[ParticipantId, Any]]:
    """Drive `instances` by hand so that one party's failure (`error`) does not stop the others; every delivered
    message goes through `tamper`. Returns (who finished, who failed with which error)."""
    from mpc_service.protocol import Done, Send

    finished: set[ParticipantId] = set()
    failed: dict[ParticipantId, Any] = {}
    for _ in range(rounds):
        outbox = []
        for p, inst in instances.items():
            if p in finished or p in failed:
                continue
            try:
                action = inst.poke()
            except error as exc:
                failed[p] = exc
                continue
            if isinstance(action, Send):
                outbox += [(p, m) for m in action.messages]
            elif isinstance(action, Done):
                finished.add(p)
        for sender, m in outbox:
            for to in ([m.to] if m.to is not None else [q for q in everyone if q != sender]):
                if to not in failed and to not in finished:
                    instances[to].message(sender, tamper(sender, to, m.data))
    return finished, failed
