"""Wire frames: u32 big-endian length, then one type byte and a body. Pure encode/decode plus stream reading.

    AUTH_CHALLENGE  server → client   nonce (32)
    AUTH            client → server   client ed25519 key (32) ‖ signature (64) over auth_message(…)
    AUTH_OK         server → client   (empty)
    DATA            either way        u8 channel length ‖ channel ‖ payload
    PING / PONG     keepalive         u64 sequence number
"""

from __future__ import annotations

import asyncio
import enum
import struct
from dataclasses import dataclass

from mpc_service.errors import MpcError
from mpc_service.types import ChannelId

AUTH_DOMAIN = b"chainsig-py mpc p2p auth v1"
NONCE_BYTES = 32
# Frame lengths (type byte + body) of the fixed-size frames: what a reader accepts before authentication.
CHALLENGE_FRAME_BYTES = 1 + NONCE_BYTES
AUTH_FRAME_BYTES = 1 + 32 + 64
AUTH_OK_FRAME_BYTES = 1
PONG_FRAME_BYTES = 1 + 8


class FrameError(MpcError):
    """A peer sent bytes that are not a valid frame (bad type, bad body, too large)."""


class FrameType(enum.IntEnum):
    AUTH_CHALLENGE = 1
    AUTH = 2
    AUTH_OK = 3
    DATA = 4
    PING = 5
    PONG = 6


@dataclass(frozen=True)
class Frame:
    type: FrameType
    body: bytes


def encode(frame_type: FrameType, body: bytes = b"") -> bytes:
    return struct.pack(">IB", len(body) + 1, frame_type) + body


def encode_data(channel: ChannelId, payload: bytes) -> bytes:
    if not 0 < len(channel) < 256:
        raise ValueError("channel id must be 1..255 bytes")
    return encode(FrameType.DATA, bytes([len(channel)]) + channel + payload)


def decode_data(body: bytes) -> tuple[ChannelId, bytes]:
    if not body or body[0] == 0 or len(body) < 1 + body[0]:
        raise FrameError("DATA frame with a bad channel id")
    return ChannelId(body[1:1 + body[0]]), body[1 + body[0]:]


def auth_message(server_key: bytes, client_key: bytes, nonce: bytes) -> bytes:
    """What a client signs: binds its key to this server's key and this connection's fresh nonce."""
    return AUTH_DOMAIN + server_key + client_key + nonce


async def read_frame(reader: asyncio.StreamReader, max_frame_bytes: int) -> Frame:
    """Read one frame. Raises FrameError on a malformed or oversize frame, IncompleteReadError on EOF."""
    header = await reader.readexactly(4)
    (length,) = struct.unpack(">I", header)
    if length == 0 or length > max_frame_bytes:
        raise FrameError(f"frame length {length} outside 1..{max_frame_bytes}")
    raw = await reader.readexactly(length)
    try:
        frame_type = FrameType(raw[0])
    except ValueError:
        raise FrameError(f"unknown frame type {raw[0]}") from None
    return Frame(frame_type, raw[1:])
