"""Primitives shared by the VM, the chain and the RPC: keys, access keys and actions.

Field names follow nearcore (`core/primitives/src/action/mod.rs`) so that borsh and JSON
views can be produced without renaming. Amounts are yoctoNEAR ints, gas is gas units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NewType, Union

import base58

AccountId = NewType("AccountId", str)
CryptoHash = NewType("CryptoHash", bytes)  # 32 bytes
Gas = NewType("Gas", int)
Balance = NewType("Balance", int)

ED25519 = 0
SECP256K1 = 1
_KEY_TYPES = {ED25519: ("ed25519", 32), SECP256K1: ("secp256k1", 64)}
_KEY_TAGS = {name: (tag, size) for tag, (name, size) in _KEY_TYPES.items()}


@dataclass(frozen=True)
class PublicKey:
    """A NEAR public key: key type tag and raw key bytes (32 for ed25519, 64 for secp256k1)."""

    key_type: int
    data: bytes

    def __post_init__(self) -> None:
        if self.key_type not in _KEY_TYPES:
            raise ValueError(f"unknown key type {self.key_type}")
        expected = _KEY_TYPES[self.key_type][1]
        if len(self.data) != expected:
            raise ValueError(f"{_KEY_TYPES[self.key_type][0]} public key must be {expected} bytes, got {len(self.data)}")

    @classmethod
    def from_string(cls, text: str) -> PublicKey:
        """Parse `ed25519:<base58>` / `secp256k1:<base58>` (a bare base58 string means ed25519)."""
        prefix, sep, body = text.partition(":")
        if not sep:
            prefix, body = "ed25519", text
        if prefix not in _KEY_TAGS:
            raise ValueError(f"unknown key type prefix {prefix[:20]!r}")
        tag, size = _KEY_TAGS[prefix]
        if len(body) > 2 * size:  # base58 of `size` bytes is shorter; checked first, decoding is quadratic
            raise ValueError(f"{prefix} public key text is too long ({len(body)} chars)")
        try:
            raw = base58.b58decode(body)
        except ValueError as exc:
            raise ValueError(f"invalid base58 in public key {text!r}") from exc
        return cls(tag, raw)

    @classmethod
    def from_borsh(cls, raw: bytes) -> PublicKey:
        """Decode the borsh form: one tag byte then the key bytes."""
        if not raw or raw[0] not in _KEY_TYPES:
            raise ValueError("invalid borsh public key")
        return cls(raw[0], bytes(raw[1:]))

    def to_borsh(self) -> bytes:
        return bytes([self.key_type]) + self.data

    def __str__(self) -> str:
        return f"{_KEY_TYPES[self.key_type][0]}:{base58.b58encode(self.data).decode()}"


@dataclass(frozen=True)
class FunctionCallPermission:
    """Function-call access key permission; `allowance` None means unlimited."""

    allowance: int | None
    receiver_id: str
    method_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessKey:
    nonce: int
    permission: FunctionCallPermission | None  # None = FullAccess

    @property
    def is_full_access(self) -> bool:
        return self.permission is None


# ---- actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateAccount:
    pass


@dataclass(frozen=True)
class DeployContract:
    code: bytes = field(repr=False)


@dataclass(frozen=True)
class FunctionCall:
    method_name: str
    args: bytes
    gas: int
    deposit: int
    # Only meaningful for promises created by contracts (promise_batch_action_function_call_weight):
    # unused gas is split among calls by this weight. Transactions always carry weight 0.
    gas_weight: int = 0


@dataclass(frozen=True)
class Transfer:
    deposit: int


@dataclass(frozen=True)
class Stake:
    stake: int
    public_key: PublicKey


@dataclass(frozen=True)
class AddKey:
    public_key: PublicKey
    access_key: AccessKey


@dataclass(frozen=True)
class DeleteKey:
    public_key: PublicKey


@dataclass(frozen=True)
class DeleteAccount:
    beneficiary_id: str


Action = Union[CreateAccount, DeployContract, FunctionCall, Transfer, Stake, AddKey, DeleteKey, DeleteAccount]
