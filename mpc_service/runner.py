"""Drive one sans-I/O protocol instance over the peer network: the only place protocol messages meet sockets.

`run_protocol` pokes the instance, sends its messages on the instance's channel, feeds it what arrives on that
channel, and returns its result. A message the instance refuses (malformed, duplicate, from a non-participant) is
a protocol error naming the sender; it aborts this instance only. A peer that stays silent hits `timeout_s`; a
peer whose link was reset during the run (it restarted: it lost its state and the messages in flight) or that has
been unreachable for `LINK_GRACE_S` ends the run at once with `ProtocolTimeout` naming it, so that a key event's
next attempt or a request's retry starts in seconds rather than after the whole timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from mpc_service.errors import MpcError
from mpc_service.network import PeerNetwork
from mpc_service.protocol import Done, Protocol, Send
from mpc_service.types import ChannelId, ParticipantId

__all__ = ["ProtocolTimeout", "run_protocol"]

T = TypeVar("T")

LINK_GRACE_S = 5.0  # a participant unreachable this long during a run fails the run
_LINK_CHECK_S = 0.5


class ProtocolTimeout(MpcError):
    """A protocol instance did not finish in time (a participant is down or silent)."""

    def __init__(self, message: str, waiting_for: set[ParticipantId] | None = None) -> None:
        super().__init__(message)
        self.waiting_for = waiting_for or set()


async def run_protocol(net: PeerNetwork, channel: ChannelId, instance: Protocol[T], *, timeout_s: float,
                       tamper: Callable[[bytes], bytes] | None = None) -> T:
    """Run `instance` to completion on `channel`; raises `ProtocolError` or `ProtocolTimeout`.

    `tamper` (tests of malicious participants only) rewrites every outgoing message."""
    inbox = net.inbox(channel)
    others = [p for p in instance.participants if p != instance.me]
    heard: set[ParticipantId] = set()
    links = _LinkWatch(net, others)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            action = instance.poke()
            if isinstance(action, Send):
                for out in action.messages:
                    for to in ([out.to] if out.to is not None else others):
                        await net.send(ParticipantId(to), channel, tamper(out.data) if tamper else out.data)
                continue
            if isinstance(action, Done):
                return action.result
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ProtocolTimeout(f"{instance.name}: timed out waiting for peers", set(others) - heard)
                try:
                    sender, data = await asyncio.wait_for(inbox.recv(), min(remaining, _LINK_CHECK_S))
                    break
                except TimeoutError:
                    links.check(instance.name)
            heard.add(sender)
            instance.message(sender, data)
    finally:
        net.close_channel(channel)


class _LinkWatch:
    """Which participants' links were reset, or have been down longer than `LINK_GRACE_S`, since the run began."""

    def __init__(self, net: PeerNetwork, peers: list[ParticipantId]) -> None:
        self.net = net
        connected = net.connected()
        self.connects = {p: net.connect_count(p) for p in peers if p in connected}  # links up at the start
        self.peers = peers
        self.down_since: dict[ParticipantId, float] = {}

    def check(self, name: str) -> None:
        now, connected = time.monotonic(), self.net.connected()
        for p in self.peers:
            if p in self.connects and self.net.connect_count(p) != self.connects[p]:
                raise ProtocolTimeout(f"{name}: the link to participant {p} was reset during the run", {p})
            if p in connected:
                self.down_since.pop(p, None)
            elif now - self.down_since.setdefault(p, now) > LINK_GRACE_S:
                raise ProtocolTimeout(f"{name}: participant {p} unreachable for {LINK_GRACE_S:.0f} s", {p})
