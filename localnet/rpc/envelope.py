"""nearcore's JSON-RPC 2.0 envelope: success bodies, error bodies and the HTTP status each error gets.

Error shapes follow nearcore `chain/jsonrpc-primitives/src/errors.rs`:

    HANDLER_ERROR            code -32000 "Server error"      cause = {"name": <RpcError.cause_name>, "info": {...}}
    REQUEST_VALIDATION_ERROR code -32700 "Parse error"       cause = {"name": "PARSE_ERROR", ...}
                             code -32601 "Method not found"  cause = {"name": "METHOD_NOT_FOUND", ...}
    INTERNAL_ERROR           code -32000 "Server error"      cause = {"name": "INTERNAL_ERROR", ...}

nearcore answers request-validation errors with HTTP 400, TIMEOUT_ERROR with 408 and internal errors with
500; everything else (including handler errors) is HTTP 200 with the error in the body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from localnet.errors import RpcError

JSON = dict[str, Any]


class ParseError(RpcError):
    """Malformed JSON, a non-request body, or params that do not fit the method."""

    cause_name = "PARSE_ERROR"
    handler = "REQUEST_VALIDATION_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message, info={"error_message": message}, data=message)


class MethodNotFound(RpcError):
    cause_name = "METHOD_NOT_FOUND"
    handler = "REQUEST_VALIDATION_ERROR"

    def __init__(self, method_name: str) -> None:
        super().__init__(f"Method not found: {method_name}", info={"method_name": method_name}, data=method_name)


class InternalError(RpcError):
    """An unexpected failure inside the node; reported without a traceback."""

    cause_name = "INTERNAL_ERROR"
    handler = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message, info={"error_message": message}, data=message)


def success(request_id: Any, result: Any) -> JSON:
    return {"jsonrpc": "2.0", "result": result, "id": request_id}


@dataclass(frozen=True)
class EncodedResult:
    """A `result` already serialised to JSON text (an immutable block or chunk every MPC node asks for)."""

    text: str


def success_text(request_id: Any, result: EncodedResult) -> str:
    """The body `success` would give, around a result that is already JSON text."""
    return f'{{"jsonrpc": "2.0", "result": {result.text}, "id": {json.dumps(request_id, allow_nan=False)}}}'


def failure(request_id: Any, error: RpcError) -> JSON:
    """The error body nearcore sends for `error` (structured `name`/`cause` plus the legacy code/message/data)."""
    if isinstance(error, MethodNotFound):
        code, message = -32601, "Method not found"
    elif error.handler == "REQUEST_VALIDATION_ERROR":
        code, message = -32700, "Parse error"
    else:
        code, message = -32000, "Server error"
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {
            "name": error.handler,
            "cause": {"name": error.cause_name, "info": error.info},
            "code": code,
            "message": message,
            "data": error.data,
        },
    }


def http_status(error: RpcError) -> int:
    """The HTTP status nearcore uses for `error`."""
    if error.handler == "REQUEST_VALIDATION_ERROR":
        return 400
    if error.cause_name == "TIMEOUT_ERROR":
        return 408
    if error.handler == "INTERNAL_ERROR":
        return 500
    return 200
