"""XRP Ledger: classic addresses of compressed secp256k1 keys, Payment transactions encoded with xrpl-py's binary
codec, signed as rippled checks them (DER, low s, over SHA-512Half("STX\\0" ‖ fields)), and rippled's JSON-RPC.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xrpl.core import addresscodec, binarycodec, keypairs

from chainsig.chains import register
from chainsig.chains.base import Curve, SignedTransaction, TransferRequest, ecdsa_signatures, to_base_units
from chainsig.chains.http import post
from chainsig.errors import ChainRpcError, TransactionError
from chainsig.keys import PublicKey, Secp256k1PublicKey
from chainsig.signatures import Signature

__all__ = ["XRP", "UnsignedXrpTransaction", "XrpChain", "signing_hash", "transaction_id"]

_LEDGER_WINDOW = 20  # LastLedgerSequence = current + 20 (xrpl-py's autofill uses the same margin)
_ACCEPTED = ("tesSUCCESS", "terQUEUED")


def _sha512_half(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()[:32]


def signing_hash(tx_json: dict[str, Any]) -> bytes:
    """SHA-512Half of xrpl-py's `encode_for_signing` (the "STX\\0" prefix and the fields without signatures)."""
    return _sha512_half(bytes.fromhex(binarycodec.encode_for_signing(tx_json)))


def transaction_id(blob: bytes) -> str:
    """SHA-512Half("TXN\\0" ‖ signed blob), upper-case hex as rippled prints it."""
    return _sha512_half(b"TXN\x00" + blob).hex().upper()


@dataclass(frozen=True)
class UnsignedXrpTransaction:
    tx_json: dict[str, Any]
    public_key: Secp256k1PublicKey
    chain: str = "xrp"

    @property
    def curve(self) -> Curve:
        return Curve.SECP256K1

    def payloads(self) -> tuple[bytes, ...]:
        return (signing_hash(self.tx_json),)

    def attach(self, signatures: Sequence[Signature]) -> SignedTransaction:
        [signature] = ecdsa_signatures(signatures, 1)
        digest = signing_hash(self.tx_json)
        low = signature.normalized()  # rippled requires fully canonical (low-s) signatures
        if not low.verify(digest, self.public_key):
            raise TransactionError("the signature does not verify under the sender's key for this transaction")
        signed = {**self.tx_json, "TxnSignature": low.to_der().hex().upper()}
        blob = bytes.fromhex(binarycodec.encode(signed))
        return SignedTransaction(self.chain, blob, transaction_id(blob), blob.hex().upper())


@dataclass(frozen=True)
class XrpChain:
    name: str = "xrp"
    curve: Curve = Curve.SECP256K1
    unit: str = "XRP"

    def address(self, key: PublicKey) -> str:
        self.curve.check_key(key, self.name)
        assert isinstance(key, Secp256k1PublicKey)
        return str(keypairs.derive_classic_address(key.compressed.hex().upper()))

    async def build_transfer(self, rpc_url: str, request: TransferRequest) -> UnsignedXrpTransaction:
        """Sequence from `account_info`, fee from `fee` (the open-ledger fee; `fee_rate` overrides, in drops),
        LastLedgerSequence from `ledger_current`."""
        key = request.sender
        sender = self.address(key)
        assert isinstance(key, Secp256k1PublicKey)
        if not addresscodec.is_valid_classic_address(request.to):
            raise TransactionError(f"not a classic XRP address: {request.to!r}")
        drops = to_base_units(request.amount, 6, self.unit)
        if drops <= 0:
            raise TransactionError("an XRP payment needs a positive amount")
        info = await _rippled(rpc_url, "account_info", {"account": sender, "ledger_index": "current"})
        current = await _rippled(rpc_url, "ledger_current", {})
        if request.options.fee_rate is not None:
            fee = to_base_units(request.options.fee_rate, 0, "drops")
        else:
            fees = await _rippled(rpc_url, "fee", {})
            fee = max(int(fees["drops"]["base_fee"]), int(fees["drops"]["open_ledger_fee"]))
        tx_json = {
            "TransactionType": "Payment",
            "Account": sender,
            "Destination": request.to,
            "Amount": str(drops),
            "Fee": str(fee),
            "Flags": 0,
            "Sequence": int(info["account_data"]["Sequence"]),
            "LastLedgerSequence": int(current["ledger_current_index"]) + _LEDGER_WINDOW,
            "SigningPubKey": key.compressed.hex().upper(),
        }
        return UnsignedXrpTransaction(tx_json, key, self.name)

    async def broadcast(self, rpc_url: str, signed: SignedTransaction) -> str:
        result = await _rippled(rpc_url, "submit", {"tx_blob": signed.wire})
        engine = result.get("engine_result")
        if engine not in _ACCEPTED:
            raise ChainRpcError(f"rippled rejected the transaction: {engine}: {result.get('engine_result_message')}")
        return str(result.get("tx_json", {}).get("hash", signed.txid))


async def _rippled(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One rippled JSON-RPC call ({"method", "params": [obj]} → {"result": {..., "status"}})."""
    answer = await post(url, json={"method": method, "params": [params]})
    result = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(result, dict):
        raise ChainRpcError(f"{method}: unexpected rippled answer {answer!r:.300}")
    if result.get("status") == "error":
        raise ChainRpcError(f"{method}: {result.get('error')}: {result.get('error_message', '')}")
    return result


XRP = register(XrpChain())
