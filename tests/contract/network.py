"""The test stands in for the MPC network: root keys it holds, responses the way the nodes build them.

One definition, shared with the benchmarks and dApp tests: `chainsig_sandbox.standin` (`Network` is `StandInKeys`).
"""

from __future__ import annotations

from chainsig_sandbox.standin import ED25519_L, EVENT_PREFIX, SECP256K1_N, ed25519_sign, events
from chainsig_sandbox.standin import StandInKeys as Network

__all__ = ["ED25519_L", "EVENT_PREFIX", "SECP256K1_N", "Network", "ed25519_sign", "events"]
