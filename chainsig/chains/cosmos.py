"""Cosmos SDK chains: bech32 addresses of hash160(compressed secp256k1 key) under a chain's prefix, bank `MsgSend`
transactions in SIGN_MODE_DIRECT (protobuf messages from `cosmospy-protobuf`, the SDK's own .proto files compiled),
the 64-byte r‖s low-s signature over sha256(SignDoc), and the chain's REST API (LCD) for account data and broadcast.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import bech32
from ecdsa import BadSignatureError, SECP256k1, VerifyingKey
from ecdsa.util import sigdecode_string

from chainsig.addresses import hash160
from chainsig.chains import register
from chainsig.chains.base import Curve, SignedTransaction, TransferRequest, ecdsa_signatures, to_base_units
from chainsig.chains.http import get_json, post
from chainsig.errors import AddressError, ChainRpcError, TransactionError
from chainsig.kdf import SECP256K1_ORDER
from chainsig.keys import PublicKey, Secp256k1PublicKey
from chainsig.signatures import Signature

__all__ = ["COSMOS", "CosmosChain", "UnsignedCosmosTransaction", "verify_direct_signature"]

PUBKEY_TYPE = "/cosmos.crypto.secp256k1.PubKey"
MSG_SEND_TYPE = "/cosmos.bank.v1beta1.MsgSend"
_SIGN_MODE_DIRECT = 1
_DEFAULT_GAS = 200_000


def _pb() -> tuple[Any, Any, Any, Any, Any]:
    """The generated protobuf modules (imported late: they register the Cosmos descriptors globally)."""
    from cosmospy_protobuf.cosmos.bank.v1beta1 import tx_pb2 as bank
    from cosmospy_protobuf.cosmos.base.v1beta1 import coin_pb2
    from cosmospy_protobuf.cosmos.crypto.secp256k1 import keys_pb2
    from cosmospy_protobuf.cosmos.tx.v1beta1 import tx_pb2
    from google.protobuf import any_pb2

    return bank, coin_pb2, keys_pb2, tx_pb2, any_pb2


def sign_doc_bytes(body_bytes: bytes, auth_info_bytes: bytes, chain_id: str, account_number: int) -> bytes:
    _, _, _, tx_pb2, _ = _pb()
    doc = tx_pb2.SignDoc(body_bytes=body_bytes, auth_info_bytes=auth_info_bytes, chain_id=chain_id,
                         account_number=account_number)
    return bytes(doc.SerializeToString())


def verify_direct_signature(tx_bytes: bytes, chain_id: str, account_number: int) -> bytes:
    """Check a TxRaw's single signature as the SDK's ante handler does for SIGN_MODE_DIRECT: the signer's
    `/cosmos.crypto.secp256k1.PubKey` from AuthInfo, SignDoc(body, auth_info, chain_id, account_number), a 64-byte
    r‖s with s ≤ n/2, ECDSA over sha256(SignDoc). Returns the 33-byte key; `TransactionError` otherwise.
    Verified with python-ecdsa, independently of the libsecp256k1 check in `attach`."""
    _, _, keys_pb2, tx_pb2, _ = _pb()
    raw = tx_pb2.TxRaw.FromString(tx_bytes)
    auth = tx_pb2.AuthInfo.FromString(raw.auth_info_bytes)
    if len(auth.signer_infos) != 1 or len(raw.signatures) != 1:
        raise TransactionError("expected exactly one signer and one signature")
    info = auth.signer_infos[0]
    if info.public_key.type_url != PUBKEY_TYPE:
        raise TransactionError(f"signer key type {info.public_key.type_url!r} is not {PUBKEY_TYPE}")
    if info.mode_info.single.mode != _SIGN_MODE_DIRECT:
        raise TransactionError("signer mode is not SIGN_MODE_DIRECT")
    key = bytes(keys_pb2.PubKey.FromString(info.public_key.value).key)
    signature = bytes(raw.signatures[0])
    if len(signature) != 64:
        raise TransactionError(f"signature must be 64 bytes r||s, got {len(signature)}")
    if int.from_bytes(signature[32:], "big") > SECP256K1_ORDER // 2:
        raise TransactionError("signature has a high s (the SDK rejects malleable signatures)")
    digest = hashlib.sha256(sign_doc_bytes(raw.body_bytes, raw.auth_info_bytes, chain_id, account_number)).digest()
    try:
        VerifyingKey.from_string(key, curve=SECP256k1).verify_digest(signature, digest, sigdecode=sigdecode_string)
    except (BadSignatureError, ValueError) as exc:
        raise TransactionError("signature does not verify over sha256(SignDoc) under the signer's key") from exc
    return key


@dataclass(frozen=True)
class UnsignedCosmosTransaction:
    body_bytes: bytes
    auth_info_bytes: bytes
    chain_id: str
    account_number: int
    public_key: Secp256k1PublicKey
    chain: str = "cosmos"

    @property
    def curve(self) -> Curve:
        return Curve.SECP256K1

    @property
    def sign_doc(self) -> bytes:
        return sign_doc_bytes(self.body_bytes, self.auth_info_bytes, self.chain_id, self.account_number)

    def payloads(self) -> tuple[bytes, ...]:
        return (hashlib.sha256(self.sign_doc).digest(),)

    def attach(self, signatures: Sequence[Signature]) -> SignedTransaction:
        [signature] = ecdsa_signatures(signatures, 1)
        low = signature.normalized()
        if not low.verify(self.payloads()[0], self.public_key):
            raise TransactionError("the signature does not verify under the sender's key for this SignDoc")
        _, _, _, tx_pb2, _ = _pb()
        compact = low.r.to_bytes(32, "big") + low.s.to_bytes(32, "big")
        raw = bytes(tx_pb2.TxRaw(body_bytes=self.body_bytes, auth_info_bytes=self.auth_info_bytes,
                                 signatures=[compact]).SerializeToString())
        return SignedTransaction(self.chain, raw, hashlib.sha256(raw).hexdigest().upper(),
                                 base64.b64encode(raw).decode())


@dataclass(frozen=True)
class CosmosChain:
    """A Cosmos SDK chain by bech32 prefix and fee/transfer denom (`uatom` has 6 decimals: amounts in ATOM)."""

    name: str = "cosmos"
    prefix: str = "cosmos"
    denom: str = "uatom"
    decimals: int = 6
    unit: str = "ATOM"
    gas_price: Decimal = Decimal("0.025")  # smallest denom per gas
    curve: Curve = Curve.SECP256K1

    def address(self, key: PublicKey) -> str:
        self.curve.check_key(key, self.name)
        assert isinstance(key, Secp256k1PublicKey)
        data = bech32.convertbits(hash160(key.compressed), 8, 5)
        if data is None or not self.prefix or self.prefix.lower() != self.prefix or len(self.prefix) > 83:
            raise AddressError(f"invalid bech32 prefix {self.prefix!r}")
        return str(bech32.bech32_encode(self.prefix, data))

    def tx_parts(self, key: Secp256k1PublicKey, to: str, amount: int, denom: str, sequence: int, gas_limit: int,
                 fee_amount: int, memo: str) -> tuple[bytes, bytes]:
        """(body_bytes, auth_info_bytes) of a one-message bank send."""
        bank, coin_pb2, keys_pb2, tx_pb2, any_pb2 = _pb()
        hrp, data = bech32.bech32_decode(to)
        if hrp != self.prefix or data is None:
            raise TransactionError(f"not a {self.prefix} address: {to!r}")
        msg = bank.MsgSend(from_address=self.address(key), to_address=to,
                           amount=[coin_pb2.Coin(denom=denom, amount=str(amount))])
        body = tx_pb2.TxBody(messages=[any_pb2.Any(type_url=MSG_SEND_TYPE, value=msg.SerializeToString())],
                             memo=memo)
        signer = tx_pb2.SignerInfo(
            public_key=any_pb2.Any(type_url=PUBKEY_TYPE,
                                   value=keys_pb2.PubKey(key=key.compressed).SerializeToString()),
            mode_info=tx_pb2.ModeInfo(single=tx_pb2.ModeInfo.Single(mode=_SIGN_MODE_DIRECT)),
            sequence=sequence,
        )
        fee = tx_pb2.Fee(amount=[coin_pb2.Coin(denom=self.denom, amount=str(fee_amount))], gas_limit=gas_limit)
        auth = tx_pb2.AuthInfo(signer_infos=[signer], fee=fee)
        return bytes(body.SerializeToString()), bytes(auth.SerializeToString())

    async def build_transfer(self, rpc_url: str, request: TransferRequest) -> UnsignedCosmosTransaction:
        """Account number and sequence from `/cosmos/auth/v1beta1/accounts/{address}`, chain id from
        `/cosmos/base/tendermint/v1beta1/node_info`; gas `gas_limit` (default 200,000) at `fee_rate` (default
        0.025 of the smallest denom per gas)."""
        key = request.sender
        sender = self.address(key)
        assert isinstance(key, Secp256k1PublicKey)
        opts = request.options
        amount = to_base_units(request.amount, self.decimals, self.unit)
        base = rpc_url.rstrip("/")
        account = await get_json(f"{base}/cosmos/auth/v1beta1/accounts/{sender}")
        node = await get_json(f"{base}/cosmos/base/tendermint/v1beta1/node_info")
        try:
            acct = account["account"]
            account_number, sequence = int(acct.get("account_number", 0)), int(acct.get("sequence", 0))
            chain_id = str(node["default_node_info"]["network"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ChainRpcError(f"unexpected account or node_info answer: {account!r:.200} {node!r:.200}") from exc
        gas_limit = opts.gas_limit or _DEFAULT_GAS
        fee_amount = math.ceil((opts.fee_rate if opts.fee_rate is not None else self.gas_price) * gas_limit)
        body, auth = self.tx_parts(key, request.to, amount, opts.denom or self.denom, sequence, gas_limit,
                                   fee_amount, opts.memo)
        return UnsignedCosmosTransaction(body, auth, chain_id, account_number, key, self.name)

    async def broadcast(self, rpc_url: str, signed: SignedTransaction) -> str:
        answer = await post(f"{rpc_url.rstrip('/')}/cosmos/tx/v1beta1/txs",
                            json={"tx_bytes": signed.wire, "mode": "BROADCAST_MODE_SYNC"})
        response = answer.get("tx_response") if isinstance(answer, dict) else None
        if not isinstance(response, dict):
            raise ChainRpcError(f"unexpected broadcast answer: {answer!r:.300}")
        if int(response.get("code", 0)) != 0:
            raise ChainRpcError(f"the chain rejected the transaction: code {response.get('code')}: "
                                f"{response.get('raw_log')}")
        return str(response.get("txhash", signed.txid))


COSMOS = register(CosmosChain())
