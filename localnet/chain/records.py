"""Chain records (accounts, receipts) and their JSON forms.

Two JSON forms exist for actions: the nearcore RPC view (`ActionView`: DeployContract shows the code
hash, FunctionCall args in base64) and the storage form (full code, plus `gas_weight`). Amounts are
decimal strings in both, as nearcore serialises u128.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import base58

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

JSON = dict[str, Any]
EMPTY_CODE_HASH = bytes(32)
SYSTEM_ACCOUNT = "system"


_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_PAIRS = [a + b for a in _B58_ALPHABET for b in _B58_ALPHABET]  # two digits per divmod


def b58(raw: bytes) -> str:
    """Base58 (Bitcoin alphabet), as `base58.b58encode(raw).decode()`: the chain encodes every hash it records, the
    same ones many times (block and receipt hashes), and the library's digit-by-digit loop was a hot spot."""
    return _b58_cached(bytes(raw))


@functools.lru_cache(maxsize=16384)
def _b58_cached(raw: bytes) -> str:
    value = int.from_bytes(raw, "big")
    pairs = []
    while value:
        value, pair = divmod(value, 3364)
        pairs.append(_B58_PAIRS[pair])
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + "".join(reversed(pairs)).lstrip("1")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


@dataclass(frozen=True)
class Account:
    """nearcore's Account (V1 fields): balances in yocto, code hash (zeros = no code), storage bytes."""

    amount: int
    locked: int = 0
    code_hash: bytes = EMPTY_CODE_HASH
    storage_usage: int = 0

    def with_(self, **changes: Any) -> Account:
        return replace(self, **changes)

    def view(self) -> JSON:
        return {
            "amount": str(self.amount),
            "locked": str(self.locked),
            "code_hash": b58(self.code_hash),
            "storage_usage": self.storage_usage,
            "storage_paid_at": 0,
        }

    def to_json(self) -> JSON:
        return self.view()

    @classmethod
    def from_json(cls, data: JSON) -> Account:
        return cls(
            int(data["amount"]),
            int(data.get("locked", 0)),
            base58.b58decode(data.get("code_hash", b58(EMPTY_CODE_HASH))),
            int(data.get("storage_usage", 0)),
        )


def code_hash_of(code: bytes) -> bytes:
    return hashlib.sha256(code).digest()


# ---- access keys -----------------------------------------------------------------------------


def access_key_view(key: AccessKey) -> JSON:
    perm = key.permission
    permission: Any = (
        "FullAccess"
        if perm is None
        else {
            "FunctionCall": {
                "allowance": None if perm.allowance is None else str(perm.allowance),
                "receiver_id": perm.receiver_id,
                "method_names": list(perm.method_names),
            }
        }
    )
    return {"nonce": key.nonce, "permission": permission}


def access_key_from_json(data: JSON) -> AccessKey:
    permission = data["permission"]
    if permission == "FullAccess":
        return AccessKey(int(data.get("nonce", 0)), None)
    fc = permission["FunctionCall"]
    allowance = fc.get("allowance")
    return AccessKey(
        int(data.get("nonce", 0)),
        FunctionCallPermission(
            None if allowance is None else int(allowance), fc["receiver_id"], tuple(fc.get("method_names", []))
        ),
    )


def access_key_storage_bytes(public_key: PublicKey, key: AccessKey) -> int:
    """Bytes an access key occupies in state: borsh(pk) + borsh(access key) (nearcore adds 40 per record)."""
    perm = key.permission
    size = 8 + 1  # nonce + permission tag
    if perm is not None:
        size += 1 + (16 if perm.allowance is not None else 0)
        size += 4 + len(perm.receiver_id.encode())
        size += 4 + sum(4 + len(m.encode()) for m in perm.method_names)
    return len(public_key.to_borsh()) + size


# ---- actions ---------------------------------------------------------------------------------


def action_to_json(action: Action, *, for_view: bool = True) -> Any:
    """nearcore's ActionView JSON; with for_view=False the lossless storage form."""
    if isinstance(action, CreateAccount):
        return "CreateAccount"
    if isinstance(action, DeployContract):
        return {"DeployContract": {"code": b64(code_hash_of(action.code) if for_view else action.code)}}
    if isinstance(action, FunctionCall):
        body: JSON = {
            "method_name": action.method_name,
            "args": b64(action.args),
            "gas": action.gas,
            "deposit": str(action.deposit),
        }
        if not for_view:
            body["gas_weight"] = action.gas_weight
        return {"FunctionCall": body}
    if isinstance(action, Transfer):
        return {"Transfer": {"deposit": str(action.deposit)}}
    if isinstance(action, Stake):
        return {"Stake": {"stake": str(action.stake), "public_key": str(action.public_key)}}
    if isinstance(action, AddKey):
        return {"AddKey": {"public_key": str(action.public_key), "access_key": access_key_view(action.access_key)}}
    if isinstance(action, DeleteKey):
        return {"DeleteKey": {"public_key": str(action.public_key)}}
    if isinstance(action, DeleteAccount):
        return {"DeleteAccount": {"beneficiary_id": action.beneficiary_id}}
    raise TypeError(f"not an action: {action!r}")


def action_from_json(data: Any) -> Action:
    """Inverse of action_to_json(for_view=False)."""
    if data == "CreateAccount":
        return CreateAccount()
    ((name, body),) = data.items()
    if name == "DeployContract":
        return DeployContract(unb64(body["code"]))
    if name == "FunctionCall":
        return FunctionCall(
            body["method_name"],
            unb64(body["args"]),
            int(body["gas"]),
            int(body["deposit"]),
            int(body.get("gas_weight", 0)),
        )
    if name == "Transfer":
        return Transfer(int(body["deposit"]))
    if name == "Stake":
        return Stake(int(body["stake"]), PublicKey.from_string(body["public_key"]))
    if name == "AddKey":
        return AddKey(PublicKey.from_string(body["public_key"]), access_key_from_json(body["access_key"]))
    if name == "DeleteKey":
        return DeleteKey(PublicKey.from_string(body["public_key"]))
    if name == "DeleteAccount":
        return DeleteAccount(body["beneficiary_id"])
    raise ValueError(f"unknown action {name}")


# ---- receipts --------------------------------------------------------------------------------


@dataclass
class ActionReceipt:
    """An action receipt (nearcore's Receipt + ActionReceipt); `is_promise_yield` marks a yield callback."""

    receipt_id: bytes
    predecessor_id: str
    receiver_id: str
    signer_id: str
    signer_public_key: PublicKey
    gas_price: int
    actions: list[Action]
    input_data_ids: list[bytes] = field(default_factory=list)
    output_data_receivers: list[tuple[bytes, str]] = field(default_factory=list)
    is_promise_yield: bool = False

    def view(self, *, for_view: bool = True) -> JSON:
        return {
            "predecessor_id": self.predecessor_id,
            "receiver_id": self.receiver_id,
            "receipt_id": b58(self.receipt_id),
            "receipt": {
                "Action": {
                    "signer_id": self.signer_id,
                    "signer_public_key": str(self.signer_public_key),
                    "gas_price": str(self.gas_price),
                    "output_data_receivers": [
                        {"data_id": b58(d), "receiver_id": r} for d, r in self.output_data_receivers
                    ],
                    "input_data_ids": [b58(d) for d in self.input_data_ids],
                    "actions": [action_to_json(a, for_view=for_view) for a in self.actions],
                    "is_promise_yield": self.is_promise_yield,
                }
            },
            "priority": 0,
        }


@dataclass
class DataReceipt:
    """A data receipt; `data` None means the producing receipt failed (or a yield timed out)."""

    receipt_id: bytes
    predecessor_id: str
    receiver_id: str
    data_id: bytes
    data: bytes | None
    is_promise_resume: bool = False

    def view(self, *, for_view: bool = True) -> JSON:
        return {
            "predecessor_id": self.predecessor_id,
            "receiver_id": self.receiver_id,
            "receipt_id": b58(self.receipt_id),
            "receipt": {
                "Data": {
                    "data_id": b58(self.data_id),
                    "data": None if self.data is None else b64(self.data),
                    "is_promise_resume": self.is_promise_resume,
                }
            },
            "priority": 0,
        }


Receipt = ActionReceipt | DataReceipt


def receipt_from_json(data: JSON) -> Receipt:
    """Inverse of `receipt.view(for_view=False)`."""
    body = data["receipt"]
    rid = base58.b58decode(data["receipt_id"])
    if "Action" in body:
        a = body["Action"]
        return ActionReceipt(
            receipt_id=rid,
            predecessor_id=data["predecessor_id"],
            receiver_id=data["receiver_id"],
            signer_id=a["signer_id"],
            signer_public_key=PublicKey.from_string(a["signer_public_key"]),
            gas_price=int(a["gas_price"]),
            actions=[action_from_json(x) for x in a["actions"]],
            input_data_ids=[base58.b58decode(d) for d in a["input_data_ids"]],
            output_data_receivers=[
                (base58.b58decode(o["data_id"]), o["receiver_id"]) for o in a["output_data_receivers"]
            ],
            is_promise_yield=bool(a.get("is_promise_yield", False)),
        )
    d = body["Data"]
    return DataReceipt(
        receipt_id=rid,
        predecessor_id=data["predecessor_id"],
        receiver_id=data["receiver_id"],
        data_id=base58.b58decode(d["data_id"]),
        data=None if d["data"] is None else unb64(d["data"]),
        is_promise_resume=bool(d.get("is_promise_resume", False)),
    )
