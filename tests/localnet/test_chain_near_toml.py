"""near.toml at the repository root: every network has a usable RPC URL and valid account ids."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlparse

from localnet.chain.validation import is_valid_account_id

NEAR_TOML = Path(__file__).resolve().parents[2] / "near.toml"


def test_networks_rpc_urls_and_account_ids() -> None:
    config = tomllib.loads(NEAR_TOML.read_text())
    networks = config["networks"]
    assert set(networks) == {"localnet", "sandbox", "testnet", "mainnet"}
    assert config["default_network"] in networks
    assert networks["testnet"]["signer_contract_id"] == "v1.signer-prod.testnet"
    assert networks["mainnet"]["signer_contract_id"] == "v1.signer"
    for name, network in networks.items():
        url = urlparse(network["rpc_url"])
        assert url.scheme in ("http", "https") and url.netloc, name
        for key, value in network.items():
            if key.endswith("_id") and key != "chain_id":
                assert is_valid_account_id(value), (name, key, value)
    mpc = config["mpc"]
    assert 1 <= mpc["threshold"] <= mpc["nodes"]
    assert mpc["yield_timeout_blocks"] == 200
