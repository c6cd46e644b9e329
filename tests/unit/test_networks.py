"""near.toml's networks, as `chainsig sign --network` and the deploy script read them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from chainsig.cli import _endpoint
from chainsig.errors import ClientError
from chainsig.networks import load_network

ROOT = Path(__file__).resolve().parents[2]


def test_project_networks() -> None:
    testnet = load_network("testnet", ROOT / "near.toml")
    assert testnet.rpc_url == "https://rpc.testnet.near.org"
    assert testnet.signer_contract_id == "v1.signer-prod.testnet"
    assert testnet.explorer_account("x.testnet") == "https://testnet.nearblocks.io/address/x.testnet"
    localnet = load_network("localnet", ROOT / "near.toml")
    assert localnet.explorer_account("signer.test.near") is None
    assert localnet.signer_contract_id == "signer.test.near"


def test_bad_files_and_names_are_client_errors(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match="no network 'nowhere'"):
        load_network("nowhere", ROOT / "near.toml")
    broken = tmp_path / "near.toml"
    broken.write_text("[networks.x]\nrpc_url = 3\n")
    with pytest.raises(ClientError, match="networks.x.rpc_url"):
        load_network("x", broken)
    broken.write_text("[networks\n")
    with pytest.raises(ClientError, match=str(broken)):
        load_network("x", broken)


def test_sign_takes_rpc_and_contract_from_the_network_unless_given() -> None:
    args = argparse.Namespace(network="testnet", rpc=None, contract=None)
    assert _endpoint(args) == ("https://rpc.testnet.near.org", "v1.signer-prod.testnet")
    args = argparse.Namespace(network="testnet", rpc=None, contract="signer.alice.testnet")
    assert _endpoint(args) == ("https://rpc.testnet.near.org", "signer.alice.testnet")
    with pytest.raises(ClientError, match="--network"):
        _endpoint(argparse.Namespace(network=None, rpc="http://127.0.0.1:1", contract=None))
