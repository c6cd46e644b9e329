"""The networks named in `near.toml` (localnet, sandbox, testnet, mainnet): RPC URL, signer contract id, explorer.

    settings = load_network("testnet")   # ./near.toml, else $CHAINSIG_NEAR_TOML, else the project's near.toml
    settings.rpc_url, settings.signer_contract_id, settings.explorer_url

Used by `chainsig sign --network NAME` and by the deploy script (`python -m scripts.deploy --network NAME`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainsig.errors import ClientError

__all__ = ["NetworkSettings", "find_near_toml", "load_network"]

NEAR_TOML_ENV = "CHAINSIG_NEAR_TOML"
_PROJECT_NEAR_TOML = Path(__file__).resolve().parent.parent / "near.toml"


@dataclass(frozen=True)
class NetworkSettings:
    """One `[networks.<name>]` table of near.toml."""

    name: str
    chain_id: str
    rpc_url: str
    signer_contract_id: str | None = None
    caller_contract_id: str | None = None
    root_account_id: str | None = None
    explorer_url: str | None = None

    def explorer_account(self, account_id: str) -> str | None:
        return f"{self.explorer_url.rstrip('/')}/address/{account_id}" if self.explorer_url else None

    def explorer_tx(self, tx_hash: str) -> str | None:
        return f"{self.explorer_url.rstrip('/')}/txns/{tx_hash}" if self.explorer_url else None


def find_near_toml(path: Path | None = None) -> Path:
    """`path`, else $CHAINSIG_NEAR_TOML, else ./near.toml, else the project's own near.toml."""
    candidates = [path] if path is not None else [
        Path(p) for p in (os.environ.get(NEAR_TOML_ENV),) if p] + [Path("near.toml"), _PROJECT_NEAR_TOML]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ClientError(f"near.toml not found (looked at {', '.join(str(c) for c in candidates)})")


def load_network(name: str, path: Path | None = None) -> NetworkSettings:
    """The settings of network `name`; a missing file, table or field is a `ClientError` naming it."""
    source = find_near_toml(path)
    try:
        document = tomllib.loads(source.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ClientError(f"{source}: {exc}") from exc
    networks = document.get("networks")
    if not isinstance(networks, dict) or name not in networks:
        known = ", ".join(sorted(networks)) if isinstance(networks, dict) else "none"
        raise ClientError(f"{source}: no network {name!r} (known: {known})")
    table: Any = networks[name]

    def text(key: str, required: bool = False) -> str | None:
        value = table.get(key) if isinstance(table, dict) else None
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise ClientError(f"{source}: networks.{name}.{key} must be a non-empty string")
        return value

    return NetworkSettings(name=name, chain_id=text("chain_id") or name, rpc_url=str(text("rpc_url", True)),
                           signer_contract_id=text("signer_contract_id"),
                           caller_contract_id=text("caller_contract_id"),
                           root_account_id=text("root_account_id"), explorer_url=text("explorer_url"))
