"""Identifiers and small value types shared by every protocol."""
from __future__ import annotations

from typing import NewType

__all__ = ["ParticipantId", "SessionId"]

ParticipantId = NewType("ParticipantId", int)
"""A participant's number (u32, as in the contract); its Shamir evaluation point is ``id + 1`` (as in cait-sith)."""

SessionId = NewType("SessionId", bytes)
"""Bytes that make one protocol instance unique (e.g. a hash of the chain event that started it)."""
