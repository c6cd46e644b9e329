"""DKG (PedPop) on both curves: correctness for several t-of-n, culprits for bad messages, participant-set checks."""
from __future__ import annotations

import itertools
import random

import pytest

from mpc_service.protocol import ED25519, SECP256K1, KeygenOutput, ParticipantId, keygen, run_protocols
from mpc_service.protocol.errors import (
    BadProofError,
    BadShareError,
    CommitmentMismatchError,
    MalformedMessageError,
    ParticipantSetError,
    ProtocolAbortedError,
    UnexpectedMessageError,
)
from mpc_service.protocol.groups import Group
from mpc_service.protocol.polynomial import lagrange_coefficients

from .helpers import Tamper, drive_until_failures, tamper_byte, tamper_last_scalar

GROUPS = [SECP256K1, ED25519]
P = ParticipantId


def _run(g: Group, n: int, t: int, seed: int = 0, tamper: Tamper | None = None, shuffle: bool = False
         ) -> dict[ParticipantId, KeygenOutput]:
    rng = random.Random(seed)
    ps = [P(i) for i in range(n)]
    return run_protocols(
        {p: keygen(g, ps, p, t, b"sid", rng) for p in ps},
        tamper=tamper,
        shuffle_rng=random.Random(seed + 1) if shuffle else None,
    )


def _reconstruct(g: Group, outs: dict[ParticipantId, KeygenOutput], subset: tuple[ParticipantId, ...]) -> int:
    lam = lagrange_coefficients(g, subset)
    return sum(lam[p] * outs[p].private_share.expose() for p in subset) % g.order


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
@pytest.mark.parametrize(("n", "t"), [(2, 2), (3, 2), (5, 3), (4, 4)])
def test_any_threshold_subset_holds_the_key(g: Group, n: int, t: int) -> None:
    outs = _run(g, n, t, seed=n * 10 + t, shuffle=True)
    public_keys = {o.public_key for o in outs.values()}
    assert len(public_keys) == 1
    (pk,) = public_keys
    for subset in itertools.combinations(sorted(outs), t):
        assert g.base_mul(_reconstruct(g, outs, subset)) == pk
    if t > 1:
        assert g.base_mul(_reconstruct(g, outs, tuple(sorted(outs))[: t - 1])) != pk
    for p, o in outs.items():
        assert o.verification_share(p) == g.base_mul(o.private_share.expose())
        assert o.threshold == t and o.participants == tuple(sorted(outs))


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_keygen_output_redacts_the_share(g: Group) -> None:
    outs = _run(g, 3, 2, seed=5)
    o = outs[P(0)]
    text = repr(o)
    assert "redacted" in text
    assert str(o.private_share.expose()) not in text
    assert g.encode_scalar(o.private_share.expose()).hex() not in text


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_bad_private_share_names_the_sender(g: Group) -> None:
    with pytest.raises(BadShareError) as info:
        _run(g, 5, 3, tamper=tamper_last_scalar(g, P(2), 3, victim=P(4)))
    assert info.value.culprit == P(2)


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_bad_proof_of_knowledge_names_the_sender(g: Group) -> None:
    with pytest.raises(BadProofError) as info:
        _run(g, 5, 3, tamper=tamper_last_scalar(g, P(1), 2))
    assert info.value.culprit == P(1)


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_bad_echo_names_the_sender(g: Group) -> None:
    with pytest.raises(CommitmentMismatchError) as info:
        _run(g, 4, 3, tamper=tamper_byte(P(3), 1, 10))
    assert info.value.culprit == P(3)


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_reveal_not_matching_commitment_names_the_sender(g: Group) -> None:
    # byte 2+4+4 is the first byte after the header, the blob length and the point count: inside the first point
    with pytest.raises((CommitmentMismatchError, MalformedMessageError)) as info:
        _run(g, 4, 3, tamper=tamper_byte(P(0), 2, 2 + 4 + 4 + 4 + 5))
    assert info.value.culprit == P(0)


def test_wrong_participant_sets_are_refused() -> None:
    rng = random.Random(0)
    with pytest.raises(ParticipantSetError):
        keygen(SECP256K1, [P(0), P(1), P(2)], P(7), 2, b"s", rng)
    with pytest.raises(ParticipantSetError):
        keygen(SECP256K1, [P(0), P(1), P(2)], P(0), 4, b"s", rng)
    with pytest.raises(ParticipantSetError):
        keygen(SECP256K1, [P(0), P(1), P(1)], P(0), 2, b"s", rng)
    with pytest.raises(ParticipantSetError):
        keygen(SECP256K1, [P(0)], P(0), 1, b"s", rng)
    with pytest.raises(ParticipantSetError):
        keygen(ED25519, [P(0), P(1)], P(0), 0, b"s", rng)


def test_parties_disagreeing_on_the_set_abort() -> None:
    rng = random.Random(1)
    full = [P(0), P(1), P(2)]
    instances = {p: keygen(SECP256K1, full, p, 2, b"sid", rng) for p in full}
    instances[P(2)] = keygen(SECP256K1, full, P(2), 3, b"sid", rng)  # a different threshold
    with pytest.raises((CommitmentMismatchError, MalformedMessageError)):
        run_protocols(instances)


def test_parties_with_different_session_ids_abort() -> None:
    rng = random.Random(2)
    ps = [P(0), P(1), P(2)]
    instances = {p: keygen(ED25519, ps, p, 2, b"sid-" + bytes([p == 0]), rng) for p in ps}
    with pytest.raises(CommitmentMismatchError):
        run_protocols(instances)


def test_state_machine_refuses_bad_envelopes_without_changing_state() -> None:
    rng = random.Random(3)
    ps = [P(0), P(1), P(2)]
    inst = keygen(SECP256K1, ps, P(0), 2, b"sid", rng)
    inst.poke()
    with pytest.raises(UnexpectedMessageError) as info:
        inst.message(P(9), b"\x00\x00")
    assert info.value.culprit == P(9)
    with pytest.raises(UnexpectedMessageError):
        inst.message(P(0), b"\x00\x00")  # from myself
    with pytest.raises(MalformedMessageError):
        inst.message(P(1), b"\x00")
    with pytest.raises(MalformedMessageError):
        inst.message(P(1), b"\x00\x63rest")
    inst.message(P(1), b"\x00\x00junk")
    with pytest.raises(UnexpectedMessageError):
        inst.message(P(1), b"\x00\x00junk")  # duplicate
    inst.message(P(2), b"\x00\x00" + (32).to_bytes(4, "big") + bytes(32))
    with pytest.raises(MalformedMessageError) as bad:
        inst.poke()  # P(1)'s junk is decoded now
    assert bad.value.culprit == P(1)
    with pytest.raises(ProtocolAbortedError):
        inst.poke()


def test_nobody_outputs_a_key_when_one_participant_got_a_bad_share() -> None:
    """The victim of a bad private share never sends its success message, so no other participant finishes."""
    rng = random.Random(8)
    ps = [P(0), P(1), P(2), P(3)]
    instances = {p: keygen(SECP256K1, ps, p, 3, b"sid", rng) for p in ps}
    tamper = tamper_last_scalar(SECP256K1, P(1), 3, victim=P(2))
    finished, failed = drive_until_failures(instances, ps, tamper, BadShareError)
    assert set(failed) == {P(2)} and failed[P(2)].culprit == P(1)
    assert not finished, "no participant may output a key the victim could not verify"


def test_disagreeing_success_message_names_the_sender() -> None:
    with pytest.raises(CommitmentMismatchError) as info:
        _run(ED25519, 3, 2, seed=4, tamper=tamper_byte(P(1), 4, 2 + 4 + 3))
    assert info.value.culprit == P(1)


def test_driver_reports_per_party_compute_time() -> None:
    rng = random.Random(12)
    ps = [P(0), P(1), P(2)]
    timings: dict[ParticipantId, float] = {}
    run_protocols({p: keygen(ED25519, ps, p, 2, b"sid", rng) for p in ps}, timings=timings)
    assert set(timings) == set(ps) and all(t > 0 for t in timings.values())
