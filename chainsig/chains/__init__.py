"""Chain adapters and their registry: a chain is one module that calls `register(adapter)` at import.

from chainsig.chains import get_chain
chain = get_chain("bitcoin")
chain.address(key); unsigned = await chain.build_transfer(rpc, TransferRequest(key, to, Decimal("0.001")))
"""

from __future__ import annotations

import importlib
from typing import TypeVar

from chainsig.chains.base import (
    ChainAdapter,
    Curve,
    SignedTransaction,
    TransferOptions,
    TransferRequest,
    UnsignedTransaction,
    sign_requests,
)
from chainsig.errors import AddressError

__all__ = [
    "ChainAdapter",
    "Curve",
    "SignedTransaction",
    "TransferOptions",
    "TransferRequest",
    "UnsignedTransaction",
    "chain_names",
    "get_chain",
    "register",
    "sign_requests",
]

# The chains that ship with chainsig and the module of each, imported on first use (each module pulls in its
# chain's library, and registers its adapters); `register` adds more at run time.
_MODULES = {
    "ethereum": "evm",
    "bitcoin": "bitcoin", "bitcoin-testnet": "bitcoin", "bitcoin-regtest": "bitcoin", "dogecoin": "bitcoin",
    "xrp": "xrp",
    "solana": "solana",
    "cosmos": "cosmos",
    "aptos": "move", "sui": "move",
}
_REGISTRY: dict[str, ChainAdapter] = {}
_A = TypeVar("_A", bound=ChainAdapter)


def register(adapter: _A) -> _A:
    """Make `adapter` available under `adapter.name`; a name is registered once."""
    if adapter.name in _REGISTRY and _REGISTRY[adapter.name] is not adapter:
        raise ValueError(f"chain {adapter.name!r} is already registered")
    _REGISTRY[adapter.name] = adapter
    return adapter


def chain_names() -> list[str]:
    """Every chain name, without importing any chain's library."""
    return sorted(set(_MODULES) | set(_REGISTRY))


def get_chain(name: str) -> ChainAdapter:
    """The adapter registered as `name` (importing its module on first use), or `AddressError` naming the known ones."""
    if name not in _REGISTRY and name in _MODULES:
        importlib.import_module(f"chainsig.chains.{_MODULES[name]}")
    try:
        return _REGISTRY[name]
    except KeyError:
        raise AddressError(f"unknown chain {name!r}; known: {', '.join(chain_names())}") from None
