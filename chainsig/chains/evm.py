"""EVM chains (`ethereum`, any chain speaking Ethereum JSON-RPC): transfers and contract calls, EIP-1559 or legacy,
read from the node with web3.py; EIP-191 and EIP-712 message hashes and their 65-byte signatures.

The transaction bytes are `chainsig.evm`'s (RLP, checked against eth-account); the address is `chainsig.addresses`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_account.messages import SignableMessage, encode_defunct, encode_typed_data
from eth_utils.crypto import keccak

from chainsig.addresses import ethereum_address
from chainsig.chains import register
from chainsig.chains.base import Curve, SignedTransaction, TransferRequest, ecdsa_signatures, to_base_units
from chainsig.errors import ChainRpcError, TransactionError
from chainsig.evm import Eip1559Transaction, LegacyTransaction
from chainsig.keys import PublicKey, Secp256k1PublicKey
from chainsig.signatures import EcdsaSignature, Signature

__all__ = ["EVM", "EvmChain", "UnsignedEvmTransaction", "eip191_hash", "eip712_hash", "message_signature"]

_GWEI = 10**9


@dataclass(frozen=True)
class UnsignedEvmTransaction:
    transaction: Eip1559Transaction | LegacyTransaction
    sender: str
    chain: str = "ethereum"

    @property
    def curve(self) -> Curve:
        return Curve.SECP256K1

    def payloads(self) -> tuple[bytes, ...]:
        return (self.transaction.hash_to_sign(),)

    def attach(self, signatures: Sequence[Signature]) -> SignedTransaction:
        [signature] = ecdsa_signatures(signatures, 1)
        signed = self.transaction.attach_signature(signature, expected_sender=self.sender)
        return SignedTransaction(self.chain, signed.raw, "0x" + signed.tx_hash.hex(), signed.raw_hex)


@dataclass(frozen=True)
class EvmChain:
    """An EVM chain; the chain id comes from the node (`eth_chainId`), so one adapter serves every EVM network."""

    name: str = "ethereum"
    curve: Curve = Curve.SECP256K1
    unit: str = "ETH"

    def address(self, key: PublicKey) -> str:
        self.curve.check_key(key, self.name)
        assert isinstance(key, Secp256k1PublicKey)
        return ethereum_address(key)

    async def build_transfer(self, rpc_url: str, request: TransferRequest) -> UnsignedEvmTransaction:
        """Nonce (pending), chain id, fees (EIP-1559 when the latest block has a base fee, unless `legacy`) and gas
        (estimated) from the node; `fee_rate` / `priority_fee` in gwei override the estimates."""
        sender = self.address(request.sender)
        opts = request.options
        value = to_base_units(request.amount, 18, self.unit)
        to = _checksum(request.to)
        async with _Web3Session(rpc_url) as w3:
            chain_id = int(await w3.eth.chain_id)
            nonce = int(await w3.eth.get_transaction_count(sender, "pending"))
            gas = opts.gas_limit or int(await w3.eth.estimate_gas(
                {"from": sender, "to": to, "value": value, "data": "0x" + opts.data.hex()}))
            latest = await w3.eth.get_block("latest")
            base_fee = latest.get("baseFeePerGas")
            if opts.legacy or base_fee is None:
                gas_price = _gwei(opts.fee_rate) if opts.fee_rate is not None else int(await w3.eth.gas_price)
                tx: Eip1559Transaction | LegacyTransaction = LegacyTransaction(
                    chain_id, nonce, gas_price, gas, to, value, opts.data)
            else:
                tip = _gwei(opts.priority_fee) if opts.priority_fee is not None else int(await w3.eth.max_priority_fee)
                max_fee = _gwei(opts.fee_rate) if opts.fee_rate is not None else 2 * int(base_fee) + tip
                if max_fee < tip:
                    raise TransactionError(f"max fee {max_fee} wei/gas is below the priority fee {tip} wei/gas")
                tx = Eip1559Transaction(chain_id, nonce, tip, max_fee, gas, to, value, opts.data)
        return UnsignedEvmTransaction(tx, sender, self.name)

    async def broadcast(self, rpc_url: str, signed: SignedTransaction) -> str:
        async with _Web3Session(rpc_url) as w3:
            tx_hash = await w3.eth.send_raw_transaction(signed.raw)
        return "0x" + bytes(tx_hash).hex()


class _Web3Session:
    """An `AsyncWeb3` on an HTTP provider, closed on exit, its errors mapped to `ChainRpcError`."""

    def __init__(self, url: str) -> None:
        from web3 import AsyncHTTPProvider, AsyncWeb3  # deferred: web3 is a large import

        self.w3 = AsyncWeb3(AsyncHTTPProvider(url))

    async def __aenter__(self) -> Any:
        return self.w3

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        await self.w3.provider.disconnect()
        if exc is not None and not isinstance(exc, (TransactionError, ChainRpcError)) and isinstance(exc, Exception):
            raise ChainRpcError(f"Ethereum JSON-RPC call failed: {type(exc).__name__}: {exc}") from exc


def _gwei(value: Decimal) -> int:
    return to_base_units(value, 9, "gwei")


def _checksum(address: str) -> str:
    from eth_utils.address import is_hex_address, to_checksum_address

    if not is_hex_address(address):
        raise TransactionError(f"not an Ethereum address: {address!r}")
    return str(to_checksum_address(address))


def _signable_hash(message: SignableMessage) -> bytes:
    """EIP-191: keccak256(0x19 ‖ version ‖ header ‖ body)."""
    return bytes(keccak(b"\x19" + message.version + message.header + message.body))


def eip191_hash(message: bytes) -> bytes:
    """The hash `personal_sign` signs: keccak256("\\x19Ethereum Signed Message:\\n" ‖ len ‖ message)."""
    return _signable_hash(encode_defunct(primitive=message))


def eip712_hash(typed_data: dict[str, Any]) -> bytes:
    """The hash `eth_signTypedData_v4` signs for a full EIP-712 message (types, primaryType, domain, message)."""
    try:
        return _signable_hash(encode_typed_data(full_message=typed_data))
    except Exception as exc:  # eth-account raises ValueError/KeyError/TypeError for malformed typed data
        raise TransactionError(f"invalid EIP-712 typed data: {exc}") from exc


def message_signature(signature: EcdsaSignature, msg_hash: bytes, signer: Secp256k1PublicKey) -> bytes:
    """The 65-byte r‖s‖v (v = 27 + recovery id, low s) wallets return, checked to recover to `signer`."""
    low = signature.normalized()
    if low.recover(msg_hash) != signer:
        raise TransactionError("the signature does not recover to the signer's key for this message")
    return low.r.to_bytes(32, "big") + low.s.to_bytes(32, "big") + bytes([low.ethereum_v()])


EVM = register(EvmChain())
