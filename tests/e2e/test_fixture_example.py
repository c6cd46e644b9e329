"""The README's ten-line example, run as it is printed there (so the README cannot rot): a user contract — the
example caller, contract/caller — asks the signer for a signature through the `signer_sandbox` fixture."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

# --- README example starts ---
from chainsig_sandbox import TGAS, build_contract


async def test_my_contract_gets_a_signature(signer_sandbox):  # localnet + signer + MPC nodes, one per session
    dapp = await signer_sandbox.deploy(build_contract("contract/caller"), "init", {"signer_id": signer_sandbox.signer_id})
    alice = await signer_sandbox.create_account()
    payload = bytes(range(32))  # e.g. the hash of an Ethereum transaction
    result = await alice.call(dapp.id, "request_signature").args_json(
        {"path": "eth-1", "payload": payload.hex()}).deposit(1).gas(300 * TGAS).transact()
    # the signer derives the key from (calling contract, path); this caller uses path "<user>/<path>"
    await signer_sandbox.verify(result.json(), predecessor=dapp.id, path=f"{alice.id}/eth-1", payload=payload)
# --- README example ends ---
