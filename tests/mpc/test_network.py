"""The p2p mesh over real TLS sockets on 127.0.0.1: delivery, authentication, garbage, reconnect."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import struct
from collections.abc import AsyncIterator

import pytest

from mpc_service.keys import Ed25519KeyPair
from mpc_service.network import Peer, PeerNetwork, PeerUnavailable, frames
from mpc_service.network.frames import FrameType
from mpc_service.types import ChannelId, ParticipantId

KEEPALIVE_S = 0.2


def make_mesh(n: int, keys: list[Ed25519KeyPair] | None = None) -> tuple[list[PeerNetwork], list[Ed25519KeyPair]]:
    keys = keys or [Ed25519KeyPair.generate() for _ in range(n)]
    nets = [
        PeerNetwork(ParticipantId(i), keys[i], [], keepalive_s=KEEPALIVE_S) for i in range(n)
    ]
    return nets, keys


async def start_all(nets: list[PeerNetwork], keys: list[Ed25519KeyPair]) -> list[Peer]:
    for net in nets:
        await net.start()
    peers = [Peer(ParticipantId(i), "127.0.0.1", net.port, keys[i].public_key) for i, net in enumerate(nets)]
    for net in nets:
        net.update_peers(peers)
    return peers


@pytest.fixture
async def mesh3() -> AsyncIterator[tuple[list[PeerNetwork], list[Ed25519KeyPair], list[Peer]]]:
    nets, keys = make_mesh(3)
    peers = await start_all(nets, keys)
    try:
        yield nets, keys, peers
    finally:
        for net in nets:
            await net.close()


async def test_all_to_all_delivery_per_channel(mesh3: tuple[list[PeerNetwork], list[Ed25519KeyPair], list[Peer]]) -> None:
    nets, _, _ = mesh3
    for net in nets:
        await net.wait_connected(range(3))
    chan_a, chan_b = ChannelId(b"sign/aaaa"), ChannelId(b"sign/bbbb")
    boxes = {i: (net.inbox(chan_a), net.inbox(chan_b)) for i, net in enumerate(nets)}
    for i, net in enumerate(nets):
        for j in range(3):
            await net.send(ParticipantId(j), chan_a, b"a:%d->%d" % (i, j))
            await net.send(ParticipantId(j), chan_b, b"b:%d->%d" % (i, j))
    for j in range(3):
        got_a = {await asyncio.wait_for(boxes[j][0].recv(), 5) for _ in range(3)}
        got_b = {await asyncio.wait_for(boxes[j][1].recv(), 5) for _ in range(3)}
        assert got_a == {(ParticipantId(i), b"a:%d->%d" % (i, j)) for i in range(3)}
        assert got_b == {(ParticipantId(i), b"b:%d->%d" % (i, j)) for i in range(3)}


async def test_messages_for_unopened_channel_are_announced_and_kept(
    mesh3: tuple[list[PeerNetwork], list[Ed25519KeyPair], list[Peer]],
) -> None:
    nets, _, _ = mesh3
    await nets[0].wait_connected(range(3))
    big = os.urandom(200_000)
    await nets[0].send(ParticipantId(2), ChannelId(b"new-instance"), big)
    channel, sender = await asyncio.wait_for(nets[2].new_channels.get(), 5)
    assert channel == b"new-instance" and sender == 0
    assert await asyncio.wait_for(nets[2].inbox(channel).recv(), 5) == (0, big)
    nets[2].close_channel(channel)
    await nets[0].send(ParticipantId(2), channel, b"late")
    await nets[0].send(ParticipantId(2), ChannelId(b"probe"), b"p")
    assert await asyncio.wait_for(nets[2].inbox(ChannelId(b"probe")).recv(), 5) == (0, b"p")
    assert nets[2].inbox(channel).recv_nowait() is None


async def test_unknown_peer_and_oversize_send_rejected(
    mesh3: tuple[list[PeerNetwork], list[Ed25519KeyPair], list[Peer]],
) -> None:
    nets, _, _ = mesh3
    with pytest.raises(PeerUnavailable):
        await nets[0].send(ParticipantId(9), ChannelId(b"c"), b"x")
    with pytest.raises(Exception, match="max_frame_bytes"):
        small = PeerNetwork(ParticipantId(0), Ed25519KeyPair.generate(), [], max_frame_bytes=100)
        await small.send(ParticipantId(0), ChannelId(b"c"), b"x" * 200)


async def test_wrong_key_peer_is_rejected_and_named(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mpc_service.network")
    nets, keys = make_mesh(2)
    peers = await start_all(nets, keys)
    impostor = PeerNetwork(ParticipantId(1), Ed25519KeyPair.generate(), [], keepalive_s=KEEPALIVE_S)
    try:
        await nets[0].wait_connected([1])
        await impostor.start()
        impostor.update_peers(peers)  # claims to be participant 1 with another key
        await asyncio.sleep(0.5)
        assert 0 not in impostor.connected()  # node 0 rejects its handshake
        assert nets[0].rejected_connections >= 1
        assert any("unknown key" in r.getMessage() for r in caplog.records)
        # And node 0 refuses to talk to a server presenting the wrong key for participant 1.
        nets[0].update_peers([peers[0], Peer(ParticipantId(1), "127.0.0.1", impostor.port, keys[1].public_key)])
        await asyncio.sleep(0.5)
        assert 1 not in nets[0].connected()
        assert any(r.getMessage() == "peer failed authentication" and getattr(r, "peer", None) == 1
                   for r in caplog.records)
    finally:
        for net in [*nets, impostor]:
            await net.close()


async def raw_tls(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return await asyncio.open_connection("127.0.0.1", port, ssl=ctx)


async def closed(reader: asyncio.StreamReader) -> bool:
    try:
        while await asyncio.wait_for(reader.read(4096), 5):
            pass
    except (ConnectionError, ssl.SSLError):
        pass
    return True


async def test_garbage_before_auth_disconnects(
    mesh3: tuple[list[PeerNetwork], list[Ed25519KeyPair], list[Peer]], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="mpc_service.network")
    nets, _, _ = mesh3
    reader, writer = await raw_tls(nets[0].port)
    challenge = await frames.read_frame(reader, 1 << 20)
    assert challenge.type == FrameType.AUTH_CHALLENGE
    writer.write(os.urandom(64))
    assert await closed(reader)
    assert any("unauthenticated" in r.getMessage() for r in caplog.records)
    writer.close()


async def test_garbage_from_authenticated_peer_names_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mpc_service.network")
    nets, keys = make_mesh(2)
    await start_all(nets, keys)
    try:
        reader, writer = await raw_tls(nets[0].port)
        challenge = await frames.read_frame(reader, 1 << 20)
        sig = keys[1].sign(frames.auth_message(keys[0].public_key, keys[1].public_key, challenge.body))
        writer.write(frames.encode(FrameType.AUTH, keys[1].public_key + sig))
        assert (await frames.read_frame(reader, 1 << 20)).type == FrameType.AUTH_OK
        writer.write(struct.pack(">I", 1 << 30) + b"garbage")  # oversize length
        assert await closed(reader)
        assert any("disconnecting participant 1" in r.getMessage() for r in caplog.records)
        writer.close()
    finally:
        for net in nets:
            await net.close()


async def test_reconnect_after_peer_restart() -> None:
    nets, keys = make_mesh(2)
    peers = await start_all(nets, keys)
    restarted: PeerNetwork | None = None
    try:
        await nets[0].wait_connected([1])
        port = nets[1].port
        await nets[1].close()
        await asyncio.sleep(4 * KEEPALIVE_S)
        assert 1 not in nets[0].connected()
        await nets[0].send(ParticipantId(1), ChannelId(b"c"), b"queued while down")
        restarted = PeerNetwork(ParticipantId(1), keys[1], peers, port=port, keepalive_s=KEEPALIVE_S)
        await restarted.start()
        await nets[0].wait_connected([1], timeout_s=15)
        assert nets[0].connect_count(ParticipantId(1)) == 2
        assert await asyncio.wait_for(restarted.inbox(ChannelId(b"c")).recv(), 10) == (0, b"queued while down")
    finally:
        for net in [nets[0], restarted]:
            if net:
                await net.close()


async def test_oversize_frame_before_auth_is_refused_unread(
    mesh3: tuple[list[PeerNetwork], list[Ed25519KeyPair], list[Peer]], caplog: pytest.LogCaptureFixture,
) -> None:
    """Before authentication only an AUTH frame (97 bytes) is read: a 16 MiB length is refused from its header."""
    caplog.set_level(logging.INFO, logger="mpc_service.network")
    nets, _, _ = mesh3
    reader, writer = await raw_tls(nets[0].port)
    assert (await frames.read_frame(reader, 1 << 20)).type == FrameType.AUTH_CHALLENGE
    writer.write(struct.pack(">I", 16 * 1024 * 1024))  # the header only: the server must not wait for the body
    await writer.drain()
    assert await closed(reader)
    assert any(f"outside 1..{frames.AUTH_FRAME_BYTES}" in r.getMessage() for r in caplog.records)
    assert nets[0].rejected_connections == 1
    writer.close()


async def test_peer_cannot_open_unbounded_channels(
    mesh3: tuple[list[PeerNetwork], list[Ed25519KeyPair], list[Peer]], caplog: pytest.LogCaptureFixture,
) -> None:
    """An authenticated peer naming a new channel id per message gets at most UNCLAIMED_PER_PEER inboxes, each holding
    at most UNCLAIMED_INBOX_LIMIT messages, until a local instance claims the channel; drops are counted per peer."""
    from mpc_service.network import mesh

    caplog.set_level(logging.INFO, logger="mpc_service.network")
    nets, _, _ = mesh3
    await nets[1].wait_connected([0])
    flood = mesh.UNCLAIMED_PER_PEER + 50
    for i in range(flood):
        await nets[1].send(ParticipantId(0), ChannelId(b"flood-%d" % i), b"x")
    for _ in range(mesh.UNCLAIMED_INBOX_LIMIT + 20):
        await nets[1].send(ParticipantId(0), ChannelId(b"flood-0"), b"y")
    await nets[1].send(ParticipantId(0), ChannelId(b"flood-0"), b"last")  # the link is ordered: wait for this one
    await nets[1].send(ParticipantId(0), ChannelId(b"flood-1"), b"last")

    deadline = asyncio.get_running_loop().time() + 30
    while nets[0].dropped_messages.get(ParticipantId(1), 0) < 50 + 21:
        assert asyncio.get_running_loop().time() < deadline, nets[0].dropped_messages
        await asyncio.sleep(0.02)
    assert len(nets[0]._inboxes) == mesh.UNCLAIMED_PER_PEER
    assert nets[0]._inboxes[ChannelId(b"flood-0")]._queue.qsize() == mesh.UNCLAIMED_INBOX_LIMIT
    # Another peer is not affected, and a claimed channel takes the full inbox limit.
    await nets[2].send(ParticipantId(0), ChannelId(b"honest"), b"h")
    assert await asyncio.wait_for(nets[0].inbox(ChannelId(b"honest")).recv(), 10) == (2, b"h")
    assert nets[0].inbox(ChannelId(b"flood-1")).limit == mesh.INBOX_LIMIT
    assert any("too many channels" in r.getMessage() for r in caplog.records)
