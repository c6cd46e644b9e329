"""Confidential key derivation end to end (docs/ckd.md): the participants add a Bls12381 domain, the nodes run its
DKG over G2, and accounts ask `request_app_private_key` through the client (`chainsig.ckd.request_app_secret`): the
network answers (Y, C) encrypted to a fresh one-time key, the contract checks it with a pairing, the client decrypts
and verifies S against the domain's key. The same (account, path) always gets the same secret, another path or
account a different one, and no node's log or store holds a secret.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import base58
import pytest

from chainsig.ckd import CkdResult, request_app_secret
from chainsig.types import DomainId

if TYPE_CHECKING:
    from tests.e2e.conftest import E2ECluster

pytestmark = pytest.mark.slow

CONTRACT_ID = "signer.test.near"  # as in conftest (not imported: works without `tests` on sys.path)


def _add_ckd_domain(cluster: E2ECluster) -> int:
    """Every participant votes a new Bls12381 domain; its id once every node holds its key share."""
    domain_id = cluster.run(cluster.add_domain("Bls12381"))
    key = cluster.run(cluster.view("public_key", {"domain_id": domain_id}))
    assert isinstance(key, str) and key.startswith("bls12381g2:")
    return domain_id


def _derive(cluster: E2ECluster, creds: Any, path: str, domain_id: int) -> CkdResult:
    return asyncio.run(request_app_secret(cluster.rpc, CONTRACT_ID, creds, path, domain_id=DomainId(domain_id),
                                          timeout_s=120))


def _files_under(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()]


def test_app_secrets_are_deterministic_distinct_and_never_held_by_a_node(cluster: E2ECluster) -> None:
    domain_id = _add_ckd_domain(cluster)
    alice, bob = cluster.new_user(), cluster.new_user()

    first = _derive(cluster, alice, "notes", domain_id)
    again = _derive(cluster, alice, "notes", domain_id)
    other_path = _derive(cluster, alice, "photos", domain_id)
    other_account = _derive(cluster, bob, "notes", domain_id)

    secret = first.secret.secret.reveal()
    assert len(secret) == 48
    assert again.secret.secret.reveal() == secret, "the same (account, path) gave another secret"
    assert first.output != again.output, "two requests were answered with the same ciphertext"
    assert other_path.secret.secret.reveal() != secret
    assert other_account.secret.secret.reveal() != secret
    assert other_path.secret.secret.reveal() != other_account.secret.secret.reveal()

    # Nothing a node wrote holds any of the secrets (raw, hex or base58), in its log or its stores.
    results = (first, other_path, other_account)
    needles = [form for r in results for s in [r.secret.secret.reveal()]
               for form in (s, s.hex().encode(), base58.b58encode(s))]
    for node in cluster.spec.nodes:
        for path in _files_under(node.home):
            data = path.read_bytes()
            assert not any(n in data for n in needles), f"{path} holds an app secret"

    # The secret keys symmetric encryption: what one request's key encrypts, the next request's key decrypts.
    from chainsig.ckd import decrypt, encrypt

    blob = encrypt(first.secret.symmetric_key(), b"the diary", b"aad")
    assert decrypt(again.secret.symmetric_key(), blob, b"aad") == b"the diary"


def test_the_token_gate_serves_holders_the_same_secret_and_refuses_others(cluster: E2ECluster) -> None:
    """`contract/gated` (docs/ckd.md's walkthrough): holders of its token ask through it and get the same secret for
    a path (the app is (gate, path)), so what one encrypts another decrypts; a non-holder is refused by the gate."""
    from chainsig.ckd import decrypt, encrypt
    from chainsig.errors import ContractFailureError
    from contract.build import PROJECT_CONTRACTS, build_contract

    domain_id = _domain_of(cluster, "Bls12381") or _add_ckd_domain(cluster)
    wasm = build_contract(PROJECT_CONTRACTS["gated"], "gated").read_bytes()
    publisher, reader, outsider = cluster.new_user(), cluster.new_user(), cluster.new_user()

    async def deploy() -> str:
        worker = cluster.connect()
        try:
            gate = await worker.dev_deploy(wasm)
            (await gate.call("init").args_json({"signer_id": CONTRACT_ID}).transact()).into_result()
            for holder in (publisher, reader):
                (await gate.call("mint").args_json({"account_id": holder.account_id}).transact()).into_result()
            return str(gate.id)
        finally:
            await worker.close()

    gate = cluster.run(deploy())

    def through_gate(creds: Any) -> CkdResult:
        return asyncio.run(request_app_secret(cluster.rpc, CONTRACT_ID, creds, "issue-1", domain_id=DomainId(domain_id),
                                              via_contract=gate, timeout_s=120))

    published = through_gate(publisher)
    read = through_gate(reader)
    assert published.secret.app_id == read.secret.app_id and published.secret.account_id == gate
    assert read.secret.secret.reveal() == published.secret.secret.reveal()
    blob = encrypt(published.secret.symmetric_key(), b"issue 1 for holders", b"issue-1")
    assert decrypt(read.secret.symmetric_key(), blob, b"issue-1") == b"issue 1 for holders"
    with pytest.raises(ContractFailureError, match="holds no token"):
        through_gate(outsider)


def _domain_of(cluster: E2ECluster, scheme: str) -> int | None:
    """The id of a keyed domain of `scheme`, if there is one."""
    state: dict[str, Any] = cluster.run(cluster.view("state", {}))
    return next((int(d["id"]) for d in state["domains"] if d["scheme"] == scheme), None)
