"""Key files and secrets: round trips, clear errors, and secrets never shown in repr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mpc_service.keys import (
    AccountKey,
    Ed25519KeyPair,
    KeyFileError,
    load_near_key_file,
    load_storage_secret,
    verify_ed25519,
    write_near_key_file,
)
from mpc_service.secret import SecretBytes


def test_key_file_round_trip_and_signature(tmp_path: Path) -> None:
    pair = Ed25519KeyPair.generate()
    path = tmp_path / "key.json"
    write_near_key_file(path, AccountKey("node0.test.near", pair))
    loaded = load_near_key_file(path)
    assert loaded.account_id == "node0.test.near"
    assert loaded.key_pair.public_key == pair.public_key
    sig = loaded.key_pair.sign(b"hello")
    assert verify_ed25519(pair.public_key, b"hello", sig)
    assert not verify_ed25519(pair.public_key, b"hellO", sig)
    assert path.stat().st_mode & 0o077 == 0


def test_secret_never_in_repr() -> None:
    pair = Ed25519KeyPair.generate()
    seed = pair.seed.expose()
    for text in (repr(pair), str(pair), repr(pair.seed), f"{pair.seed}"):
        assert seed.hex() not in text and repr(seed) not in text
        assert "<redacted>" in text


def test_bad_key_files_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text("{not json")
    with pytest.raises(KeyFileError, match="not JSON"):
        load_near_key_file(path)
    path.write_text(json.dumps({"secret_key": "ed25519:111"}))
    with pytest.raises(KeyFileError, match="secret_key"):
        load_near_key_file(path)
    other = Ed25519KeyPair.generate()
    pair = Ed25519KeyPair.generate()
    path.write_text(json.dumps({"secret_key": pair.secret_key_str(), "public_key": other.public_key_str}))
    with pytest.raises(KeyFileError, match="does not match"):
        load_near_key_file(path)


def test_storage_secret(tmp_path: Path) -> None:
    path = tmp_path / "s"
    path.write_text("ab" * 32 + "\n")
    assert load_storage_secret(path) == SecretBytes(bytes([0xAB]) * 32)
    path.write_text("ab" * 31)
    with pytest.raises(KeyFileError, match="32 bytes"):
        load_storage_secret(path)
