"""Run N protocol instances in memory: deliver each party's messages to the others until all are done.

Used by tests and the benchmark. Delivery order is deterministic (participants in order, FIFO), or shuffled with
``shuffle_rng`` to exercise out-of-order buffering.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import TypeVar

from .machine import Done, Protocol, Send, Wait
from .types import ParticipantId

__all__ = ["StalledError", "Tamper", "run_protocols"]

T = TypeVar("T")
Tamper = Callable[[ParticipantId, ParticipantId, bytes], bytes]
"""(sender, recipient, data) -> data actually delivered; lets tests play a malicious sender."""


class StalledError(RuntimeError):
    """Every instance is waiting and no message is in flight (a protocol bug, not an attack)."""


def run_protocols(
    instances: Mapping[ParticipantId, Protocol[T]],
    *,
    tamper: Tamper | None = None,
    shuffle_rng: random.Random | None = None,
    timings: MutableMapping[ParticipantId, float] | None = None,
) -> dict[ParticipantId, T]:
    """Drive every instance to completion and return each participant's result; protocol errors propagate.

    With ``timings``, the seconds each participant spends in its own ``poke``/``message`` calls are added to it
    (the per-party compute cost, without the driver's bookkeeping)."""
    clock = time.perf_counter
    queue: list[tuple[ParticipantId, ParticipantId, bytes]] = []
    results: dict[ParticipantId, T] = {}
    while len(results) < len(instances):
        progressed = False
        for me, inst in instances.items():
            if me in results:
                continue
            while True:
                started = clock()
                action = inst.poke()
                if timings is not None:
                    timings[me] = timings.get(me, 0.0) + clock() - started
                if isinstance(action, Send):
                    progressed = True
                    for out in action.messages:
                        targets = [out.to] if out.to is not None else [p for p in instances if p != me]
                        for to in targets:
                            data = tamper(me, to, out.data) if tamper else out.data
                            queue.append((me, to, data))
                    continue
                if isinstance(action, Done):
                    results[me] = action.result
                    progressed = True
                assert isinstance(action, (Wait, Done))
                break
        if shuffle_rng is not None:
            shuffle_rng.shuffle(queue)
        pending, queue = queue, []
        for sender, to, data in pending:
            if to in instances and to not in results:
                started = clock()
                instances[to].message(sender, data)
                if timings is not None:
                    timings[to] = timings.get(to, 0.0) + clock() - started
                progressed = True
        if not progressed:
            raise StalledError("no instance can make progress")
    return results
