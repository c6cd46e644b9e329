"""EVM transactions signed by the MPC network: build → hash to sign → attach (big_r, s, recovery_id) → raw tx.

Serialization is the few lines of RLP that EIP-1559 / EIP-155 define, done here with the `rlp` library so the
hash-to-sign and the signed bytes stay explicit (eth-account only signs with a local key). Tests cross-check
every byte against eth-account and execute the result on py-evm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import rlp
from eth_account import Account
from eth_utils.address import is_checksum_address, is_hex_address, to_canonical_address, to_checksum_address
from eth_utils.crypto import keccak

from chainsig.errors import TransactionError
from chainsig.signatures import EcdsaSignature

__all__ = [
    "AccessListEntry",
    "Eip1559Transaction",
    "EvmTransaction",
    "LegacyTransaction",
    "SignedEvmTransaction",
    "recover_sender",
]

_MAX_UINT256 = 2**256 - 1


@dataclass(frozen=True)
class AccessListEntry:
    address: str
    storage_keys: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class SignedEvmTransaction:
    """A signed transaction ready to relay: `raw` for eth_sendRawTransaction, `tx_hash`, and the recovered `sender`."""

    raw: bytes
    tx_hash: bytes
    sender: str

    @property
    def raw_hex(self) -> str:
        return "0x" + self.raw.hex()


class EvmTransaction(Protocol):
    def hash_to_sign(self) -> bytes: ...

    def attach_signature(
        self, signature: EcdsaSignature, expected_sender: str | None = None
    ) -> SignedEvmTransaction: ...


@dataclass(frozen=True)
class Eip1559Transaction:
    """A type-2 (EIP-1559) transaction."""

    chain_id: int
    nonce: int
    max_priority_fee_per_gas_wei: int
    max_fee_per_gas_wei: int
    gas_limit: int
    to: str | None
    value_wei: int = 0
    data: bytes = b""
    access_list: tuple[AccessListEntry, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_uints(
            chain_id=self.chain_id,
            nonce=self.nonce,
            max_priority_fee_per_gas_wei=self.max_priority_fee_per_gas_wei,
            max_fee_per_gas_wei=self.max_fee_per_gas_wei,
            gas_limit=self.gas_limit,
            value_wei=self.value_wei,
        )
        if self.max_priority_fee_per_gas_wei > self.max_fee_per_gas_wei:
            raise TransactionError("max_priority_fee_per_gas_wei exceeds max_fee_per_gas_wei")
        _address_bytes(self.to)
        for entry in self.access_list:
            _address_bytes(entry.address)
            if any(len(key) != 32 for key in entry.storage_keys):
                raise TransactionError("access-list storage keys must be 32 bytes")

    def _fields(self) -> list[object]:
        access_list = [[_address_bytes(e.address), list(e.storage_keys)] for e in self.access_list]
        return [
            self.chain_id,
            self.nonce,
            self.max_priority_fee_per_gas_wei,
            self.max_fee_per_gas_wei,
            self.gas_limit,
            _address_bytes(self.to),
            self.value_wei,
            self.data,
            access_list,
        ]

    def signing_payload(self) -> bytes:
        return b"\x02" + bytes(rlp.encode(self._fields()))

    def hash_to_sign(self) -> bytes:
        """keccak256(0x02 ‖ rlp([chain_id, nonce, …, access_list])): the 32-byte payload for `sign`."""
        return bytes(keccak(self.signing_payload()))

    def attach_signature(self, signature: EcdsaSignature, expected_sender: str | None = None) -> SignedEvmTransaction:
        sig = signature.normalized()
        raw = b"\x02" + rlp.encode(self._fields() + [sig.recovery_id & 1, sig.r, sig.s])
        return _finish(raw, expected_sender)


@dataclass(frozen=True)
class LegacyTransaction:
    """A legacy transaction, EIP-155 replay-protected when `chain_id` is set."""

    chain_id: int | None
    nonce: int
    gas_price_wei: int
    gas_limit: int
    to: str | None
    value_wei: int = 0
    data: bytes = b""

    def __post_init__(self) -> None:
        _check_uints(
            nonce=self.nonce, gas_price_wei=self.gas_price_wei, gas_limit=self.gas_limit, value_wei=self.value_wei
        )
        if self.chain_id is not None:
            _check_uints(chain_id=self.chain_id)
        _address_bytes(self.to)

    def _fields(self) -> list[object]:
        return [self.nonce, self.gas_price_wei, self.gas_limit, _address_bytes(self.to), self.value_wei, self.data]

    def hash_to_sign(self) -> bytes:
        """keccak256(rlp([nonce, gas_price, gas, to, value, data(, chain_id, 0, 0)]))."""
        tail: list[object] = [] if self.chain_id is None else [self.chain_id, 0, 0]
        return bytes(keccak(rlp.encode(self._fields() + tail)))

    def attach_signature(self, signature: EcdsaSignature, expected_sender: str | None = None) -> SignedEvmTransaction:
        sig = signature.normalized()
        v = sig.ethereum_v(self.chain_id) if sig.recovery_id < 2 else None
        if v is None:
            raise TransactionError("recovery ids 2 and 3 cannot be expressed in an Ethereum `v`")
        raw = rlp.encode(self._fields() + [v, sig.r, sig.s])
        return _finish(raw, expected_sender)


def recover_sender(raw: bytes) -> str:
    """The sender address eth-account recovers from a signed raw transaction."""
    try:
        return str(Account.recover_transaction(raw))
    except Exception as exc:  # eth-account raises several unrelated types for malformed input
        raise TransactionError(f"cannot recover the sender of this transaction: {exc}") from exc


def _finish(raw: bytes, expected_sender: str | None) -> SignedEvmTransaction:
    sender = recover_sender(raw)
    if expected_sender is not None and sender != to_checksum_address(_address_bytes(expected_sender)):
        raise TransactionError(f"signature recovers to {sender}, not the expected sender {expected_sender}")
    return SignedEvmTransaction(raw=raw, tx_hash=bytes(keccak(raw)), sender=sender)


def _address_bytes(address: str | None) -> bytes:
    if address is None:
        return b""
    if not is_hex_address(address):
        raise TransactionError(f"not a 20-byte hex address: {address!r}")
    body = address[2:] if address.startswith(("0x", "0X")) else address
    if body != body.lower() and body != body.upper() and not is_checksum_address(address):
        raise TransactionError(f"address has a bad EIP-55 checksum: {address!r}")
    return bytes(to_canonical_address(address))


def _check_uints(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_UINT256:
            raise TransactionError(f"{name} must be an unsigned 256-bit integer, got {value!r}")
