"""Bring-up tooling beside the product: deploy the signer to any NEAR network, and run a whole signing network
(localnet + signer + MPC nodes) on one machine for integration tests, the demo and the benchmarks.

    from chainsig_sandbox import signer_network, NetworkOptions

    async with signer_network(NetworkOptions(nodes=3, threshold=2)) as net, net.sandbox() as sb:
        alice = await sb.create_account()

pytest users get the fixtures `signer_network` / `signer_sandbox` (chainsig_sandbox.pytest_plugin, registered as a
pytest11 plugin). The production packages (mpc_service, chainsig) never import this package.

Modules: `deploy` (the deploy script's core), `nodes` (node accounts, files, processes), `localnet_process`,
`network` (SignerNetwork, Sandbox), `standin` (a stand-in key holder for contract-only tests), `cluster_cli`.
"""

from __future__ import annotations

from chainsig_sandbox.deploy import DeployError, DeployPlan, DeployReport, deploy
from chainsig_sandbox.network import NetworkOptions, Sandbox, SignerNetwork, signer_network, signer_wasm

NEAR = 10**24
TGAS = 10**12

__all__ = [
    "NEAR",
    "TGAS",
    "DeployError",
    "DeployPlan",
    "DeployReport",
    "NetworkOptions",
    "Sandbox",
    "SignerNetwork",
    "build_contract",
    "deploy",
    "signer_network",
    "signer_wasm",
]


def build_contract(source: str) -> bytes:
    """Compile a near-sdk-py contract (a `.py` file or a directory with `contract.py`) to Wasm bytes (cached)."""
    from pathlib import Path

    from contract.build import build_contract as build

    return build(Path(source)).read_bytes()
