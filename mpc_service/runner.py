"""Drive one sans-I/O protocol instance over the peer network: the only place protocol messages meet sockets.

`run_protocol` pokes the instance, sends its messages on the instance's channel, feeds it what arrives on that
channel, and returns its result. A message the instance refuses (malformed, duplicate, from a non-participant) is
a protocol error naming the sender; it aborts this instance only. A peer that stays silent hits `timeout_s`.
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
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProtocolTimeout(f"{instance.name}: timed out", set(others) - heard)
            try:
                sender, data = await asyncio.wait_for(inbox.recv(), remaining)
            except TimeoutError:
                raise ProtocolTimeout(f"{instance.name}: timed out waiting for peers", set(others) - heard) from None
            heard.add(sender)
            instance.message(sender, data)
    finally:
        net.close_channel(channel)
