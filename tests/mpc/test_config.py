"""node.toml loading: valid files parse into typed config; every bad field is named in the error."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpc_service.config import ConfigError, load_config

GOOD = """
[node]
account_id = "node0.test.near"
data_dir = "data"
p2p_key_file = "p2p.json"
storage_secret_file = "storage.secret"

[network]
listen_port = 7000
keepalive_s = 2

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
    assert cfg.chain.start_height == 5
    assert cfg.queue.max_attempts == 3 and cfg.queue.expiry_blocks == 200 and cfg.queue.retry_after_s == 10.0
    assert [p.name for p in cfg.responder.access_key_files] == ["k0.json", "k1.json"]
    assert cfg.pools.triples_target == 64 and cfg.status.listen_port == 0


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('account_id = "node0.test.near"', 'account_id = "Node0!"', "node.account_id"),
        ('rpc_url = "http://127.0.0.1:3030"', 'rpc_url = "ftp://x"', "chain.rpc_url"),
        ("listen_port = 7000", "listen_port = 70000", "network.listen_port"),
        ("keepalive_s = 2", 'keepalive_s = "2"', "network.keepalive_s"),
        ("max_attempts = 3", "max_attempts = 0", "queue.max_attempts"),
        ("max_attempts = 3", "max_attemps = 3", "queue.max_attemps"),
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


@pytest.mark.parametrize(
    ("table", "line", "field"),
    [
        ("[network]", '[[network.participants]]\nparticipant_id = 1\n', "network.participants"),
        ("[pools]", "max_concurrent_generations = 4", "pools.max_concurrent_generations"),
        ("[status]", "enabled = true", "status.enabled"),
    ],
)
def test_fields_nothing_read_are_refused_with_a_reason(tmp_path: Path, table: str, line: str, field: str) -> None:
    text = GOOD + f"\n{line}\n" if line.startswith("[[") else GOOD + f"\n{table}\n{line}\n"
    with pytest.raises(ConfigError, match="no longer accepted") as info:
        load_config(write(tmp_path, text))
    assert info.value.field == field
