"""A small binary codec for protocol payloads: u32, length-prefixed blobs, scalars and points.

Every decoding failure raises ``MalformedMessageError`` naming the sender.
"""
from __future__ import annotations

from .errors import MalformedMessageError
from .groups import Group, Point
from .types import ParticipantId

__all__ = ["MAX_ITEMS", "Reader", "Writer"]

MAX_ITEMS = 1 << 16


class Writer:
    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u32(self, value: int) -> Writer:
        self._parts.append(value.to_bytes(4, "big"))
        return self

    def blob(self, data: bytes) -> Writer:
        self._parts.append(len(data).to_bytes(4, "big"))
        self._parts.append(data)
        return self

    def scalar(self, group: Group, k: int) -> Writer:
        self._parts.append(group.encode_scalar(k))
        return self

    def point(self, p: Point) -> Writer:
        return self.blob(p)

    def points(self, ps: tuple[Point, ...] | list[Point]) -> Writer:
        self.u32(len(ps))
        for p in ps:
            self.point(p)
        return self

    def finish(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    def __init__(self, data: bytes, sender: ParticipantId | None) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self.sender = sender

    def _take(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise MalformedMessageError("message is truncated", culprit=self.sender)
        out = bytes(self._data[self._pos : self._pos + n])
        self._pos += n
        return out

    def u32(self) -> int:
        return int.from_bytes(self._take(4), "big")

    def blob(self, max_len: int = 1 << 20) -> bytes:
        n = self.u32()
        if n > max_len:
            raise MalformedMessageError(f"field of {n} bytes exceeds {max_len}", culprit=self.sender)
        return self._take(n)

    def scalar(self, group: Group) -> int:
        return group.decode_scalar(self._take(group.scalar_bytes), culprit=self.sender)

    def point(self, group: Group, *, allow_identity: bool = False) -> Point:
        return group.decode_point(self.blob(max(64, group.point_bytes)), allow_identity=allow_identity,
                                  culprit=self.sender)

    def points(self, group: Group, count: int | None = None, *, allow_identity: bool = True) -> tuple[Point, ...]:
        n = self.u32()
        if n > MAX_ITEMS or (count is not None and n != count):
            raise MalformedMessageError(f"expected {count} points, got {n}", culprit=self.sender)
        return tuple(self.point(group, allow_identity=allow_identity) for _ in range(n))

    def count(self, expected: int) -> int:
        n = self.u32()
        if n != expected:
            raise MalformedMessageError(f"expected {expected} items, got {n}", culprit=self.sender)
        return n

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise MalformedMessageError("trailing bytes after the message", culprit=self.sender)
