"""`query` RPC request types over the current state, in nearcore's result shapes."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import base58

from localnet.chain import state as st
from localnet.chain.errors import ChainError, InvalidRequest
from localnet.chain.records import Account, access_key_view, b58, b64
from localnet.chain.state import State
from localnet.chain.validation import is_valid_account_id
from localnet.chain.vm import ChainExternal, run_function_call
from localnet.errors import InvalidAccount, NoContractCode, UnknownAccessKey, UnknownAccount
from localnet.runtime.api import ReturnKind, VMContext
from localnet.types import AccessKey, PublicKey

JSON = dict[str, Any]


class QueryContext:
    """The block a query answers at (the embedded chain keeps only the latest state)."""

    def __init__(self, state: State, header: JSON) -> None:
        self.state = state
        self.header = header

    @property
    def stamp(self) -> JSON:
        return {"block_height": self.header["height"], "block_hash": self.header["hash"]}

    def account(self, account_id: str) -> Account:
        if not isinstance(account_id, str) or not is_valid_account_id(account_id):
            raise InvalidAccount(
                f"Account ID {account_id} is invalid",
                info={"requested_account_id": account_id, **self.stamp},
            )
        value = self.state.get((st.ACCOUNT, account_id))
        if not isinstance(value, Account):
            raise UnknownAccount(
                f"account {account_id} does not exist while viewing",
                info={"requested_account_id": account_id, **self.stamp},
            )
        return value


def run_query(ctx: QueryContext, params: JSON) -> JSON:
    kind = params.get("request_type")
    handler = _HANDLERS.get(str(kind))
    if handler is None:
        raise InvalidRequest(f"unknown request_type {kind!r}")
    try:
        return handler(ctx, params)
    except KeyError as exc:
        raise InvalidRequest(f"missing query parameter {exc.args[0]!r}") from exc


def _view_account(ctx: QueryContext, params: JSON) -> JSON:
    return {**ctx.account(params["account_id"]).view(), **ctx.stamp}


def _view_code(ctx: QueryContext, params: JSON) -> JSON:
    account_id = params["account_id"]
    ctx.account(account_id)
    code = ctx.state.get((st.CODE, account_id))
    if code is None:
        raise NoContractCode(
            f"Contract code for contract ID #{account_id} has never been observed on the node",
            info={"contract_account_id": account_id, **ctx.stamp},
        )
    return {"code_base64": b64(bytes(code)), "hash": b58(hashlib.sha256(code).digest()), **ctx.stamp}


def _view_state(ctx: QueryContext, params: JSON) -> JSON:
    account_id = params["account_id"]
    ctx.account(account_id)
    prefix = base64.b64decode(params.get("prefix_base64") or "")
    values = [
        {"key": b64(key[2]), "value": b64(bytes(ctx.state.get(key)))}
        for key in ctx.state.keys_of(account_id, st.DATA)
        if key[2].startswith(prefix)
    ]
    return {"values": values, "proof": [], **ctx.stamp}


def _public_key(text: Any) -> PublicKey:
    try:
        return PublicKey.from_string(str(text))
    except ValueError as exc:
        raise InvalidRequest(f"invalid public key {text!r}: {exc}") from exc


def _view_access_key(ctx: QueryContext, params: JSON) -> JSON:
    account_id = params["account_id"]
    pk = _public_key(params["public_key"])
    value = ctx.state.get((st.ACCESS_KEY, account_id, pk.to_borsh()))
    if not isinstance(value, AccessKey):
        raise UnknownAccessKey(
            f"Access key for public key {pk} does not exist while viewing",
            info={"public_key": str(pk), **ctx.stamp},
        )
    return {**access_key_view(value), **ctx.stamp}


def _view_access_key_list(ctx: QueryContext, params: JSON) -> JSON:
    account_id = params["account_id"]
    ctx.account(account_id)
    keys = [
        {"public_key": str(PublicKey.from_borsh(key[2])), "access_key": access_key_view(ctx.state.get(key))}
        for key in ctx.state.keys_of(account_id, st.ACCESS_KEY)
    ]
    return {"keys": keys, **ctx.stamp}


def _call_function(ctx: QueryContext, params: JSON) -> JSON:
    account_id = params["account_id"]
    account = ctx.account(account_id)
    args = base64.b64decode(params.get("args_base64") or "")
    value, logs, error = view_call(ctx, account_id, account, params["method_name"], args)
    if error is not None:
        return {"error": error, "logs": logs, **ctx.stamp}
    return {"result": list(value), "logs": logs, **ctx.stamp}


def view_call(
    ctx: QueryContext, account_id: str, account: Account, method: str, args: bytes
) -> tuple[bytes, list[str], str | None]:
    """Run a view method on a throwaway checkpoint; returns (value, logs, error text or None)."""
    header = ctx.header
    code = ctx.state.get((st.CODE, account_id))
    if code is None:
        raise NoContractCode(
            f"Contract code for contract ID #{account_id} has never been observed on the node",
            info={"contract_account_id": account_id, **ctx.stamp},
        )
    context = VMContext(
        current_account_id=account_id,
        signer_account_id=account_id,
        signer_account_pk=b"",
        predecessor_account_id=account_id,
        input=args,
        promise_results=(),
        block_height=header["height"],
        block_timestamp_ns=header["timestamp"],
        epoch_height=1,
        account_balance=account.amount,
        account_locked_balance=account.locked,
        storage_usage=account.storage_usage,
        attached_deposit=0,
        prepaid_gas=0,
        random_seed=base58.b58decode(header["random_value"]),
        is_view=True,
    )
    checkpoint = ctx.state.checkpoint()
    try:
        ext = ChainExternal(ctx.state, account_id, bytes(32), header["height"], view=True)
        outcome = run_function_call(bytes(code), method, context, ext)
    finally:
        ctx.state.rollback(checkpoint)
    if outcome.error is not None:
        debug = outcome.error.debug or _error_debug(outcome.error.rpc_json)
        return b"", list(outcome.logs), f"wasm execution failed with error: {debug}"
    if outcome.return_data.kind != ReturnKind.VALUE:
        return b"", list(outcome.logs), None
    return bytes(outcome.return_data.value), list(outcome.logs), None


def _error_debug(value: Any) -> str:
    """Fallback Debug-like text for errors without a `debug` form."""
    if isinstance(value, dict) and len(value) == 1:
        ((name, inner),) = value.items()
        if isinstance(inner, dict) and inner and all(not isinstance(v, dict) for v in inner.values()):
            fields = ", ".join(f"{k}: {v!r}" for k, v in inner.items())
            return f"{name} {{ {fields} }}"
        return f"{name}({_error_debug(inner)})"
    if isinstance(value, str):
        return f'"{value}"' if " " in value else value
    return str(value)


_HANDLERS = {
    "view_account": _view_account,
    "view_code": _view_code,
    "view_state": _view_state,
    "view_access_key": _view_access_key,
    "view_access_key_list": _view_access_key_list,
    "call_function": _call_function,
}

__all__ = ["ChainError", "QueryContext", "run_query", "view_call"]
