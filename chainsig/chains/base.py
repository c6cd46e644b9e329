"""The interface every chain implements, and the records that pass between its stages.

derive key ──address()──▶ address
chain RPC ──build_transfer()──▶ UnsignedTransaction ──payloads()──▶ one SignRequest per payload
signatures ──UnsignedTransaction.attach()──▶ SignedTransaction ──broadcast()──▶ transaction id
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Protocol, runtime_checkable

from chainsig.errors import AddressError, TransactionError
from chainsig.keys import Ed25519PublicKey, PublicKey, Secp256k1PublicKey
from chainsig.sign import DomainId, PayloadScheme, SignRequest
from chainsig.signatures import EcdsaSignature, Ed25519Signature, Signature

__all__ = [
    "ChainAdapter",
    "Curve",
    "SignedTransaction",
    "TransferOptions",
    "TransferRequest",
    "UnsignedTransaction",
    "ecdsa_signatures",
    "ed25519_signatures",
    "sign_requests",
    "to_base_units",
]


class Curve(Enum):
    """The signature domain a chain's keys live in (near/mpc's default domains 0 and 1)."""

    SECP256K1 = "secp256k1"
    ED25519 = "ed25519"

    @property
    def domain_id(self) -> DomainId:
        return DomainId(0 if self is Curve.SECP256K1 else 1)

    @property
    def scheme(self) -> PayloadScheme:
        return PayloadScheme.ECDSA if self is Curve.SECP256K1 else PayloadScheme.EDDSA

    def check_key(self, key: PublicKey, chain: str) -> None:
        """`AddressError` unless `key` is on this curve."""
        want = Secp256k1PublicKey if self is Curve.SECP256K1 else Ed25519PublicKey
        if not isinstance(key, want):
            raise AddressError(f"{chain} needs a {self.value} key (use the {self.value} root / domain "
                               f"{self.domain_id})")


@dataclass(frozen=True)
class TransferOptions:
    """Chain-specific knobs of a transfer; each adapter reads the ones it knows and documents their unit.

    fee_rate: EVM max fee per gas (gwei), Bitcoin-family fee rate (sat/vB, koinu/B), XRP fee (drops), Cosmos gas
        price (smallest denom per gas). `None` = estimated from the chain's RPC.
    priority_fee: EVM max priority fee per gas (gwei).
    gas_limit: EVM / Cosmos gas limit (estimated when `None`).
    data: EVM calldata (a contract call). legacy: EVM legacy (EIP-155) instead of EIP-1559.
    memo: Cosmos memo. denom: Cosmos coin denom (default the adapter's).
    """

    fee_rate: Decimal | None = None
    priority_fee: Decimal | None = None
    gas_limit: int | None = None
    data: bytes = b""
    legacy: bool = False
    memo: str = ""
    denom: str | None = None


@dataclass(frozen=True)
class TransferRequest:
    """Send `amount` (in the chain's usual unit: ETH, BTC, DOGE, XRP, SOL, ATOM…) from `sender` to `to`."""

    sender: PublicKey
    to: str
    amount: Decimal
    options: TransferOptions = TransferOptions()

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite() or self.amount < 0:
            raise TransactionError(f"amount must be a non-negative decimal, got {self.amount!r}")


@dataclass(frozen=True)
class SignedTransaction:
    """A signed transaction ready to relay: `raw` bytes, its id as the chain's explorers show it, and `wire`,
    the text form the chain's RPC takes (hex, base64 …)."""

    chain: str
    raw: bytes
    txid: str
    wire: str


@runtime_checkable
class UnsignedTransaction(Protocol):
    """A built transaction waiting for signatures: the payloads, in order, and how to attach their signatures."""

    @property
    def curve(self) -> Curve: ...

    def payloads(self) -> tuple[bytes, ...]:
        """What to sign: 32-byte hashes for secp256k1, message bytes for Ed25519; one per signature."""
        ...

    def attach(self, signatures: Sequence[Signature]) -> SignedTransaction:
        """Check each signature against its payload and key, and serialize the signed transaction."""
        ...


class ChainAdapter(Protocol):
    """One chain (or a parameter set of a chain family). Implemented once per module in `chainsig.chains`."""

    @property
    def name(self) -> str:
        """The registry / `--chain` name."""
        ...

    @property
    def curve(self) -> Curve: ...

    @property
    def unit(self) -> str:
        """The usual unit amounts are given in: "ETH", "BTC", …"""
        ...

    def address(self, key: PublicKey) -> str:
        """The address of `key` exactly as the chain's own tooling computes it."""
        ...

    async def build_transfer(self, rpc_url: str, request: TransferRequest) -> UnsignedTransaction:
        """Read nonce / fees / UTXOs / recent blockhash from the chain's RPC and build the unsigned transfer."""
        ...

    async def broadcast(self, rpc_url: str, signed: SignedTransaction) -> str:
        """Submit over the chain's RPC; returns the transaction id the chain reports."""
        ...


def sign_requests(unsigned: UnsignedTransaction, path: str) -> list[SignRequest]:
    """One `SignRequest` per payload, in the transaction's domain."""
    return [SignRequest(path, payload, unsigned.curve.domain_id, unsigned.curve.scheme)
            for payload in unsigned.payloads()]


def ecdsa_signatures(signatures: Sequence[Signature], expected: int) -> list[EcdsaSignature]:
    """The signatures as ECDSA ones, `expected` of them, or `TransactionError`."""
    if len(signatures) != expected:
        raise TransactionError(f"{expected} signature(s) needed, got {len(signatures)}")
    for index, signature in enumerate(signatures):
        if not isinstance(signature, EcdsaSignature):
            raise TransactionError(f"signature {index} is not a secp256k1 ECDSA signature")
    return [s for s in signatures if isinstance(s, EcdsaSignature)]


def ed25519_signatures(signatures: Sequence[Signature], expected: int) -> list[Ed25519Signature]:
    """The signatures as Ed25519 ones, `expected` of them, or `TransactionError`."""
    if len(signatures) != expected:
        raise TransactionError(f"{expected} signature(s) needed, got {len(signatures)}")
    for index, signature in enumerate(signatures):
        if not isinstance(signature, Ed25519Signature):
            raise TransactionError(f"signature {index} is not an Ed25519 signature")
    return [s for s in signatures if isinstance(s, Ed25519Signature)]


def to_base_units(amount: Decimal, decimals: int, unit: str) -> int:
    """`amount` (e.g. BTC) in base units (sat); more decimals than the chain has is an error, not a rounding."""
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise TransactionError(f"{amount} {unit} has more than {decimals} decimals")
    return int(scaled)
