"""Transaction checks with nearcore's InvalidTxError shapes (`runtime/runtime/src/verifier.rs`).

Each failing check raises `InvalidTransaction` whose `data`/`info` is
`{"TxExecutionError": {"InvalidTxError": <kind>}}`, exactly as nearcore's RPC reports it.
"""

from __future__ import annotations

import re
from typing import Any

from localnet.chain.costs import attached_gas
from localnet.chain.transaction import SignedTransaction, decode_signed_transaction, peek_action_count
from localnet.errors import InvalidTransaction
from localnet.runtime.fees import VM_LIMITS
from localnet.types import ED25519, Action, AddKey, DeleteAccount, DeployContract, FunctionCall, Stake

_ACCOUNT_ID = re.compile(r"^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$")


def is_valid_account_id(account_id: str) -> bool:
    """nearcore's AccountId rules: 2–64 chars, lowercase alnum parts joined by `.`, `-`/`_` inside parts."""
    return 2 <= len(account_id) <= 64 and _ACCOUNT_ID.match(account_id) is not None


def is_top_level(account_id: str) -> bool:
    return "." not in account_id


def parent_of(account_id: str) -> str:
    return account_id.split(".", 1)[1]


def invalid_tx(kind: Any, message: str) -> InvalidTransaction:
    payload = {"TxExecutionError": {"InvalidTxError": kind}}
    return InvalidTransaction(message, info=payload, data=payload)


def actions_validation(kind: Any, message: str) -> InvalidTransaction:
    return invalid_tx({"ActionsValidation": kind}, message)


def too_many_actions(count: int) -> InvalidTransaction:
    return actions_validation(
        {"TotalNumberOfActionsExceeded": {"total_number_of_actions": count, "limit": VM_LIMITS.max_actions_per_receipt}},
        "The number of actions exceeded the limit",
    )


def decode_within_limits(raw: bytes) -> SignedTransaction:
    """Decode signed-transaction bytes after the checks that bound the decoding work, with nearcore's errors:
    the size (`TransactionSizeExceeded`, nearcore's first check in `validate_transaction`) and the number of
    actions the head announces (`TotalNumberOfActionsExceeded`). Pure: safe to run in a worker thread.

    Departure from nearcore, which decodes everything first: bytes over the size limit get
    TransactionSizeExceeded even when they would not decode, and too many actions are reported before the
    signature or the expiry is checked."""
    limit = VM_LIMITS.max_transaction_size
    if len(raw) > limit:
        raise invalid_tx(
            {"TransactionSizeExceeded": {"size": len(raw), "limit": limit}}, "Transaction size exceeds the limit"
        )
    count = peek_action_count(raw)
    if count is not None and count > VM_LIMITS.max_actions_per_receipt:
        raise too_many_actions(count)
    return decode_signed_transaction(raw)


def validate_actions(actions: tuple[Action, ...] | list[Action]) -> None:
    """nearcore `validate_actions`: counts, gas limits, sizes, key and account id rules."""
    limits = VM_LIMITS
    if len(actions) > limits.max_actions_per_receipt:
        raise too_many_actions(len(actions))
    for index, action in enumerate(actions):
        if isinstance(action, DeleteAccount) and index != len(actions) - 1:
            raise actions_validation("DeleteActionMustBeFinal", "The delete action must be the final action")
    total_gas = attached_gas(actions)
    if total_gas > limits.max_total_prepaid_gas:
        raise actions_validation(
            {"TotalPrepaidGasExceeded": {"total_prepaid_gas": total_gas, "limit": limits.max_total_prepaid_gas}},
            "The total prepaid gas exceeds the limit",
        )
    for action in actions:
        _validate_action(action)


def _validate_action(action: Action) -> None:
    limits = VM_LIMITS
    if isinstance(action, DeployContract) and len(action.code) > limits.max_contract_size:
        raise actions_validation(
            {"ContractSizeExceeded": {"size": len(action.code), "limit": limits.max_contract_size}},
            "The contract size exceeds the limit",
        )
    if isinstance(action, FunctionCall):
        if action.gas == 0:
            raise actions_validation(
                "FunctionCallZeroAttachedGas",
                "The attached amount of gas in a FunctionCall action has to be a positive number",
            )
        name_len = len(action.method_name.encode())
        if name_len > limits.max_length_method_name:
            raise actions_validation(
                {"FunctionCallMethodNameLengthExceeded": {"length": name_len, "limit": limits.max_length_method_name}},
                "The length of the method name exceeded the limit",
            )
        if len(action.args) > limits.max_arguments_length:
            raise actions_validation(
                {
                    "FunctionCallArgumentsLengthExceeded": {
                        "length": len(action.args),
                        "limit": limits.max_arguments_length,
                    }
                },
                "The length of the arguments exceeded the limit",
            )
    if isinstance(action, Stake) and action.public_key.key_type != ED25519:
        raise actions_validation("UnsuitableStakingKey", "The staking key must be ed25519")
    if isinstance(action, AddKey) and action.access_key.permission is not None:
        perm = action.access_key.permission
        if not is_valid_account_id(perm.receiver_id):
            raise actions_validation({"InvalidAccountId": {"account_id": perm.receiver_id}}, "Invalid account ID")
        total = 0
        for name in perm.method_names:
            length = len(name.encode())
            if length > limits.max_length_method_name:
                raise actions_validation(
                    {"AddKeyMethodNameLengthExceeded": {"length": length, "limit": limits.max_length_method_name}},
                    "The length of some method name exceeded the limit in a Add Key action",
                )
            total += length
        if total > limits.max_number_bytes_method_names:
            raise actions_validation(
                {
                    "AddKeyMethodNamesNumberOfBytesExceeded": {
                        "total_number_of_bytes": total,
                        "limit": limits.max_number_bytes_method_names,
                    }
                },
                "The total number of bytes of the method names exceeded the limit in a Add Key action",
            )
    if isinstance(action, DeleteAccount) and not is_valid_account_id(action.beneficiary_id):
        raise actions_validation({"InvalidAccountId": {"account_id": action.beneficiary_id}}, "Invalid account ID")
