"""node.toml loading: valid files parse into typed config; every bad field is named in the error."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpc_service.config import ConfigError, load_config
from mpc_service.keys import Ed25519KeyPair

PEER = Ed25519KeyPair.generate()

GOOD = f"""
[node]
account_id = "node0.test.near"
data_dir = "data"
p2p_key_file = "p2p.json"
storage_secret_file = "storage.secret"

[network]
listen_port = 7000
keepalive_s = 2

[[network.participants]]
participant_id = 1
account_id = "node1.test.near"
address = "127.0.0.1:7001"
tls_public_key = "{PEER.public_key_str}"

[chain]
rpc_url = "http://127.0.0.1:3030"
contract_id = "signer.test.near"
start_height = 5

[queue]
max_attempts = 3

[responder]
access_key_files = ["k0.json", "k1.json"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


def test_valid_config_parses_with_types_and_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.account_id == "node0.test.near"
    assert cfg.data_dir == tmp_path.resolve() / "data"
    assert cfg.network.listen_port == 7000
    assert cfg.network.keepalive_s == 2.0 and isinstance(cfg.network.keepalive_s, float)
    assert cfg.network.participants[0].tls_public_key == PEER.public_key
    assert cfg.chain.start_height == 5
    assert cfg.queue.max_attempts == 3 and cfg.queue.expiry_blocks == 200 and cfg.queue.retry_after_s == 10.0
    assert [p.name for p in cfg.responder.access_key_files] == ["k0.json", "k1.json"]
    assert cfg.status.enabled


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('account_id = "node0.test.near"', 'account_id = "Node0!"', "node.account_id"),
        ('rpc_url = "http://127.0.0.1:3030"', 'rpc_url = "ftp://x"', "chain.rpc_url"),
        ("listen_port = 7000", "listen_port = 70000", "network.listen_port"),
        ("keepalive_s = 2", 'keepalive_s = "2"', "network.keepalive_s"),
        ("max_attempts = 3", "max_attempts = 0", "queue.max_attempts"),
        ("max_attempts = 3", "max_attemps = 3", "queue.max_attemps"),
        ('address = "127.0.0.1:7001"', 'address = "nowhere"', "network.participants[0].address"),
        ('tls_public_key = "ed25519:', 'tls_public_key = "secp256k1:', "network.participants[0].tls_public_key"),
        ('contract_id = "signer.test.near"\n', "", "chain.contract_id"),
        ("start_height = 5", "start_height = -1", "chain.start_height"),
    ],
)
def test_bad_field_is_named(tmp_path: Path, old: str, new: str, field: str) -> None:
    assert old in GOOD
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, GOOD.replace(old, new)))
    assert info.value.field == field
    assert field in str(info.value)


def test_unparsable_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[node\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_duplicate_participants_rejected(tmp_path: Path) -> None:
    block = GOOD[GOOD.index("[[network.participants]]"):GOOD.index("[chain]")]
    with pytest.raises(ConfigError, match="duplicate participant_id"):
        load_config(write(tmp_path, GOOD.replace(block, block + block)))
