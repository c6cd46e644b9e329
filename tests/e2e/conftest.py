"""One real network per session, from the dApp fixture (chainsig_sandbox): a `python -m localnet` process, the signer
built, deployed and initialised through the deploy script's code path, and five `python -m mpc_service run`
processes (threshold 3) that ran the DKG for both domains. Tests drive it through JSON-RPC (py-near for `sign`) and
inspect the nodes' logs, status endpoints and SQLite stores.

`cluster` is the session's `SignerNetwork` (run, status, logs, new_user, view, wait_ready, rpc, spec, procs, work,
root_key, chain). Fixtures are synchronous (each test runs its own `asyncio.run`), so processes outlive event loops.
E2E_KEEP=1 keeps the directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chainsig_sandbox.network import NetworkOptions, SignerNetwork
from chainsig_sandbox.pytest_plugin import signer_network, signer_sandbox  # noqa: F401 - also without the entry point

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_ID = "signer.test.near"
NODES, THRESHOLD = 5, 3

E2ECluster = SignerNetwork


@pytest.fixture(scope="session")
def signer_network_options() -> NetworkOptions:
    if not (ROOT / "contract" / "signer" / "contract.py").exists():
        pytest.skip("the signer contract (contract/signer/contract.py) does not exist yet")
    return NetworkOptions(nodes=NODES, threshold=THRESHOLD, contract_id=CONTRACT_ID, pools=(16, 6),
                          ready_presignatures=2, ready_timeout_s=180)


@pytest.fixture(scope="session")
def cluster(signer_network: SignerNetwork) -> SignerNetwork:  # noqa: F811 - the plugin's fixture, by name
    return signer_network
