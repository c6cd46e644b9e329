"""Gas and token costs of transactions and actions (nearcore `runtime/runtime/src/config.rs`).

A transaction burns the *send* fees of its receipt and actions when it is converted; the *exec* fees and
the function calls' attached gas are prepaid and burnt (or refunded) when the receipt executes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from localnet.runtime.fees import ACTION_FEES, MIN_GAS_PRICE_YOCTO, STORAGE_AMOUNT_PER_BYTE_YOCTO
from localnet.types import (
    Action,
    AddKey,
    CreateAccount,
    DeleteAccount,
    DeleteKey,
    DeployContract,
    FunctionCall,
    Stake,
    Transfer,
)

GAS_PRICE_YOCTO = MIN_GAS_PRICE_YOCTO  # the localnet never fills blocks, so the price stays at its minimum
ZERO_BALANCE_ACCOUNT_STORAGE_LIMIT = 770  # nearcore: accounts this small need no storage stake
_F = ACTION_FEES


def _add_key_bytes(action: AddKey) -> int:
    perm = action.access_key.permission
    # nearcore counts each method name plus one byte for a terminator.
    return 0 if perm is None else sum(len(name.encode()) + 1 for name in perm.method_names)


def action_send_gas(action: Action, sender_is_receiver: bool) -> int:
    """Gas burnt when a receipt carrying `action` is created."""
    sir = sender_is_receiver
    if isinstance(action, CreateAccount):
        return _F.create_account.send_fee(sir)
    if isinstance(action, DeployContract):
        return _F.deploy_contract_base.send_fee(sir) + _F.deploy_contract_per_byte.send_fee(sir) * len(action.code)
    if isinstance(action, FunctionCall):
        n = len(action.method_name.encode()) + len(action.args)
        return _F.function_call_base.send_fee(sir) + _F.function_call_per_byte.send_fee(sir) * n
    if isinstance(action, Transfer):
        return _F.transfer.send_fee(sir)
    if isinstance(action, Stake):
        return _F.stake.send_fee(sir)
    if isinstance(action, AddKey):
        if action.access_key.permission is None:
            return _F.add_full_access_key.send_fee(sir)
        return _F.add_function_call_key_base.send_fee(sir) + _F.add_function_call_key_per_byte.send_fee(
            sir
        ) * _add_key_bytes(action)
    if isinstance(action, DeleteKey):
        return _F.delete_key.send_fee(sir)
    if isinstance(action, DeleteAccount):
        return _F.delete_account.send_fee(sir)
    raise TypeError(f"not an action: {action!r}")


def action_exec_gas(action: Action) -> int:
    """Gas burnt when `action` executes (attached function-call gas not included)."""
    if isinstance(action, CreateAccount):
        return _F.create_account.exec_fee()
    if isinstance(action, DeployContract):
        return _F.deploy_contract_base.exec_fee() + _F.deploy_contract_per_byte.exec_fee() * len(action.code)
    if isinstance(action, FunctionCall):
        n = len(action.method_name.encode()) + len(action.args)
        return _F.function_call_base.exec_fee() + _F.function_call_per_byte.exec_fee() * n
    if isinstance(action, Transfer):
        return _F.transfer.exec_fee()
    if isinstance(action, Stake):
        return _F.stake.exec_fee()
    if isinstance(action, AddKey):
        if action.access_key.permission is None:
            return _F.add_full_access_key.exec_fee()
        return _F.add_function_call_key_base.exec_fee() + _F.add_function_call_key_per_byte.exec_fee() * _add_key_bytes(
            action
        )
    if isinstance(action, DeleteKey):
        return _F.delete_key.exec_fee()
    if isinstance(action, DeleteAccount):
        return _F.delete_account.exec_fee()
    raise TypeError(f"not an action: {action!r}")


def receipt_exec_gas(actions: Sequence[Action]) -> int:
    """Exec fees of an action receipt: receipt creation plus each action (burnt when it runs)."""
    return _F.action_receipt_creation.exec_fee() + sum(action_exec_gas(a) for a in actions)


def attached_gas(actions: Sequence[Action]) -> int:
    return sum(a.gas for a in actions if isinstance(a, FunctionCall))


def total_deposit(actions: Sequence[Action]) -> int:
    return sum(a.deposit for a in actions if isinstance(a, (FunctionCall, Transfer)))


@dataclass(frozen=True)
class TransactionCost:
    gas_burnt: int  # send fees, burnt at conversion (the tx outcome's gas_burnt)
    gas_prepaid: int  # exec fees + attached gas, carried by the receipt
    deposit: int
    gas_price: int

    @property
    def total_cost(self) -> int:
        """Tokens taken from the signer at conversion."""
        return (self.gas_burnt + self.gas_prepaid) * self.gas_price + self.deposit

    @property
    def burnt_amount(self) -> int:
        return self.gas_burnt * self.gas_price


def transaction_cost(signer_id: str, receiver_id: str, actions: Sequence[Action], gas_price: int) -> TransactionCost:
    sir = signer_id == receiver_id
    send = _F.action_receipt_creation.send_fee(sir) + sum(action_send_gas(a, sir) for a in actions)
    return TransactionCost(send, receipt_exec_gas(actions) + attached_gas(actions), total_deposit(actions), gas_price)


def storage_shortfall(amount: int, locked: int, storage_usage: int) -> int:
    """Yocto missing to stake `storage_usage` bytes (0 when covered or under the zero-balance limit)."""
    if storage_usage <= ZERO_BALANCE_ACCOUNT_STORAGE_LIMIT:
        return 0
    required = storage_usage * STORAGE_AMOUNT_PER_BYTE_YOCTO
    return max(0, required - (amount + locked))
