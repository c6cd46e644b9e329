"""The signer contract's NEP-297 events, parsed into frozen records for the request queue.

A log line `EVENT_JSON:{"standard":"chainsig","version":"1.0.0","event":E,"data":[item…]}` with E one of
`sign_request`, `sign_response`, `sign_timeout`. Each item carries `request` — the object `respond` takes:
`{"tweak": hex or [32 ints], "payload": {"Ecdsa": hex} | {"Eddsa": hex}, "domain_id": n}` — plus the
`caller` (predecessor; `predecessor_id` is accepted too) and the yield `data_id`.

The request id is SHA-256 over a canonical encoding of (domain_id, tweak, payload kind, payload): every node
computes the same id from the same event, and duplicate requests (which the contract fans out to one
response) share one id, so they are signed once.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from chainsig.types import PayloadScheme
from mpc_service.errors import MpcError
from mpc_service.types import DomainId, RequestId

__all__ = ["EVENT_PREFIX", "ContractEventError", "PendingCkdRequest", "PendingRequest", "PendingSignRequest", "SignCompletion", "ckd_request_id_of", "parse_event_log", "request_id_of"]

EVENT_PREFIX = "EVENT_JSON:"
STANDARD = "chainsig"


class ContractEventError(MpcError, ValueError):
    """An EVENT_JSON log of our standard that does not have the documented shape."""


def request_id_of(domain_id: int, tweak: bytes, kind: PayloadScheme | str, payload: bytes) -> RequestId:
    """SHA-256(u32_le(domain) ‖ tweak ‖ u8 kind ‖ u32_le(len) ‖ payload): the queue's and the leader order's id."""
    tag = 0 if PayloadScheme(kind) is PayloadScheme.ECDSA else 1
    body = struct.pack("<I", domain_id) + tweak + bytes([tag]) + struct.pack("<I", len(payload)) + payload
    return RequestId(hashlib.sha256(body).digest())


def instance_id_of(request_id: RequestId, data_id: str) -> RequestId:
    """The id of one on-chain request instance: SHA-256 over the content id and the receipt (or data) id."""
    return RequestId(hashlib.sha256(b"instance|" + request_id + data_id.encode()).digest())


@dataclass(frozen=True)
class PendingSignRequest:
    """A pending sign request seen on chain, with the entropy of the block it appeared in.

    `request_id` identifies the *content* (what the contract matches a `respond` against); `data_id` identifies the
    on-chain *instance* (the `sign` receipt's id from the indexer, the yield data id from events). The same content
    asked again after it was answered is a new instance that must be served again: see `instance_id`."""

    respond_method: ClassVar[str] = "respond"
    pending_view: ClassVar[str] = "get_pending_request"

    request_id: RequestId
    domain_id: DomainId
    tweak: bytes
    payload_kind: PayloadScheme
    payload: bytes
    caller: str
    data_id: str
    block_height: int
    block_hash: str
    entropy: bytes = field(repr=False)  # the block's random_value (32 bytes)

    @property
    def instance_id(self) -> RequestId:
        return instance_id_of(self.request_id, self.data_id)

    def respond_request(self) -> dict[str, Any]:
        """The `request` argument of the contract's `respond`."""
        return {"tweak": self.tweak.hex(), "payload": {self.payload_kind.value: self.payload.hex()}, "domain_id": self.domain_id}


def ckd_request_id_of(domain_id: int, app_id: bytes, pk1: bytes, pk2: bytes | None) -> RequestId:
    """SHA-256("ckd" ‖ u32_le(domain) ‖ app_id ‖ pk1 ‖ pk2): a CKD request's content id (never a sign request's)."""
    body = b"ckd" + struct.pack("<I", domain_id) + app_id + pk1 + (pk2 or b"")
    return RequestId(hashlib.sha256(body).digest())


@dataclass(frozen=True)
class PendingCkdRequest:
    """A pending `request_app_private_key` seen on chain (confidential key derivation, docs/ckd.md).

    `app_id` is derived from the caller and path as the contract does; `pk1` (G1) is the requester's one-time key the
    output is encrypted to, `pk2` (G2, optional) lets anyone check the output. `app_public_key` is the request's JSON
    as given (what the contract matches `respond_ckd` against)."""

    respond_method: ClassVar[str] = "respond_ckd"
    pending_view: ClassVar[str] = "get_pending_ckd_request"

    request_id: RequestId
    domain_id: DomainId
    app_id: bytes
    pk1: bytes
    pk2: bytes | None
    app_public_key: str  # canonical JSON of the request's app_public_key
    caller: str
    data_id: str
    block_height: int
    block_hash: str
    entropy: bytes = field(repr=False)

    @property
    def instance_id(self) -> RequestId:
        return instance_id_of(self.request_id, self.data_id)

    def respond_request(self) -> dict[str, Any]:
        """The `request` argument of `respond_ckd` and `get_pending_ckd_request`."""
        return {"app_public_key": json.loads(self.app_public_key), "app_id": self.app_id.hex(),
                "domain_id": self.domain_id}


PendingRequest = PendingSignRequest | PendingCkdRequest


@dataclass(frozen=True)
class SignCompletion:
    """A request left the contract: answered (`response`) or timed out (`timeout`)."""

    request_id: RequestId
    outcome: Literal["response", "timeout"]
    block_height: int


def _bytes_field(value: Any, name: str, size: int | None = None) -> bytes:
    if isinstance(value, str):
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise ContractEventError(f"{name}: not hex") from None
    elif isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        raw = bytes(value)
    else:
        raise ContractEventError(f"{name}: expected hex string or byte array")
    if size is not None and len(raw) != size:
        raise ContractEventError(f"{name}: expected {size} bytes, got {len(raw)}")
    return raw


def _parse_request(item: Any) -> tuple[DomainId, bytes, PayloadScheme, bytes]:
    if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
        raise ContractEventError("event item lacks a 'request' object")
    req = item["request"]
    domain = req.get("domain_id")
    if not isinstance(domain, int) or isinstance(domain, bool) or not 0 <= domain < 2**32:
        raise ContractEventError("request.domain_id: expected u32")
    tweak = _bytes_field(req.get("tweak"), "request.tweak", 32)
    payload_obj = req.get("payload")
    if not isinstance(payload_obj, dict) or len(payload_obj) != 1:
        raise ContractEventError("request.payload: expected {'Ecdsa': hex} or {'Eddsa': hex}")
    ((kind, payload_value),) = payload_obj.items()
    if kind not in ("Ecdsa", "Eddsa"):
        raise ContractEventError(f"request.payload: unknown kind {kind!r}")
    payload = _bytes_field(payload_value, "request.payload", 32 if kind == "Ecdsa" else None)
    return DomainId(domain), tweak, PayloadScheme(kind), payload


def parse_event_log(
    log: str, *, block_height: int, block_hash: str, entropy: bytes
) -> list[PendingSignRequest | SignCompletion]:
    """Records from one log line; [] for logs that are not our events. Raises `ContractEventError` on a malformed one."""
    if not log.startswith(EVENT_PREFIX):
        return []
    try:
        event = json.loads(log[len(EVENT_PREFIX):])
    except json.JSONDecodeError:
        raise ContractEventError("EVENT_JSON log is not JSON") from None
    if not isinstance(event, dict) or event.get("standard") != STANDARD:
        return []
    name = event.get("event")
    if name not in ("sign_request", "sign_response", "sign_timeout"):
        return []  # other chainsig events (governance, ckd_*) are not this parser's business
    data = event.get("data")
    if not isinstance(data, list):
        raise ContractEventError(f"{name}: 'data' must be a list")
    out: list[PendingSignRequest | SignCompletion] = []
    for item in data:
        domain, tweak, kind, payload = _parse_request(item)
        rid = request_id_of(domain, tweak, kind, payload)
        if name == "sign_request":
            caller = item.get("caller", item.get("predecessor_id"))
            data_id = item.get("data_id", item.get("yield_data_id", ""))
            if not isinstance(caller, str) or not caller:
                raise ContractEventError("sign_request: missing 'caller'")
            if not isinstance(data_id, str):
                raise ContractEventError("sign_request: 'data_id' must be a string")
            out.append(PendingSignRequest(rid, domain, tweak, kind, payload, caller, data_id, block_height, block_hash, entropy))
        elif name == "sign_response":
            out.append(SignCompletion(rid, "response", block_height))
        else:
            out.append(SignCompletion(rid, "timeout", block_height))
    return out
