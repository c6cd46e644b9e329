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

# The modules of the chains that ship with chainsig, imported on first use (each pulls in its chain's library).
_MODULES = ("evm", "bitcoin", "xrp", "solana", "cosmos", "move")
_REGISTRY: dict[str, ChainAdapter] = {}
_loaded = False
_A = TypeVar("_A", bound=ChainAdapter)


def register(adapter: _A) -> _A:
    """Make `adapter` available under `adapter.name`; a name is registered once."""
    if adapter.name in _REGISTRY and _REGISTRY[adapter.name] is not adapter:
        raise ValueError(f"chain {adapter.name!r} is already registered")
    _REGISTRY[adapter.name] = adapter
    return adapter


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in _MODULES:
            importlib.import_module(f"chainsig.chains.{module}")
        _loaded = True


def chain_names() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def get_chain(name: str) -> ChainAdapter:
    """The adapter registered as `name`, or `AddressError` listing the known ones."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise AddressError(f"unknown chain {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None
