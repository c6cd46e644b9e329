"""The sans-I/O state machine every protocol runs in.

A protocol instance is driven by two calls (near/mpc's shape):

* ``message(sender, data)`` feeds one message received from ``sender`` (authenticated by the transport);
* ``poke()`` returns the next action: ``Send(messages)`` (deliver them, then poke again), ``Wait()`` (feed more
  messages first) or ``Done(result)``.

Each protocol is written as a generator that yields ``Receive(round, senders)`` and gets back the payloads of that
round from those senders; ``broadcast``/``send_private`` queue outgoing payloads. The envelope of every message is
``u16 round ‖ payload``. A protocol that raises is finished: the error propagates from ``poke()`` once, later
``poke()`` calls raise ``ProtocolAbortedError``. Messages for later rounds are buffered; duplicates, unknown senders
and rounds the protocol does not have are refused with a typed error that names the sender and changes nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

from .errors import (
    MalformedMessageError,
    ParticipantSetError,
    ProtocolAbortedError,
    ProtocolError,
    UnexpectedMessageError,
)
from .groups import Group
from .types import ParticipantId

__all__ = [
    "Action",
    "Channel",
    "Done",
    "Outgoing",
    "Protocol",
    "ProtocolBody",
    "Receive",
    "Send",
    "Wait",
    "check_participants",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Outgoing:
    """One message to deliver: ``to`` is a participant, or ``None`` for every other participant."""

    to: ParticipantId | None
    data: bytes


@dataclass(frozen=True)
class Send:
    messages: tuple[Outgoing, ...]


@dataclass(frozen=True)
class Wait:
    pass


@dataclass(frozen=True)
class Done(Generic[T]):
    result: T


Action: TypeAlias = Send | Wait | Done[T]


@dataclass(frozen=True)
class Receive:
    """Yielded by a protocol body: wait for the ``round`` payload of each of ``senders``."""

    round: int
    senders: frozenset[ParticipantId]


ProtocolBody: TypeAlias = Generator[Receive, dict[ParticipantId, bytes], T]


class Channel:
    """The body's handle for sending: queues payloads tagged with their round."""

    def __init__(self, me: ParticipantId, participants: tuple[ParticipantId, ...]) -> None:
        self.me = me
        self.participants = participants
        self.others = tuple(p for p in participants if p != me)
        self._outbox: list[Outgoing] = []

    def broadcast(self, round_: int, payload: bytes) -> None:
        self._outbox.append(Outgoing(None, round_.to_bytes(2, "big") + payload))

    def send_private(self, round_: int, to: ParticipantId, payload: bytes) -> None:
        self._outbox.append(Outgoing(to, round_.to_bytes(2, "big") + payload))

    def drain(self) -> tuple[Outgoing, ...]:
        out, self._outbox = tuple(self._outbox), []
        return out


class Protocol(Generic[T]):
    """A running protocol instance for one participant."""

    def __init__(
        self,
        name: str,
        participants: tuple[ParticipantId, ...],
        me: ParticipantId,
        rounds: int,
        body: Callable[[Channel], ProtocolBody[T]],
    ) -> None:
        self.name = name
        self.me = me
        self.participants = participants
        self._rounds = rounds
        self._channel = Channel(me, participants)
        self._inbox: list[dict[ParticipantId, bytes]] = [{} for _ in range(rounds)]
        self._consumed: list[set[ParticipantId]] = [set() for _ in range(rounds)]
        self._gen = body(self._channel)
        self._waiting: Receive | None = None
        self._started = False
        self._result: Done[T] | None = None
        self._error: ProtocolError | None = None

    def message(self, sender: ParticipantId, data: bytes) -> None:
        """Feed a message from ``sender``. Refused messages raise and leave the instance unchanged."""
        if sender == self.me or sender not in self.participants:
            raise UnexpectedMessageError(f"{self.name}: message from non-participant", culprit=sender, phase=self.name)
        if self._result is not None or self._error is not None:
            raise UnexpectedMessageError(f"{self.name}: instance already finished", culprit=sender, phase=self.name)
        if len(data) < 2:
            raise MalformedMessageError(f"{self.name}: message without a round header", culprit=sender, phase=self.name)
        round_ = int.from_bytes(data[:2], "big")
        if round_ >= self._rounds:
            raise MalformedMessageError(f"{self.name}: no round {round_}", culprit=sender, phase=self.name)
        if sender in self._inbox[round_] or sender in self._consumed[round_]:
            raise UnexpectedMessageError(
                f"{self.name}: duplicate message for round {round_}", culprit=sender, phase=self.name
            )
        self._inbox[round_][sender] = data[2:]

    def poke(self) -> Action[T]:
        """Advance as far as the buffered messages allow and say what to do next."""
        if self._error is not None:
            raise ProtocolAbortedError(f"{self.name}: instance failed earlier: {self._error}", phase=self.name)
        if self._result is not None:
            return self._result
        try:
            while True:
                out = self._channel.drain()
                if out:
                    return Send(out)
                if not self._started:
                    self._started = True
                    self._waiting = next(self._gen)
                    continue
                waiting = self._waiting
                assert waiting is not None
                box = self._inbox[waiting.round]
                if not waiting.senders.issubset(box.keys()):
                    return Wait()
                payloads = {s: box.pop(s) for s in waiting.senders}
                self._consumed[waiting.round].update(waiting.senders)
                self._waiting = self._gen.send(payloads)
        except StopIteration as stop:
            out = self._channel.drain()
            self._result = Done(stop.value)
            return Send(out) if out else self._result
        except ProtocolError as exc:
            if not exc.phase:
                exc.phase = self.name
            self._error = exc
            self._gen.close()
            raise

    @property
    def done(self) -> bool:
        return self._result is not None


def check_participants(
    group: Group,
    participants: Sequence[int],
    *,
    me: int | None = None,
    threshold: int | None = None,
    phase: str = "",
) -> tuple[ParticipantId, ...]:
    """Validate a participant list: at least 2, distinct u32 ids, containing ``me``, at least ``threshold`` of them."""
    ps = tuple(sorted(ParticipantId(int(p)) for p in participants))
    if len(ps) < 2:
        raise ParticipantSetError("need at least 2 participants", phase=phase)
    if len(set(ps)) != len(ps):
        raise ParticipantSetError("participant ids must be distinct", phase=phase)
    if ps[0] < 0 or ps[-1] >= 2**32:
        raise ParticipantSetError("participant ids must be u32", phase=phase)
    if me is not None and me not in ps:
        raise ParticipantSetError(f"participant {me} is not in the participant set", phase=phase)
    if threshold is not None and (threshold < 1 or threshold > len(ps)):
        raise ParticipantSetError(f"threshold {threshold} must be between 1 and {len(ps)}", phase=phase)
    _ = group
    return ps
