"""Control messages between nodes: a leader asks the participants of one protocol instance to start it.

Each message is a frozen record with a strict decoder: an unknown kind, a missing or extra field, a wrong type or an
out-of-range number raises `ControlMessageError` (the sender is named by the caller). On the wire a message is one
JSON object `{"kind": …, <fields>}` on the mesh's control channel.

    TriplesRequest    owner-led triple generation with every listed participant
    PresignRequest    presignature for one domain's key from two of the owner's triples
    EcdsaSignRequest  one signature share for one request instance, from one presignature
    FrostSignRequest  a FROST signing session for one request instance
    CkdRequest        a confidential key derivation session for one CKD request instance
    ResharePackage    a dealer gives joiners the current key's public package before a resharing attempt
    HeightReport      the sender's indexer height and epoch (sent every second; liveness needs the height within 10
                      blocks of ours and the same epoch)

What a follower must check before it takes any asset is in `mpc_service.checks`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from mpc_service.errors import MpcError
from mpc_service.jsonsafe import loads_bounded
from mpc_service.types import DomainId, ParticipantId, RequestId

__all__ = ["CkdRequest", "ControlMessage", "ControlMessageError", "EcdsaSignRequest", "FrostSignRequest", "HeightReport",
           "PresignRequest", "ResharePackage", "TriplesRequest", "decode_control", "encode_control"]

MAX_PARTICIPANTS = 256
MAX_ID_CHARS = 128
MAX_TRIPLE_BATCH = 64


class ControlMessageError(MpcError, ValueError):
    """A control message that does not have the documented shape."""


def _int(obj: dict[str, Any], name: str, low: int, high: int) -> int:
    value = obj.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ControlMessageError(f"{name}: expected an integer in [{low}, {high}]")
    return value


def _text(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_CHARS or not value.isprintable():
        raise ControlMessageError(f"{name}: expected a printable string of 1..{MAX_ID_CHARS} characters")
    return value


def _participants(obj: dict[str, Any]) -> tuple[ParticipantId, ...]:
    value = obj.get("participants")
    if (not isinstance(value, list) or not 0 < len(value) <= MAX_PARTICIPANTS
            or not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p < 2**32 for p in value)
            or value != sorted(set(value))):
        raise ControlMessageError("participants: expected a sorted list of distinct u32 ids")
    return tuple(ParticipantId(p) for p in value)


def _request_id(obj: dict[str, Any], name: str) -> RequestId:
    value = obj.get(name)
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ControlMessageError(f"{name}: expected 32 bytes as hex")
    return RequestId(raw)


@dataclass(frozen=True)
class TriplesRequest:
    kind: ClassVar[str] = "triples"
    batch: str
    participants: tuple[ParticipantId, ...]
    count: int

    def fields(self) -> dict[str, Any]:
        return {"batch": self.batch, "participants": list(self.participants), "count": self.count}

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> TriplesRequest:
        return cls(_text(obj, "batch"), _participants(obj), _int(obj, "count", 1, MAX_TRIPLE_BATCH))


@dataclass(frozen=True)
class PresignRequest:
    kind: ClassVar[str] = "presign"
    presignature: str
    domain_id: DomainId
    participants: tuple[ParticipantId, ...]
    triples: tuple[str, str]

    def fields(self) -> dict[str, Any]:
        return {"presignature": self.presignature, "domain_id": self.domain_id,
                "participants": list(self.participants), "triples": list(self.triples)}

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> PresignRequest:
        triples = obj.get("triples")
        if not isinstance(triples, list) or len(triples) != 2:
            raise ControlMessageError("triples: expected two triple ids")
        t0, t1 = (_text({"t": t}, "t") for t in triples)
        if t0 == t1:
            raise ControlMessageError("triples: the two triples must differ")
        return cls(_text(obj, "presignature"), DomainId(_int(obj, "domain_id", 0, 2**32 - 1)), _participants(obj),
                   (t0, t1))


@dataclass(frozen=True)
class EcdsaSignRequest:
    kind: ClassVar[str] = "sign"
    request_id: RequestId  # content id: which request, checked against the follower's own indexed copy
    instance_id: RequestId  # which on-chain instance (its block gives the entropy)
    domain_id: DomainId
    presignature: str
    participants: tuple[ParticipantId, ...]

    def fields(self) -> dict[str, Any]:
        return {"request_id": self.request_id.hex(), "instance_id": self.instance_id.hex(),
                "domain_id": self.domain_id, "presignature": self.presignature,
                "participants": list(self.participants)}

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> EcdsaSignRequest:
        return cls(_request_id(obj, "request_id"), _request_id(obj, "instance_id"),
                   DomainId(_int(obj, "domain_id", 0, 2**32 - 1)), _text(obj, "presignature"), _participants(obj))


@dataclass(frozen=True)
class _SessionTask:
    """A task for one request instance in a session the leader opens (what FROST signing and CKD share)."""

    request_id: RequestId
    instance_id: RequestId
    domain_id: DomainId
    participants: tuple[ParticipantId, ...]
    session: str  # makes the channel unique per attempt

    def fields(self) -> dict[str, Any]:
        return {"request_id": self.request_id.hex(), "instance_id": self.instance_id.hex(),
                "domain_id": self.domain_id, "participants": list(self.participants), "session": self.session}

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> Self:
        return cls(_request_id(obj, "request_id"), _request_id(obj, "instance_id"),
                   DomainId(_int(obj, "domain_id", 0, 2**32 - 1)), _participants(obj), _text(obj, "session"))


@dataclass(frozen=True)
class FrostSignRequest(_SessionTask):
    kind: ClassVar[str] = "frost"


@dataclass(frozen=True)
class CkdRequest(_SessionTask):
    kind: ClassVar[str] = "ckd"


@dataclass(frozen=True)
class HeightReport:
    kind: ClassVar[str] = "height"
    height: int
    epoch: int  # the epoch whose shares the sender uses (-1 before it read the contract)

    def fields(self) -> dict[str, Any]:
        return {"height": self.height, "epoch": self.epoch}

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> HeightReport:
        return cls(_int(obj, "height", -1, 2**63 - 1), _int(obj, "epoch", -1, 2**63 - 1))


@dataclass(frozen=True)
class ResharePackage:
    kind: ClassVar[str] = "reshare_key"
    session: str  # the key event attempt it is for
    package: bytes  # codec.encode_public_package of the current key (checked by the protocol's echo round)

    def fields(self) -> dict[str, Any]:
        return {"session": self.session, "package": self.package.hex()}

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> ResharePackage:
        value = obj.get("package")
        try:
            raw = bytes.fromhex(value) if isinstance(value, str) and len(value) <= 65536 else b""
        except ValueError:
            raw = b""
        if not raw:
            raise ControlMessageError("package: expected hex of at most 32 KiB")
        return cls(_text(obj, "session"), raw)


ControlMessage = (TriplesRequest | PresignRequest | EcdsaSignRequest | FrostSignRequest | CkdRequest | HeightReport
                  | ResharePackage)
_KINDS: dict[str, Any] = {c.kind: c for c in (TriplesRequest, PresignRequest, EcdsaSignRequest, FrostSignRequest,
                                               CkdRequest, HeightReport, ResharePackage)}
_EXPECTED_KEYS = {"triples": {"batch", "participants", "count"},
                  "presign": {"presignature", "domain_id", "participants", "triples"},
                  "sign": {"request_id", "instance_id", "domain_id", "presignature", "participants"},
                  "frost": {"request_id", "instance_id", "domain_id", "participants", "session"},
                  "ckd": {"request_id", "instance_id", "domain_id", "participants", "session"},
                  "height": {"height", "epoch"}, "reshare_key": {"session", "package"}}


def encode_control(message: ControlMessage) -> bytes:
    return json.dumps({"kind": message.kind, **message.fields()}, separators=(",", ":")).encode()


MAX_CONTROL_BYTES = 128 * 1024
MAX_NESTING = 4  # the deepest documented message is an object holding a list


def decode_control(data: bytes) -> ControlMessage:
    """Parse one control message; raises `ControlMessageError` on anything but the documented shape."""
    try:
        obj = loads_bounded(data, max_bytes=MAX_CONTROL_BYTES, max_depth=MAX_NESTING)
    except ValueError as exc:
        raise ControlMessageError(str(exc)) from None
    if not isinstance(obj, dict):
        raise ControlMessageError("expected a JSON object")
    kind = obj.pop("kind", None)
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ControlMessageError(f"unknown kind {kind!r}"[:100])
    if set(obj) != _EXPECTED_KEYS[kind]:
        raise ControlMessageError(f"{kind}: fields must be exactly {sorted(_EXPECTED_KEYS[kind])}")
    message: ControlMessage = _KINDS[kind].parse(obj)
    return message
