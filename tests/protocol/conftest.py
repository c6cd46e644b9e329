"""Fixtures for the in-memory protocol tests: keys and triples made once per session by real N-party runs."""
from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from mpc_service.protocol import (
    ED25519,
    SECP256K1,
    HonestMajorityTripleGenerator,
    KeygenOutput,
    ParticipantId,
    Presignature,
    Triple,
    keygen,
    presign,
    run_protocols,
)

PARTICIPANTS = [ParticipantId(i) for i in range(5)]
THRESHOLD = 3


def run_keygen(
    group_name: str, participants: list[ParticipantId], threshold: int, seed: int
) -> dict[ParticipantId, KeygenOutput]:
    group = SECP256K1 if group_name == "secp256k1" else ED25519
    rng = random.Random(seed)
    return run_protocols({p: keygen(group, participants, p, threshold, b"test-keygen", rng) for p in participants})


@pytest.fixture(scope="session")
def secp_keys() -> dict[ParticipantId, KeygenOutput]:
    return run_keygen("secp256k1", PARTICIPANTS, THRESHOLD, 11)


@pytest.fixture(scope="session")
def ed_keys() -> dict[ParticipantId, KeygenOutput]:
    return run_keygen("ed25519", PARTICIPANTS, THRESHOLD, 12)


TripleFactory = Callable[[int], dict[ParticipantId, list[Triple]]]


@pytest.fixture
def make_triples() -> TripleFactory:
    """Fresh triples among all five participants (each test consumes its own)."""
    counter = iter(range(10**6))

    def make(count: int) -> dict[ParticipantId, list[Triple]]:
        rng = random.Random(1000 + next(counter))
        gen = HonestMajorityTripleGenerator()
        instances = {p: gen.generate(PARTICIPANTS, p, THRESHOLD, b"test-triples", count, rng) for p in PARTICIPANTS}
        return run_protocols(instances)

    return make


PresignFactory = Callable[[list[ParticipantId]], dict[ParticipantId, Presignature]]


@pytest.fixture
def make_presignatures(secp_keys: dict[ParticipantId, KeygenOutput], make_triples: TripleFactory) -> PresignFactory:
    def make(signers: list[ParticipantId]) -> dict[ParticipantId, Presignature]:
        triples = make_triples(2)
        return run_protocols({p: presign(secp_keys[p], triples[p][0], triples[p][1], signers) for p in signers})

    return make
