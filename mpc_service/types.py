"""Ids shared by the node's stages."""

from __future__ import annotations

from typing import NewType

from chainsig.types import DomainId  # one definition, shared with the client
from mpc_service.protocol.types import ParticipantId  # u32, as in the contract's participants list (one NewType)

__all__ = ["ChannelId", "DomainId", "ParticipantId", "RequestId"]

RequestId = NewType("RequestId", bytes)  # 32 bytes, see chain.events.request_id_of
ChannelId = NewType("ChannelId", bytes)  # one protocol instance on the p2p network (≤ 255 bytes)
