"""Files a node keeps in its home directory, laid out like near-sandbox's.

    DIR/validator_key.json   {"account_id": "test.near", "public_key": "ed25519:…", "secret_key": "ed25519:…"} (mode 0600)
    DIR/rpc_addr             the RPC URL of the running node (written after the server binds)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from localnet.chain.keys import SecretKey
from localnet.errors import LocalnetError

ROOT_ACCOUNT_ID = "test.near"
VALIDATOR_KEY_FILE = "validator_key.json"
RPC_ADDR_FILE = "rpc_addr"


class HomeError(LocalnetError):
    """The home directory holds a file we cannot use."""


@dataclass(frozen=True)
class ValidatorKey:
    account_id: str
    secret_key: SecretKey

    def to_json(self) -> dict[str, str]:
        return {
            "account_id": self.account_id,
            "public_key": str(self.secret_key.public_key),
            "secret_key": self.secret_key.to_near_string(),
        }


def read_validator_key(path: Path) -> ValidatorKey:
    """Read a near-sandbox style key file (also used for the real sandbox's `validator_key.json`)."""
    try:
        data = json.loads(path.read_text())
        secret = data["secret_key"] if "secret_key" in data else data["private_key"]  # nearcore accepts both
        return ValidatorKey(str(data["account_id"]), SecretKey.from_string(str(secret)))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HomeError(f"cannot read validator key {path}: {type(exc).__name__}") from exc


def load_or_create_validator_key(home: Path) -> ValidatorKey:
    """The root account's key: read from `home`, or generated and written on the first start."""
    path = home / VALIDATOR_KEY_FILE
    if path.exists():
        return read_validator_key(path)
    key = ValidatorKey(ROOT_ACCOUNT_ID, SecretKey.generate())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(key.to_json(), handle, indent=2)
    return key


def write_rpc_addr(home: Path, rpc_addr: str) -> None:
    tmp = home / (RPC_ADDR_FILE + ".tmp")
    tmp.write_text(rpc_addr + "\n")
    tmp.replace(home / RPC_ADDR_FILE)
