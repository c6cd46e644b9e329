"""Solana: the address is the Ed25519 key in base58; a system-program transfer built with solders, its message bytes
signed through the Ed25519 domain, sent with Solana JSON-RPC (`getLatestBlockhash`, `sendTransaction`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from solders.hash import Hash
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature as SoldersSignature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from chainsig.addresses import solana_address
from chainsig.chains import register
from chainsig.chains.base import Curve, SignedTransaction, TransferRequest, ed25519_signatures, to_base_units
from chainsig.chains.http import json_rpc
from chainsig.errors import ChainRpcError, TransactionError
from chainsig.keys import Ed25519PublicKey, PublicKey
from chainsig.signatures import Signature

__all__ = ["SOLANA", "SolanaChain", "UnsignedSolanaTransaction", "transfer_message"]


def transfer_message(sender: Ed25519PublicKey, to: str, lamports: int, blockhash: str) -> Message:
    """A one-instruction message: system transfer of `lamports` from `sender` (the fee payer) to `to`."""
    try:
        recipient = Pubkey.from_string(to)
        recent = Hash.from_string(blockhash)
    except ValueError as exc:
        raise TransactionError(f"bad Solana address or blockhash: {exc}") from exc
    payer = Pubkey.from_bytes(sender.data)
    ix = transfer(TransferParams(from_pubkey=payer, to_pubkey=recipient, lamports=lamports))
    return Message.new_with_blockhash([ix], payer, recent)


@dataclass(frozen=True)
class UnsignedSolanaTransaction:
    message: Message
    public_key: Ed25519PublicKey
    chain: str = "solana"

    @property
    def curve(self) -> Curve:
        return Curve.ED25519

    def payloads(self) -> tuple[bytes, ...]:
        """The serialized message: what an Ed25519 Solana signature covers."""
        return (bytes(self.message),)

    def attach(self, signatures: Sequence[Signature]) -> SignedTransaction:
        [signature] = ed25519_signatures(signatures, 1)
        if not signature.verify(bytes(self.message), self.public_key):
            raise TransactionError("the signature does not verify under the fee payer's key for this message")
        tx = Transaction.populate(self.message, [SoldersSignature.from_bytes(signature.signature)])
        tx.verify()
        raw = bytes(tx)
        return SignedTransaction(self.chain, raw, str(tx.signatures[0]), base64.b64encode(raw).decode())


@dataclass(frozen=True)
class SolanaChain:
    name: str = "solana"
    curve: Curve = Curve.ED25519
    unit: str = "SOL"

    def address(self, key: PublicKey) -> str:
        self.curve.check_key(key, self.name)
        assert isinstance(key, Ed25519PublicKey)
        return solana_address(key)

    async def build_transfer(self, rpc_url: str, request: TransferRequest) -> UnsignedSolanaTransaction:
        """The transfer against the latest (finalized) blockhash. The fee is the network's fixed 5,000 lamports per
        signature; priority fees are not supported (`fee_rate` is refused)."""
        key = request.sender
        self.address(key)
        assert isinstance(key, Ed25519PublicKey)
        if request.options.fee_rate is not None:
            raise TransactionError("solana transfers pay the fixed base fee; a fee rate cannot be set")
        lamports = to_base_units(request.amount, 9, self.unit)
        result = await json_rpc(rpc_url, "getLatestBlockhash", [{"commitment": "finalized"}])
        try:
            blockhash = str(result["value"]["blockhash"])
        except (KeyError, TypeError) as exc:
            raise ChainRpcError(f"unexpected getLatestBlockhash result: {result!r:.300}") from exc
        return UnsignedSolanaTransaction(transfer_message(key, request.to, lamports, blockhash), key, self.name)

    async def broadcast(self, rpc_url: str, signed: SignedTransaction) -> str:
        result = await json_rpc(rpc_url, "sendTransaction", [signed.wire, {"encoding": "base64"}])
        return str(result)


SOLANA = register(SolanaChain())
