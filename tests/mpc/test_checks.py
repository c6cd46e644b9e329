"""What a follower (and a leader) checks before taking an asset: control messages parsed strictly, every field of a
task checked against the node's own indexed copy of the request, the domain's scheme and the asset's metadata."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from mpc_helpers import make_request

from chainsig.types import PayloadScheme
from mpc_service.assets import AssetId, AssetInfo, AssetKind
from mpc_service.chain.events import PendingSignRequest, request_id_of
from mpc_service.chain.indexer import parse_sign_args
from mpc_service.checks import (
    SECP256K1_ORDER,
    TaskRefused,
    check_asset,
    check_payload,
    check_sign_task,
    check_signing_set,
)
from mpc_service.control import (
    ControlMessageError,
    EcdsaSignRequest,
    FrostSignRequest,
    PresignRequest,
    TriplesRequest,
    decode_control,
    encode_control,
)
from mpc_service.types import DomainId, ParticipantId, RequestId

P = ParticipantId
DOMAINS = {DomainId(0): "Secp256k1", DomainId(1): "Ed25519", DomainId(2): "Secp256k1"}


def _eddsa_request(payload: bytes | None = None) -> PendingSignRequest:
    payload = payload if payload is not None else os.urandom(32)
    base = make_request(domain_id=1)
    return dataclasses.replace(base, payload_kind=PayloadScheme.EDDSA, payload=payload,
                               request_id=request_id_of(1, base.tweak, "Eddsa", payload))


def test_control_messages_round_trip() -> None:
    rid, inst = RequestId(os.urandom(32)), RequestId(os.urandom(32))
    for message in (TriplesRequest("1-b", (P(0), P(1), P(2)), 8),
                    PresignRequest("1-p", DomainId(2), (P(1), P(3)), ("1-t0", "1-t1")),
                    EcdsaSignRequest(rid, inst, DomainId(0), "1-p", (P(1), P(2), P(3))),
                    FrostSignRequest(rid, inst, DomainId(1), (P(0), P(4)), "abcd")):
        assert decode_control(encode_control(message)) == message


@pytest.mark.parametrize("raw", [
    b"not json", b"[]", b'{"kind": "nope"}', (b'{"kind": "triples", "batch": "1-b", "participants": [0, 1], "count": 8,'
    b' "extra": 1}'), b'{"kind": "triples", "batch": "1-b", "participants": [1, 0], "count": 8}',
    b'{"kind": "triples", "batch": "1-b", "participants": [0, 0], "count": 8}',
    b'{"kind": "triples", "batch": "1-b", "participants": [0, 1], "count": 100000}',
    b'{"kind": "triples", "batch": "", "participants": [0, 1], "count": 8}',
    b'{"kind": "triples", "batch": "1-b", "participants": [0, true], "count": 8}',
    (b'{"kind": "sign", "request_id": "00", "instance_id": "00", "domain_id": 0, "presignature": "p", '
    b'"participants": [0]}'),
    b'{"kind": "presign", "presignature": "1-p", "domain_id": 0, "participants": [1], "triples": ["a", "a"]}',
    b"[" * 100_000, b'{"kind": "height", "height": 1, "x": ' + b"[" * 10 + b"]" * 10 + b"}",
    b'{"kind": "height", "height": "' + b"x" * 200_000 + b'"}',
])
def test_malformed_control_messages_are_refused(raw: bytes) -> None:
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000_000)  # as some libraries do (py-evm): the parser must not be reached for deep input
    try:
        with pytest.raises(ControlMessageError):
            decode_control(raw)
    finally:
        sys.setrecursionlimit(limit)


def test_ecdsa_payload_rules() -> None:
    check_payload("Ecdsa", (1).to_bytes(32, "big"))
    check_payload("Ecdsa", (SECP256K1_ORDER - 1).to_bytes(32, "big"))
    for bad in (bytes(32), SECP256K1_ORDER.to_bytes(32, "big"), b"\xff" * 32, bytes(31) + b"\x01" + b"\x00"):
        with pytest.raises(TaskRefused):
            check_payload("Ecdsa", bad)
    check_payload("Eddsa", bytes(32))
    check_payload("Eddsa", b"")  # the contract takes 0..1232 bytes (near/mpc since July 2026)
    for size in (1233, 5000):
        with pytest.raises(TaskRefused):
            check_payload("Eddsa", bytes(size))


def test_a_follower_refuses_an_ecdsa_share_for_an_ed25519_request() -> None:
    """The attack that worked before: a leader asks for an ECDSA share over an Ed25519 request's 32-byte payload."""
    own = _eddsa_request()
    for domain in (DomainId(1), DomainId(0)):  # the request's own domain, or a secp256k1 domain named falsely
        with pytest.raises(TaskRefused):
            check_sign_task(own, request_id=own.request_id, domain_id=domain, scheme="Secp256k1", domains=DOMAINS)
    check_sign_task(own, request_id=own.request_id, domain_id=DomainId(1), scheme="Ed25519", domains=DOMAINS)


def test_every_field_of_a_sign_task_is_checked_against_the_own_copy() -> None:
    own = make_request(domain_id=0)
    check_sign_task(own, request_id=own.request_id, domain_id=DomainId(0), scheme="Secp256k1", domains=DOMAINS)
    cases = [
        {"request_id": RequestId(os.urandom(32)), "domain_id": DomainId(0), "scheme": "Secp256k1", "domains": DOMAINS},
        {"request_id": own.request_id, "domain_id": DomainId(2), "scheme": "Secp256k1", "domains": DOMAINS},  # other key
        {"request_id": own.request_id, "domain_id": DomainId(0), "scheme": "Ed25519", "domains": DOMAINS},
        {"request_id": own.request_id, "domain_id": DomainId(0), "scheme": "Secp256k1", "domains": {}},  # no key share
    ]
    for case in cases:
        with pytest.raises(TaskRefused):
            check_sign_task(own, **case)  # type: ignore[arg-type]
    zero = dataclasses.replace(own, payload=bytes(32), request_id=request_id_of(0, own.tweak, "Ecdsa", bytes(32)))
    with pytest.raises(TaskRefused, match="non-zero"):
        check_sign_task(zero, request_id=zero.request_id, domain_id=DomainId(0), scheme="Secp256k1", domains=DOMAINS)


def test_signing_set_and_asset_metadata_checks() -> None:
    check_signing_set([P(1), P(2), P(3)], sender=P(1), me=P(2), eligible=range(5), threshold=3)
    for ps, sender, me in (([P(1), P(2)], P(1), P(2)), ([P(1), P(2), P(3)], P(4), P(2)),
                           ([P(1), P(2), P(9)], P(1), P(2))):
        with pytest.raises(TaskRefused):
            check_signing_set(ps, sender=sender, me=me, eligible=[P(i) for i in range(5)], threshold=3)
    info = AssetInfo(AssetKind.PRESIGNATURE, AssetId("1-p"), P(1), (P(1), P(2), P(3)), 0)
    assert check_asset(info, what="p", participants=[P(3), P(2), P(1)], domain_id=DomainId(0)) is info
    for kwargs in ({"participants": [P(1), P(2), P(4)], "domain_id": DomainId(0)},
                   {"participants": [P(1), P(2), P(3)], "domain_id": DomainId(2)},
                   {"participants": [P(1), P(2), P(3)], "domain_id": DomainId(0), "owner": P(2)}):
        with pytest.raises(TaskRefused):
            check_asset(info, what="p", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TaskRefused, match="not in this node's store"):
        check_asset(None, what="p", participants=[P(1)])


def test_the_indexer_skips_a_zero_ecdsa_payload() -> None:
    args = json.dumps({"request": {"path": "p", "domain_id": 0, "payload_v2": {"Ecdsa": "00" * 32}}}).encode()
    with pytest.raises(ValueError, match="non-zero"):
        parse_sign_args(args, "alice.test.near")
    ok = json.dumps({"request": {"path": "p", "domain_id": 0, "payload_v2": {"Ecdsa": "00" * 31 + "01"}}}).encode()
    assert parse_sign_args(ok, "alice.test.near")[3] == bytes(31) + b"\x01"
