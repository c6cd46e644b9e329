"""Byte encodings of the protocol outputs a node stores (key shares, triples, presignatures).

The encodings are only ever written into the encrypted `AssetStore`; they hold secrets. Every decoder checks the
group and the trailing bytes, so a corrupted (but authenticated) row fails loudly instead of producing a bad share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mpc_service.errors import MpcError
from mpc_service.protocol import (
    SECP256K1,
    KeygenOutput,
    ParticipantId,
    Presignature,
    ProtocolError,
    PublicKeyPackage,
    Triple,
    TriplePublic,
)
from mpc_service.protocol.groups import group_by_name
from mpc_service.protocol.presign import PresignatureSecrets
from mpc_service.protocol.secret import SecretScalar, SingleUse
from mpc_service.protocol.triples import TripleSecrets
from mpc_service.protocol.wire import Reader, Writer

T = TypeVar("T")

__all__ = [
    "CodecError",
    "decode_keygen",
    "decode_presignature",
    "decode_public_package",
    "decode_triple",
    "encode_keygen",
    "encode_presignature",
    "encode_public_package",
    "encode_triple",
]

class CodecError(MpcError, ValueError):
    """Stored bytes that do not decode (corrupted row, wrong kind)."""


def _decoding(fn: Callable[[bytes], T]) -> Callable[[bytes], T]:
    def wrapper(data: bytes) -> T:
        try:
            return fn(data)
        except ProtocolError as exc:
            raise CodecError(f"{fn.__name__}: {exc}") from None

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _ids(w: Writer, ids: tuple[ParticipantId, ...]) -> None:
    w.u32(len(ids))
    for p in ids:
        w.u32(p)


def _read_ids(r: Reader) -> tuple[ParticipantId, ...]:
    return tuple(ParticipantId(r.u32()) for _ in range(r.u32()))


def encode_keygen(out: KeygenOutput) -> bytes:
    w = Writer().blob(out.group.name.encode()).u32(out.me).scalar(out.group, out.private_share.expose())
    w.point(out.public_key)
    _ids(w, out.participants)
    w.u32(out.threshold).points(out.verification_commitments)
    return w.finish()


@_decoding
def decode_keygen(data: bytes) -> KeygenOutput:
    r = Reader(data, None)
    group = group_by_name(r.blob(32).decode())
    me = ParticipantId(r.u32())
    share = SecretScalar(r.scalar(group))
    public = r.point(group)
    participants = _read_ids(r)
    threshold = r.u32()
    commitments = r.points(group)
    r.finish()
    return KeygenOutput(group, me, share, public, participants, threshold, commitments)


def encode_triple(triple: Triple) -> bytes:
    """Encodes and *consumes* the triple's secrets (a stored triple must not also stay usable in memory)."""
    g = SECP256K1
    pub = triple.public
    w = Writer().u32(triple.me)
    _ids(w, pub.participants)
    w.u32(pub.threshold).points(pub.a_commitments).points(pub.b_commitments).points(pub.c_commitments)
    sec = triple.take()
    w.scalar(g, sec.a).scalar(g, sec.b).scalar(g, sec.c)
    return w.finish()


@_decoding
def decode_triple(data: bytes) -> Triple:
    g = SECP256K1
    r = Reader(data, None)
    me = ParticipantId(r.u32())
    participants = _read_ids(r)
    threshold = r.u32()
    pub = TriplePublic(participants, threshold, r.points(g), r.points(g), r.points(g))
    sec = TripleSecrets(r.scalar(g), r.scalar(g), r.scalar(g))
    r.finish()
    return Triple(me, pub, SingleUse(sec, "triple"))


def encode_presignature(p: Presignature) -> bytes:
    """Encodes and *consumes* the presignature's secrets."""
    g = SECP256K1
    w = Writer().u32(p.me)
    _ids(w, p.participants)
    w.u32(p.threshold).point(p.big_r).point(p.public_key).points(p.k_commitments)
    alpha, beta, x_c, a_c, c_c = p.sigma_parts
    w.scalar(g, alpha).scalar(g, beta).points(x_c).points(a_c).points(c_c)
    sec = p.take()
    w.scalar(g, sec.k).scalar(g, sec.sigma)
    return w.finish()


@_decoding
def decode_presignature(data: bytes) -> Presignature:
    g = SECP256K1
    r = Reader(data, None)
    me = ParticipantId(r.u32())
    participants = _read_ids(r)
    threshold = r.u32()
    big_r = r.point(g)
    public_key = r.point(g)
    k_c = r.points(g)
    alpha, beta = r.scalar(g), r.scalar(g)
    x_c, a_c, c_c = r.points(g), r.points(g), r.points(g)
    sec = PresignatureSecrets(r.scalar(g), r.scalar(g))
    r.finish()
    return Presignature(me, participants, threshold, big_r, public_key, k_c, (alpha, beta, x_c, a_c, c_c),
                        SingleUse(sec, "presignature"))


def encode_public_package(package: PublicKeyPackage) -> bytes:
    return package.encode()


@_decoding
def decode_public_package(data: bytes) -> PublicKeyPackage:
    """The inverse of `PublicKeyPackage.encode` (what a dealer sends a joiner before a resharing)."""
    r = Reader(data, None)
    group = group_by_name(r.blob(32).decode())
    public = r.point(group)
    threshold = r.u32()
    participants = tuple(ParticipantId(r.u32()) for _ in range(r.u32()))
    commitments = r.points(group)
    r.finish()
    if len(commitments) != threshold or not commitments or commitments[0] != public:
        raise CodecError("public key package: commitments do not match the key and threshold")
    return PublicKeyPackage(group, public, participants, threshold, commitments)
