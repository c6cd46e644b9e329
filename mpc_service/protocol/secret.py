"""Wrappers that keep secret scalars out of reprs and logs, and make single-use secrets single-use.

Python integers are not constant-time; timing side channels on scalar arithmetic are an accepted risk
(docs/protocol.md).
"""
from __future__ import annotations

import threading
from typing import Final, Generic, TypeVar

from .errors import AssetConsumedError

__all__ = ["REDACTED", "SecretScalar", "SingleUse"]

REDACTED: Final = "<redacted>"
T = TypeVar("T")


class SecretScalar:
    """A secret scalar (an int mod the group order); ``repr``/``str`` print ``<redacted>``, ``expose()`` reads it."""

    __slots__ = ("_value",)

    def __init__(self, value: int) -> None:
        self._value = value

    def expose(self) -> int:
        """The secret value; use it at once and do not keep or log it."""
        return self._value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretScalar) and self._value == other._value

    def __hash__(self) -> int:
        return hash(SecretScalar)

    def __repr__(self) -> str:
        return f"SecretScalar({REDACTED})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("SecretScalar cannot be pickled; serialize it explicitly for encrypted storage")


class SingleUse(Generic[T]):
    """Holds a secret that may be taken exactly once; a second ``take()`` raises ``AssetConsumedError``.

    The value is dropped on ``take()`` so a consumed object cannot leak or reuse it.
    """

    __slots__ = ("_lock", "_value", "_what")

    def __init__(self, value: T, what: str) -> None:
        self._value: T | None = value
        self._what = what
        self._lock = threading.Lock()

    @property
    def consumed(self) -> bool:
        """True once the value was taken."""
        return self._value is None

    def take(self) -> T:
        """Return the value and forget it; raises on every later call."""
        with self._lock:
            value = self._value
            if value is None:
                raise AssetConsumedError(f"{self._what} was already used", phase="single-use")
            self._value = None
            return value

    def __repr__(self) -> str:
        state = "consumed" if self._value is None else REDACTED
        return f"SingleUse({self._what}: {state})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("single-use secrets cannot be pickled (a copy would allow reuse)")
