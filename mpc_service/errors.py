"""Root of the MPC node's exception tree.

    MpcError
     └── ProtocolError            (mpc_service.protocol.errors: threshold protocols, by phase, naming culprits)

Other node areas (storage, network, chain access) add their own subclasses of ``MpcError``.
"""
from __future__ import annotations

__all__ = ["MpcError"]


class MpcError(Exception):
    """Base class of every error raised by the MPC node."""
