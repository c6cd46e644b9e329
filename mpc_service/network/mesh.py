"""The peer mesh: one outgoing connection per peer for sending, accepted connections for receiving.

Like near/mpc, each node dials every other participant and only *sends* on connections it dialled; it only
*receives* on connections it accepted. Outgoing links reconnect with capped exponential backoff and send a
PING every `keepalive_s` (a link without a PONG for 3× that is dropped and redialled). Accepted links must
authenticate first (see `identity`); a peer with an unknown key, a bad signature, garbage bytes or an
oversize frame is disconnected and named in the log. DATA frames are routed to the `Inbox` of their channel
(one protocol instance); a channel opened by another node is announced on `new_channels`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from mpc_service.errors import MpcError
from mpc_service.keys import Ed25519KeyPair, verify_ed25519
from mpc_service.network import frames
from mpc_service.network.frames import FrameError, FrameType
from mpc_service.network.identity import client_context, peer_public_key, server_context
from mpc_service.types import ChannelId, ParticipantId

log = logging.getLogger("mpc_service.network")

HANDSHAKE_TIMEOUT_S = 10.0
OUTBOX_LIMIT = 10_000
INBOX_LIMIT = 10_000
# A channel another node opened that no local protocol instance has claimed yet (messages may arrive before the
# follower starts its instance) is bounded per peer: how many such channels, how many messages each, how long.
UNCLAIMED_PER_PEER = 128
UNCLAIMED_INBOX_LIMIT = 64
UNCLAIMED_TTL_S = 60.0
BACKOFF_START_S = 0.05
BACKOFF_MAX_S = 5.0
CLOSED_CHANNEL_MEMORY = 4096


class NetworkError(MpcError):
    """Root of p2p network errors."""


class PeerUnavailable(NetworkError):
    """The peer is unknown, or its outbox is full because it has been unreachable for a while."""


class PeersNotConnected(NetworkError):
    """`wait_connected` ran out of time; `waiting_for` names the peers without a link."""

    def __init__(self, waiting_for: set[ParticipantId]) -> None:
        super().__init__(f"peers not connected: {sorted(waiting_for)}")
        self.waiting_for = waiting_for


class AuthenticationError(NetworkError):
    """A peer's TLS key or signed handshake did not match a registered participant."""


@dataclass(frozen=True)
class Peer:
    participant_id: ParticipantId
    host: str
    port: int
    public_key: bytes  # raw ed25519, the contract's tls_public_key

    def __repr__(self) -> str:
        return f"Peer({self.participant_id}@{self.host}:{self.port} key={self.public_key.hex()[:16]}…)"


class SendToPeer(Protocol):
    """What the protocol layer needs to send: one payload to one participant on one channel."""

    async def send(self, peer: ParticipantId, channel: ChannelId, payload: bytes) -> None: ...


class Inbox:
    """Messages for one channel (protocol instance), as (sender, payload)."""

    def __init__(self, channel: ChannelId, limit: int = INBOX_LIMIT) -> None:
        self.channel = channel
        self.limit = limit
        self._queue: asyncio.Queue[tuple[ParticipantId, bytes]] = asyncio.Queue()

    async def recv(self) -> tuple[ParticipantId, bytes]:
        return await self._queue.get()

    def recv_nowait(self) -> tuple[ParticipantId, bytes] | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def _deliver(self, sender: ParticipantId, payload: bytes) -> bool:
        if self._queue.qsize() >= self.limit:
            return False
        self._queue.put_nowait((sender, payload))
        return True


@dataclass
class _Link:
    """State of the outgoing link to one peer."""

    peer: Peer
    outbox: asyncio.Queue[bytes]
    task: asyncio.Task[None] | None = None
    connected: bool = False
    connects: int = 0
    last_pong: float = 0.0


class PeerNetwork:
    """The authenticated mesh of one node. `await start()`, then `send()` and `inbox()`; `await close()` to stop."""

    def __init__(
        self,
        me: ParticipantId,
        key: Ed25519KeyPair,
        peers: Iterable[Peer],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_frame_bytes: int = 16 * 1024 * 1024,
        keepalive_s: float = 5.0,
    ) -> None:
        self.me = me
        self._key = key
        self._host, self._port = host, port
        self.max_frame_bytes = max_frame_bytes
        self.keepalive_s = keepalive_s
        self._peers: dict[ParticipantId, Peer] = {}
        self._links: dict[ParticipantId, _Link] = {}
        self._inboxes: dict[ChannelId, Inbox] = {}
        self._unclaimed: dict[ChannelId, tuple[ParticipantId, float]] = {}  # opened by a peer, not yet by us
        self.dropped_messages: dict[ParticipantId, int] = {}
        self._closed_channels: dict[ChannelId, None] = {}
        self._incoming: dict[ParticipantId, asyncio.StreamWriter] = {}
        self._server: asyncio.base_events.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._client_ssl = client_context()
        self._server_ssl = server_context(key)
        self.new_channels: asyncio.Queue[tuple[ChannelId, ParticipantId]] = asyncio.Queue()
        self.rejected_connections = 0
        self._running = False
        self._set_peers(peers)

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self._host, self._port, ssl=self._server_ssl, ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self._running = True
        for link in self._links.values():
            self._start_link(link)
        log.info("p2p listening", extra={"port": self._port, "participant": self.me})

    @property
    def port(self) -> int:
        return self._port

    async def close(self) -> None:
        """Stop dialling and accepting; close every connection."""
        self._running = False
        if self._server is not None:
            self._server.close()
        tasks = [link.task for link in self._links.values() if link.task] + list(self._handlers)
        for writer in list(self._incoming.values()):
            writer.close()
        # Cancel until every task has ended: Python 3.11's wait_for can swallow a cancellation that lands
        # just as its inner await completes (e.g. a handshake finishing during close), leaving a task running.
        pending = set(tasks) | set(self._handlers)
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.5)
            pending |= {t for t in self._handlers if not t.done()}
        if self._server is not None:
            await self._server.wait_closed()

    def update_peers(self, peers: Iterable[Peer]) -> None:
        """Replace the participant set (e.g. after resharing): new peers are dialled, removed ones dropped."""
        old = set(self._links)
        self._set_peers(peers)
        for pid in old - set(self._links):
            writer = self._incoming.pop(pid, None)
            if writer:
                writer.close()
        if self._running:
            for link in self._links.values():
                if link.task is None:
                    self._start_link(link)

    def _set_peers(self, peers: Iterable[Peer]) -> None:
        new = {p.participant_id: p for p in peers if p.participant_id != self.me}
        for pid, link in list(self._links.items()):
            if pid not in new or new[pid] != link.peer:
                if link.task:
                    link.task.cancel()
                del self._links[pid]
        self._peers = new
        for pid, peer in new.items():
            if pid not in self._links:
                self._links[pid] = _Link(peer, asyncio.Queue(OUTBOX_LIMIT))

    # ---- public API ------------------------------------------------------------------------
    def connected(self) -> set[ParticipantId]:
        """Peers with an authenticated outgoing link now (this node not included)."""
        return {pid for pid, link in self._links.items() if link.connected}

    def connect_count(self, peer: ParticipantId) -> int:
        link = self._links.get(peer)
        return link.connects if link else 0

    async def wait_connected(self, peers: Iterable[ParticipantId], timeout_s: float = 10.0) -> None:
        want = set(peers) - {self.me}
        deadline = time.monotonic() + timeout_s
        while not want <= self.connected():
            if time.monotonic() > deadline:
                raise PeersNotConnected(want - self.connected())
            await asyncio.sleep(0.01)

    async def send(self, peer: ParticipantId, channel: ChannelId, payload: bytes) -> None:
        """Queue `payload` for `peer` on `channel`; sending to oneself delivers locally."""
        frame = frames.encode_data(channel, payload)
        if len(frame) - 4 > self.max_frame_bytes:
            raise NetworkError(f"message of {len(payload)} bytes exceeds max_frame_bytes")
        if peer == self.me:
            self._route(self.me, channel, payload)
            return
        link = self._links.get(peer)
        if link is None:
            raise PeerUnavailable(f"participant {peer} is not a peer")
        try:
            link.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            raise PeerUnavailable(f"outbox for participant {peer} is full") from None

    def inbox(self, channel: ChannelId) -> Inbox:
        """The inbox of `channel`, created if needed (messages that arrived first are waiting in it)."""
        self._closed_channels.pop(channel, None)
        self._unclaimed.pop(channel, None)
        box = self._inboxes.get(channel)
        if box is None:
            box = self._inboxes[channel] = Inbox(channel)
        box.limit = INBOX_LIMIT
        return box

    def close_channel(self, channel: ChannelId) -> None:
        """Drop the channel's inbox; late messages for it are discarded instead of reopening it."""
        self._inboxes.pop(channel, None)
        self._unclaimed.pop(channel, None)
        self._closed_channels[channel] = None
        while len(self._closed_channels) > CLOSED_CHANNEL_MEMORY:
            self._closed_channels.pop(next(iter(self._closed_channels)))

    def _route(self, sender: ParticipantId, channel: ChannelId, payload: bytes) -> None:
        if channel in self._closed_channels:
            return
        box = self._inboxes.get(channel)
        if box is None:
            self._expire_unclaimed()
            opened = sum(1 for owner, _ in self._unclaimed.values() if owner == sender)
            if opened >= UNCLAIMED_PER_PEER:
                self._drop(sender, channel, "too many channels opened by this peer and not claimed here")
                return
            box = self._inboxes[channel] = Inbox(channel, UNCLAIMED_INBOX_LIMIT)
            self._unclaimed[channel] = (sender, time.monotonic())
            self.new_channels.put_nowait((channel, sender))
        if not box._deliver(sender, payload):
            self._drop(sender, channel, "inbox full")

    def _expire_unclaimed(self) -> None:
        """Forget channels a peer opened that no local instance claimed within UNCLAIMED_TTL_S."""
        horizon = time.monotonic() - UNCLAIMED_TTL_S
        for channel in [c for c, (_, at) in self._unclaimed.items() if at < horizon]:
            self.close_channel(channel)

    def _drop(self, sender: ParticipantId, channel: ChannelId, why: str) -> None:
        count = self.dropped_messages.get(sender, 0) + 1
        self.dropped_messages[sender] = count
        if count & (count - 1) == 0:  # log the 1st, 2nd, 4th, 8th… drop, not every one
            log.warning(f"message dropped: {why}", extra={"peer": sender, "channel": channel.hex(), "dropped": count})

    # ---- outgoing links ------------------------------------------------------------------
    def _start_link(self, link: _Link) -> None:
        link.task = asyncio.create_task(self._run_link(link), name=f"p2p-link-{link.peer.participant_id}")

    async def _run_link(self, link: _Link) -> None:
        backoff = BACKOFF_START_S
        while True:
            try:
                await self._connect_and_pump(link)
                backoff = BACKOFF_START_S
            except asyncio.CancelledError:
                raise
            except AuthenticationError as exc:
                log.warning("peer failed authentication", extra={"peer": link.peer.participant_id, "error": str(exc)})
            except (TimeoutError, OSError, asyncio.IncompleteReadError, FrameError, ssl.SSLError) as exc:
                log.debug("link down", extra={"peer": link.peer.participant_id, "error": repr(exc)})
            finally:
                link.connected = False
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _connect_and_pump(self, link: _Link) -> None:
        peer = link.peer
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(peer.host, peer.port, ssl=self._client_ssl, server_hostname=None),
            HANDSHAKE_TIMEOUT_S,
        )
        try:
            presented = peer_public_key(writer.get_extra_info("ssl_object"))
            if presented != peer.public_key:
                raise AuthenticationError(f"participant {peer.participant_id} presented key {presented.hex()}")
            challenge = await asyncio.wait_for(frames.read_frame(reader, frames.CHALLENGE_FRAME_BYTES),
                                               HANDSHAKE_TIMEOUT_S)
            if challenge.type != FrameType.AUTH_CHALLENGE or len(challenge.body) != frames.NONCE_BYTES:
                raise FrameError("expected AUTH_CHALLENGE")
            signature = self._key.sign(frames.auth_message(peer.public_key, self._key.public_key, challenge.body))
            writer.write(frames.encode(FrameType.AUTH, self._key.public_key + signature))
            ok = await asyncio.wait_for(frames.read_frame(reader, frames.AUTH_OK_FRAME_BYTES), HANDSHAKE_TIMEOUT_S)
            if ok.type != FrameType.AUTH_OK:
                raise FrameError("expected AUTH_OK")
            link.connected, link.last_pong = True, time.monotonic()
            link.connects += 1
            log.info("connected to peer", extra={"peer": peer.participant_id})
            pongs = asyncio.create_task(self._read_pongs(link, reader))
            try:
                await self._pump(link, writer, pongs)
            finally:
                pongs.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pongs
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _pump(self, link: _Link, writer: asyncio.StreamWriter, pongs: asyncio.Task[None]) -> None:
        """Write queued frames; PING when idle; give up when the PONGs stop or the reader fails."""
        seq = 0
        last_ping = time.monotonic()
        while True:
            if pongs.done():
                pongs.result()  # re-raise the reader's failure
                raise ConnectionError("peer closed the link")
            now = time.monotonic()
            if now - link.last_pong > 3 * self.keepalive_s:
                raise TimeoutError("keepalive: no PONG")
            if now - last_ping >= self.keepalive_s:
                # PING on schedule even while busy: PONGs only answer PINGs, so a link that is never idle would
                # otherwise look dead after 3 × keepalive_s.
                seq += 1
                last_ping = now
                writer.write(frames.encode(FrameType.PING, seq.to_bytes(8, "big")))
            # Wake on a frame to send *or* on the reader ending (a dead peer is noticed at once, not at the next PING).
            getter = asyncio.ensure_future(link.outbox.get())
            done, _ = await asyncio.wait({getter, pongs}, timeout=max(0.001, last_ping + self.keepalive_s - now),
                                         return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                frame = getter.result()
            else:
                getter.cancel()
                try:
                    frame = await getter  # it may have got a frame just before the cancel: send it, in order
                except asyncio.CancelledError:
                    if asyncio.current_task().cancelling():  # type: ignore[union-attr]
                        raise
                    continue
            writer.write(frame)
            await writer.drain()

    async def _read_pongs(self, link: _Link, reader: asyncio.StreamReader) -> None:
        while True:
            frame = await frames.read_frame(reader, frames.PONG_FRAME_BYTES)
            if frame.type != FrameType.PONG:
                raise FrameError(f"unexpected {frame.type.name} on an outgoing link")
            link.last_pong = time.monotonic()

    # ---- accepted links ------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        address = writer.get_extra_info("peername")
        sender: ParticipantId | None = None
        try:
            sender = await asyncio.wait_for(self._authenticate(reader, writer), HANDSHAKE_TIMEOUT_S)
            previous = self._incoming.pop(sender, None)
            if previous is not None:
                previous.close()
            self._incoming[sender] = writer
            await self._receive(sender, reader, writer)
        except asyncio.CancelledError:
            pass
        except (AuthenticationError, FrameError) as exc:
            self.rejected_connections += 1
            who = f"participant {sender}" if sender is not None else f"unauthenticated {address}"
            log.warning(f"disconnecting {who}: {exc}", extra={"peer": sender, "address": str(address)})
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
            log.debug("incoming link closed", extra={"peer": sender, "error": repr(exc)})
        finally:
            if sender is not None and self._incoming.get(sender) is writer:
                del self._incoming[sender]
            writer.close()
            self._handlers.discard(task)

    async def _authenticate(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> ParticipantId:
        nonce = os.urandom(frames.NONCE_BYTES)
        writer.write(frames.encode(FrameType.AUTH_CHALLENGE, nonce))
        await writer.drain()
        # Before authentication a peer may send exactly one AUTH frame: nothing larger is read.
        frame = await frames.read_frame(reader, frames.AUTH_FRAME_BYTES)
        if frame.type != FrameType.AUTH or len(frame.body) != 96:
            raise FrameError(f"expected AUTH, got {frame.type.name} of {len(frame.body)} bytes")
        client_key, signature = frame.body[:32], frame.body[32:]
        sender = next((pid for pid, p in self._peers.items() if p.public_key == client_key), None)
        if sender is None:
            raise AuthenticationError(f"unknown key {client_key.hex()}")
        if not verify_ed25519(client_key, frames.auth_message(self._key.public_key, client_key, nonce), signature):
            raise AuthenticationError(f"bad handshake signature from key {client_key.hex()} (claims participant {sender})")
        writer.write(frames.encode(FrameType.AUTH_OK))
        await writer.drain()
        return sender

    async def _receive(self, sender: ParticipantId, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            frame = await asyncio.wait_for(frames.read_frame(reader, self.max_frame_bytes), 3 * self.keepalive_s)
            if frame.type == FrameType.DATA:
                channel, payload = frames.decode_data(frame.body)
                self._route(sender, channel, payload)
            elif frame.type == FrameType.PING:
                writer.write(frames.encode(FrameType.PONG, frame.body))
                await writer.drain()
            else:
                raise FrameError(f"unexpected {frame.type.name} frame")
