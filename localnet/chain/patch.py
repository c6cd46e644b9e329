"""`sandbox_patch_state` records (nearcore `StateRecord` JSON), parsed in full before any is applied.

A patch is all-or-nothing: `parse_state_records` turns every record into a typed `StatePatch` or raises
`InvalidRequest` (PARSE_ERROR, as nearcore's serde would) naming the first bad one, so the chain applies a
list it knows to be well-formed. Numbers follow nearcore's types (u128 balances as decimal strings or
integers, u64 nonces and storage usage), hashes and keys are base58 with their length bounded before decoding,
blobs are strict base64.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import base58

from localnet.chain.errors import InvalidRequest
from localnet.chain.records import EMPTY_CODE_HASH, Account
from localnet.chain.validation import is_valid_account_id
from localnet.types import AccessKey, FunctionCallPermission, PublicKey

JSON = dict[str, Any]
U64_MAX = 2**64 - 1
U128_MAX = 2**128 - 1
_HASH_B58_MAX_CHARS = 44  # the longest base58 text of 32 bytes
UNSUPPORTED_RECORDS = ("PostponedReceipt", "ReceivedData", "DelayedReceipt")


@dataclass(frozen=True)
class AccountPatch:
    account_id: str
    account: Account


@dataclass(frozen=True)
class DataPatch:
    account_id: str
    key: bytes
    value: bytes


@dataclass(frozen=True)
class ContractPatch:
    account_id: str
    code: bytes


@dataclass(frozen=True)
class AccessKeyPatch:
    account_id: str
    public_key: PublicKey
    access_key: AccessKey


StatePatch = AccountPatch | DataPatch | ContractPatch | AccessKeyPatch


class _Bad(ValueError):
    """One field of one record is wrong; turned into InvalidRequest with the record's index."""


def parse_state_records(records: Any) -> list[StatePatch]:
    """Every record of a `sandbox_patch_state` call, typed; InvalidRequest for the first that is not valid."""
    if not isinstance(records, list):
        raise InvalidRequest("invalid state records: expected a list")
    patches: list[StatePatch] = []
    for index, record in enumerate(records):
        try:
            patches.append(_parse_record(record))
        except _Bad as exc:
            raise InvalidRequest(f"invalid state record #{index}: {exc}") from None
    return patches


def _parse_record(record: Any) -> StatePatch:
    if not isinstance(record, dict) or len(record) != 1:
        raise _Bad("expected an object with one key")
    ((kind, body),) = record.items()
    if kind in UNSUPPORTED_RECORDS:
        raise _Bad(f"{kind} records are not supported by the embedded localnet")
    if not isinstance(body, dict):
        raise _Bad(f"{_short(kind)} must be an object")
    account_id = _account_id(body.get("account_id"))
    if kind == "Account":
        return AccountPatch(account_id, _account(body.get("account")))
    if kind == "Data":
        return DataPatch(account_id, _b64(body.get("data_key"), "data_key"), _b64(body.get("value"), "value"))
    if kind == "Contract":
        return ContractPatch(account_id, _b64(body.get("code"), "code"))
    if kind == "AccessKey":
        return AccessKeyPatch(account_id, _public_key(body.get("public_key")), _access_key(body.get("access_key")))
    raise _Bad(f"unknown record kind {_short(kind)}")


def _account_id(value: Any) -> str:
    if not isinstance(value, str) or not is_valid_account_id(value):
        raise _Bad(f"invalid account id {_short(value)}")
    return value


def _account(value: Any) -> Account:
    if not isinstance(value, dict):
        raise _Bad("`account` must be an object")
    return Account(
        amount=_uint(value.get("amount"), "amount", U128_MAX),
        locked=_uint(value.get("locked", 0), "locked", U128_MAX),
        code_hash=_hash(value.get("code_hash"), "code_hash") if "code_hash" in value else EMPTY_CODE_HASH,
        storage_usage=_uint(value.get("storage_usage", 0), "storage_usage", U64_MAX),
    )


def _access_key(value: Any) -> AccessKey:
    if not isinstance(value, dict):
        raise _Bad("`access_key` must be an object")
    nonce = _uint(value.get("nonce", 0), "nonce", U64_MAX)
    permission = value.get("permission")
    if permission == "FullAccess":
        return AccessKey(nonce, None)
    if not isinstance(permission, dict) or not isinstance(permission.get("FunctionCall"), dict):
        raise _Bad('`permission` must be "FullAccess" or {"FunctionCall": {...}}')
    call = permission["FunctionCall"]
    allowance = call.get("allowance")
    receiver_id = call.get("receiver_id")
    method_names = call.get("method_names", [])
    if not isinstance(receiver_id, str):
        raise _Bad("`receiver_id` must be a string")
    if not isinstance(method_names, list) or not all(isinstance(name, str) for name in method_names):
        raise _Bad("`method_names` must be a list of strings")
    return AccessKey(
        nonce,
        FunctionCallPermission(
            None if allowance is None else _uint(allowance, "allowance", U128_MAX), receiver_id, tuple(method_names)
        ),
    )


def _uint(value: Any, what: str, maximum: int) -> int:
    """An unsigned integer as nearcore's serde reads it: a JSON integer or (for u128) a decimal string."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= len(str(maximum)):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise _Bad(f"`{what}` must be an unsigned integer, got {_short(value)}")
    if not 0 <= number <= maximum:
        raise _Bad(f"`{what}` {number} is out of range")
    return number


def _hash(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or len(value) > _HASH_B58_MAX_CHARS:
        raise _Bad(f"`{what}` must be a base58 hash, got {_short(value)}")
    try:
        raw = base58.b58decode(value)
    except ValueError as exc:
        raise _Bad(f"`{what}` is not base58") from exc
    if len(raw) != 32:
        raise _Bad(f"`{what}` must be 32 bytes")
    return raw


def _public_key(value: Any) -> PublicKey:
    if not isinstance(value, str):
        raise _Bad(f"`public_key` must be a string, got {_short(value)}")
    try:
        return PublicKey.from_string(value)  # bounds the text's length before decoding
    except ValueError as exc:
        raise _Bad(f"invalid public_key: {exc}") from exc


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise _Bad(f"`{what}` must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _Bad(f"`{what}` is not valid base64") from exc


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} chars)"
