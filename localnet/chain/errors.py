"""Errors raised only by the chain package (all are `localnet.errors.LocalnetError` subclasses).

LocalnetError
├── RpcError
│   └── MalformedTransaction   REQUEST_VALIDATION_ERROR / PARSE_ERROR: bytes that are not a SignedTransaction
└── ChainError                 misuse of the in-process API (e.g. a tx that never finished in the block budget)
"""

from __future__ import annotations

from localnet.errors import LocalnetError, RpcError


class MalformedTransaction(RpcError, ValueError):
    """Signed-transaction bytes that cannot be decoded (nearcore answers with a PARSE_ERROR)."""

    cause_name = "PARSE_ERROR"
    handler = "REQUEST_VALIDATION_ERROR"


class ChainError(LocalnetError):
    """A chain-side failure that is not an RPC error (bad arguments to the in-process API, timeouts)."""


class InvalidRequest(RpcError, ValueError):
    """Request parameters the chain cannot interpret (nearcore: REQUEST_VALIDATION_ERROR / PARSE_ERROR)."""

    cause_name = "PARSE_ERROR"
    handler = "REQUEST_VALIDATION_ERROR"
