"""Contract event parsing: sign_request/response/timeout records, ids shared by duplicates, typed errors."""

from __future__ import annotations

import json
import os

import pytest

from mpc_service.chain.events import ContractEventError, PendingSignRequest, SignCompletion, parse_event_log


def log(event: str, items: list[dict[str, object]]) -> str:
    return "EVENT_JSON:" + json.dumps({"standard": "chainsig", "version": "1.0.0", "event": event, "data": items})


def item(tweak: bytes, payload: bytes, kind: str = "Ecdsa") -> dict[str, object]:
    return {"request": {"tweak": tweak.hex(), "payload": {kind: payload.hex()}, "domain_id": 0},
            "caller": "alice.test.near", "data_id": "abc"}


def parse(text: str) -> list[PendingSignRequest | SignCompletion]:
    return parse_event_log(text, block_height=7, block_hash="h", entropy=b"\1" * 32)


def test_request_then_response_share_the_id() -> None:
    tweak, payload = os.urandom(32), os.urandom(32)
    (req,) = parse(log("sign_request", [item(tweak, payload)]))
    assert isinstance(req, PendingSignRequest)
    assert req.tweak == tweak and req.payload == payload and req.block_height == 7 and req.caller == "alice.test.near"
    assert req.respond_request() == {"tweak": tweak.hex(), "payload": {"Ecdsa": payload.hex()}, "domain_id": 0}
    (done,) = parse(log("sign_response", [item(tweak, payload)]))
    assert isinstance(done, SignCompletion) and done.request_id == req.request_id and done.outcome == "response"
    (other,) = parse(log("sign_request", [item(tweak, os.urandom(32))]))
    assert isinstance(other, PendingSignRequest) and other.request_id != req.request_id
    (eddsa,) = parse(log("sign_request", [item(tweak, payload, "Eddsa")]))
    assert isinstance(eddsa, PendingSignRequest) and eddsa.request_id != req.request_id


def test_unrelated_logs_are_ignored() -> None:
    assert parse("refund 5 to alice.test.near") == []
    assert parse('EVENT_JSON:{"standard":"nep141","event":"ft_transfer","data":[]}') == []
    ckd = {"request": {"app_public_key": "bls12381g1:1", "app_id": "00" * 32, "domain_id": 2}, "caller": "a", "data_id": ""}
    assert parse(log("ckd_request", [ckd])) == []  # CKD requests are indexed from receipts, not by this parser
    assert parse(log("keygen_started", [{"epoch_id": 0, "domains": [], "leader": "a"}])) == []


@pytest.mark.parametrize(
    "bad",
    [
        "EVENT_JSON:{not json",
        log("sign_request", [{"request": {"tweak": "00", "payload": {"Ecdsa": "00" * 32}, "domain_id": 0}, "caller": "a"}]),
        log("sign_request", [{"request": {"tweak": "00" * 32, "payload": {"Rsa": "00"}, "domain_id": 0}, "caller": "a"}]),
        log("sign_request", [{"request": {"tweak": "00" * 32, "payload": {"Ecdsa": "00" * 32}, "domain_id": -1}}]),
        log("sign_request", [{"request": {"tweak": "00" * 32, "payload": {"Ecdsa": "00" * 32}, "domain_id": 0}}]),
        'EVENT_JSON:{"standard":"chainsig","event":"sign_request","data":{"x":1}}',
    ],
)
def test_malformed_events_raise_typed_errors(bad: str) -> None:
    with pytest.raises(ContractEventError):
        parse(bad)
