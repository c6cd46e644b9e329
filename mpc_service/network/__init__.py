"""Node-to-node network: TLS 1.3 channels pinned to each participant's ed25519 key, framed and multiplexed.

Public surface: `PeerNetwork` (implements `SendToPeer`, hands out per-channel `Inbox`es), `Peer`, `NetworkError`.
"""

from mpc_service.network.frames import FrameError
from mpc_service.network.mesh import Inbox, NetworkError, Peer, PeerNetwork, PeerUnavailable, SendToPeer

__all__ = ["FrameError", "Inbox", "NetworkError", "Peer", "PeerNetwork", "PeerUnavailable", "SendToPeer"]
