"""Builders shared by the MPC node tests."""

from __future__ import annotations

import os

from chainsig.types import PayloadScheme
from mpc_service.chain.events import PendingSignRequest, request_id_of
from mpc_service.types import DomainId


def make_request(block_height: int = 10, payload: bytes | None = None, domain_id: int = 0) -> PendingSignRequest:
    payload = payload if payload is not None else os.urandom(32)
    tweak = os.urandom(32)
    rid = request_id_of(domain_id, tweak, "Ecdsa", payload)
    return PendingSignRequest(rid, DomainId(domain_id), tweak, PayloadScheme.ECDSA, payload, "alice.test.near", "data-id",
                       block_height, "hash", os.urandom(32))
