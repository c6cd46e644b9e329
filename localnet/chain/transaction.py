"""NEAR transactions in borsh wire form: build, sign, hash and decode (TransactionV0 only).

`SignedTransaction = Transaction ‖ Signature`; tx hash = sha256(borsh(Transaction)); the signature is
ed25519 over that hash (nearcore `core/primitives/src/transaction.rs`). The schema is declared with
borsh-construct; decoding re-encodes and compares, so trailing or non-canonical bytes are rejected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import attr
import borsh_construct as bc
from borsh_construct.core import TUPLE_DATA
from construct import Bytes as FixedBytes
from construct import ConstructError

from localnet.chain.errors import MalformedTransaction
from localnet.chain.keys import SecretKey
from localnet.types import (
    AccessKey,
    Action,
    AddKey,
    CreateAccount,
    DeleteAccount,
    DeleteKey,
    DeployContract,
    FunctionCall,
    FunctionCallPermission,
    PublicKey,
    Stake,
    Transfer,
)

__all__ = [
    "Signature",
    "SignedTransaction",
    "Transaction",
    "decode_signed_transaction",
    "encode_transaction",
    "peek_action_count",
    "sign_transaction",
]



class _Enum(bc.Enum):
    """borsh-construct's Enum, encoding variant fields shallowly.

    borsh-construct 0.1.0 turns a variant into a dict with `attr.asdict(obj)`, which also turns enum values
    nested in its fields (AddKey's public key and permission, Stake's key) into plain dicts that the inner
    Enum then cannot encode. Encoding one level at a time lets every nested Enum see its own variant.
    """

    def _encode(self, obj: Any, context: Any, path: Any) -> dict[str, Any]:
        fields = attr.asdict(obj, recurse=False)
        value = fields.get(TUPLE_DATA, fields) if fields else None
        return {self._index_key: obj.index, self._value_key: value}


_PUBLIC_KEY = _Enum(
    "ED25519" / bc.CStruct("data" / FixedBytes(32)),
    "SECP256K1" / bc.CStruct("data" / FixedBytes(64)),
    enum_name="PublicKey",
)
_SIGNATURE = _Enum(
    "ED25519" / bc.CStruct("data" / FixedBytes(64)),
    "SECP256K1" / bc.CStruct("data" / FixedBytes(65)),
    enum_name="Signature",
)
_PERMISSION = _Enum(
    "FunctionCall"
    / bc.CStruct("allowance" / bc.Option(bc.U128), "receiver_id" / bc.String, "method_names" / bc.Vec(bc.String)),
    "FullAccess",
    enum_name="AccessKeyPermission",
)
_ACCESS_KEY = bc.CStruct("nonce" / bc.U64, "permission" / _PERMISSION)
_ACTION = _Enum(
    "CreateAccount",
    "DeployContract" / bc.CStruct("code" / bc.Bytes),
    "FunctionCall" / bc.CStruct("method_name" / bc.String, "args" / bc.Bytes, "gas" / bc.U64, "deposit" / bc.U128),
    "Transfer" / bc.CStruct("deposit" / bc.U128),
    "Stake" / bc.CStruct("stake" / bc.U128, "public_key" / _PUBLIC_KEY),
    "AddKey" / bc.CStruct("public_key" / _PUBLIC_KEY, "access_key" / _ACCESS_KEY),
    "DeleteKey" / bc.CStruct("public_key" / _PUBLIC_KEY),
    "DeleteAccount" / bc.CStruct("beneficiary_id" / bc.String),
    enum_name="Action",
)
_TRANSACTION = bc.CStruct(
    "signer_id" / bc.String,
    "public_key" / _PUBLIC_KEY,
    "nonce" / bc.U64,
    "receiver_id" / bc.String,
    "block_hash" / FixedBytes(32),
    "actions" / bc.Vec(_ACTION),
)
_SIGNED_TRANSACTION = bc.CStruct("transaction" / _TRANSACTION, "signature" / _SIGNATURE)
# Everything before the actions, then the actions' count: read before decoding the actions themselves.
_TRANSACTION_HEAD = bc.CStruct(
    "signer_id" / bc.String,
    "public_key" / _PUBLIC_KEY,
    "nonce" / bc.U64,
    "receiver_id" / bc.String,
    "block_hash" / FixedBytes(32),
    "action_count" / bc.U32,
)
_UNSUPPORTED_ACTION_TAGS = {8: "Delegate", 9: "DeployGlobalContract", 10: "UseGlobalContract"}


@dataclass(frozen=True)
class Signature:
    """key type tag (0 ed25519, 1 secp256k1) and raw signature bytes."""

    key_type: int
    data: bytes

    def __str__(self) -> str:
        import base58

        return ("ed25519:" if self.key_type == 0 else "secp256k1:") + base58.b58encode(self.data).decode()


@dataclass(frozen=True)
class Transaction:
    signer_id: str
    public_key: PublicKey
    nonce: int
    receiver_id: str
    block_hash: bytes
    actions: tuple[Action, ...]

    def to_borsh(self) -> bytes:
        return encode_transaction(self)

    def hash(self) -> bytes:
        """sha256 of the borsh-encoded transaction: the tx hash and the signed message (computed once; the chain
        asks for it several times per transaction and the borsh encoding is costly)."""
        cached: bytes | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hashlib.sha256(self.to_borsh()).digest()
            self.__dict__["_hash"] = cached  # a memo beside the frozen fields (not part of eq/repr)
        return cached


@dataclass(frozen=True)
class SignedTransaction:
    transaction: Transaction
    signature: Signature
    raw: bytes  # the exact wire bytes

    @property
    def hash(self) -> bytes:
        return self.transaction.hash()

    @property
    def size(self) -> int:
        return len(self.raw)


# ---- encoding --------------------------------------------------------------------------------


def _pk_value(pk: PublicKey) -> Any:
    variant = _PUBLIC_KEY.enum.ED25519 if pk.key_type == 0 else _PUBLIC_KEY.enum.SECP256K1
    return variant(data=pk.data)


def _action_value(action: Action) -> Any:
    e = _ACTION.enum
    if isinstance(action, CreateAccount):
        return e.CreateAccount()
    if isinstance(action, DeployContract):
        return e.DeployContract(code=action.code)
    if isinstance(action, FunctionCall):
        return e.FunctionCall(method_name=action.method_name, args=action.args, gas=action.gas, deposit=action.deposit)
    if isinstance(action, Transfer):
        return e.Transfer(deposit=action.deposit)
    if isinstance(action, Stake):
        return e.Stake(stake=action.stake, public_key=_pk_value(action.public_key))
    if isinstance(action, AddKey):
        perm = action.access_key.permission
        permission = (
            _PERMISSION.enum.FullAccess()
            if perm is None
            else _PERMISSION.enum.FunctionCall(
                allowance=perm.allowance, receiver_id=perm.receiver_id, method_names=list(perm.method_names)
            )
        )
        return e.AddKey(
            public_key=_pk_value(action.public_key),
            access_key={"nonce": action.access_key.nonce, "permission": permission},
        )
    if isinstance(action, DeleteKey):
        return e.DeleteKey(public_key=_pk_value(action.public_key))
    if isinstance(action, DeleteAccount):
        return e.DeleteAccount(beneficiary_id=action.beneficiary_id)
    raise TypeError(f"not an action: {action!r}")


def encode_transaction(tx: Transaction) -> bytes:
    """borsh(Transaction) — the bytes whose sha256 is the tx hash."""
    return bytes(
        _TRANSACTION.build(
            {
                "signer_id": tx.signer_id,
                "public_key": _pk_value(tx.public_key),
                "nonce": tx.nonce,
                "receiver_id": tx.receiver_id,
                "block_hash": tx.block_hash,
                "actions": [_action_value(a) for a in tx.actions],
            }
        )
    )


def sign_transaction(
    signer_id: str,
    secret_key: SecretKey | bytes,
    public_key: PublicKey | None,
    nonce: int,
    receiver_id: str,
    block_hash: bytes,
    actions: Sequence[Action],
) -> bytes:
    """Build and sign a TransactionV0; returns the borsh SignedTransaction bytes (base64 them for RPC).

    `secret_key` is a `SecretKey` or raw 32/64-byte ed25519 key; `public_key` defaults to its own.
    """
    key = secret_key if isinstance(secret_key, SecretKey) else SecretKey.from_bytes(secret_key)
    tx = Transaction(signer_id, public_key or key.public_key, nonce, receiver_id, bytes(block_hash), tuple(actions))
    body = encode_transaction(tx)
    signature = key.sign(hashlib.sha256(body).digest())
    return body + b"\x00" + signature


# ---- decoding --------------------------------------------------------------------------------


def _pk_from(value: Any) -> PublicKey:
    return PublicKey(int(value.index), bytes(value.data))


def _action_from(value: Any) -> Action:
    name = type(value).__name__
    if name == "CreateAccount":
        return CreateAccount()
    if name == "DeployContract":
        return DeployContract(bytes(value.code))
    if name == "FunctionCall":
        return FunctionCall(value.method_name, bytes(value.args), int(value.gas), int(value.deposit))
    if name == "Transfer":
        return Transfer(int(value.deposit))
    if name == "Stake":
        return Stake(int(value.stake), _pk_from(value.public_key))
    if name == "AddKey":
        perm = value.access_key.permission
        permission = (
            None
            if type(perm).__name__ == "FullAccess"
            else FunctionCallPermission(
                None if perm.allowance is None else int(perm.allowance), perm.receiver_id, tuple(perm.method_names)
            )
        )
        return AddKey(_pk_from(value.public_key), AccessKey(int(value.access_key.nonce), permission))
    if name == "DeleteKey":
        return DeleteKey(_pk_from(value.public_key))
    if name == "DeleteAccount":
        return DeleteAccount(value.beneficiary_id)
    raise MalformedTransaction(f"Failed to decode transaction: unsupported action {name}")


def peek_action_count(raw: bytes) -> int | None:
    """The number of actions a TransactionV0's bytes announce, read from its head alone (None if the head does
    not decode; `decode_signed_transaction` then reports why). Cheap, whatever the size of the actions."""
    try:
        return int(_TRANSACTION_HEAD.parse(bytes(raw)).action_count)
    except (ConstructError, UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError):
        return None


def decode_signed_transaction(raw: bytes) -> SignedTransaction:
    """Decode borsh SignedTransaction bytes; raises MalformedTransaction for anything else (incl. V1)."""
    raw = bytes(raw)
    if len(raw) >= 2 and raw[0] == 1 and raw[1] != 0:
        raise MalformedTransaction(
            "Failed to decode transaction: TransactionV1 (version byte 1) is not supported by the embedded localnet; "
            "send a TransactionV0"
        )
    try:
        parsed = _SIGNED_TRANSACTION.parse(raw)
        tx_value = parsed.transaction
        tx = Transaction(
            signer_id=tx_value.signer_id,
            public_key=_pk_from(tx_value.public_key),
            nonce=int(tx_value.nonce),
            receiver_id=tx_value.receiver_id,
            block_hash=bytes(tx_value.block_hash),
            actions=tuple(_action_from(a) for a in tx_value.actions),
        )
        signature = Signature(int(parsed.signature.index), bytes(parsed.signature.data))
    except MalformedTransaction:
        raise
    except (ConstructError, UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise MalformedTransaction(f"Failed to decode transaction: {_describe(raw, exc)}") from exc
    body = encode_transaction(tx)
    expected = body + bytes([signature.key_type]) + signature.data
    if expected != raw:
        raise MalformedTransaction(
            f"Failed to decode transaction: {len(raw) - len(expected)} unexpected trailing bytes"
            if raw.startswith(expected)
            else "Failed to decode transaction: non-canonical encoding"
        )
    return SignedTransaction(tx, signature, raw)


def _describe(raw: bytes, exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for tag, name in _UNSUPPORTED_ACTION_TAGS.items():
        if f"{tag}" in text and "Action" in text:
            return f"action {name} is not supported"
    return text
