"""Dishonest-majority (OT-based) triples: valid for n ≥ t (4 of 4, 4 of 5), usable by presign + sign, cheaters caught."""
from __future__ import annotations

import hashlib
import itertools
import random
import time

import coincurve
import ecdsa.util
import pytest

from mpc_service.protocol import (
    SECP256K1,
    DishonestMajorityTripleGenerator,
    HonestMajorityTripleGenerator,
    ParticipantId,
    Triple,
    derive_public_key,
    ecdsa_sign,
    presign,
    run_protocols,
    triple_generator_for,
)
from mpc_service.protocol.errors import (
    BadProofError,
    BadShareError,
    CommitmentMismatchError,
    ParticipantSetError,
    ProtocolError,
)
from mpc_service.protocol.ot import ENCODED_BITS, ExtensionMessage, decode_corrections, encode_corrections
from mpc_service.protocol.polynomial import eval_commitment, eval_point, lagrange_coefficients
from mpc_service.protocol.wire import Reader, Writer

from .conftest import run_keygen
from .helpers import Tamper, bump_scalar_at, drive_until_failures, round_of, tamper_byte, tamper_last_scalar

P = ParticipantId
N = SECP256K1.order
G = SECP256K1


def _generate(n: int, t: int, count: int, seed: int, *, shuffle: bool = False) -> dict[ParticipantId, list[Triple]]:
    ps = [P(i) for i in range(n)]
    rng = random.Random(seed)
    gen = DishonestMajorityTripleGenerator()
    return run_protocols({p: gen.generate(ps, p, t, b"ot-triples", count, rng) for p in ps},
                         shuffle_rng=random.Random(seed) if shuffle else None)


@pytest.mark.parametrize(("n", "t"), [(2, 2), (3, 2), (4, 4), (5, 4)])
def test_triples_are_valid_from_any_t_shares(n: int, t: int, capsys: pytest.CaptureFixture[str]) -> None:
    count = 2
    started = time.perf_counter()
    out = _generate(n, t, count, seed=100 + 10 * n + t, shuffle=n == 4)
    elapsed = time.perf_counter() - started
    with capsys.disabled():  # a figure for the record, not a timed assertion
        print(f"\n[ot-triples {t}-of-{n}] {count} triples in {elapsed:.2f} s in memory (all parties)", end=" ")
    ps = sorted(out)
    seen_c = set()
    for idx in range(count):
        pub = out[ps[0]][idx].public
        assert all(out[p][idx].public == pub for p in ps), "everyone holds the same public data"
        assert pub.participants == tuple(ps) and pub.threshold == t
        assert all(len(c) == t for c in (pub.a_commitments, pub.b_commitments, pub.c_commitments))
        secrets = {p: out[p][idx].take() for p in ps}
        for p, s in secrets.items():  # every share matches the Feldman commitments
            x = eval_point(p)
            assert G.base_mul(s.a) == eval_commitment(G, pub.a_commitments, x)
            assert G.base_mul(s.b) == eval_commitment(G, pub.b_commitments, x)
            assert G.base_mul(s.c) == eval_commitment(G, pub.c_commitments, x)
        for subset in itertools.combinations(ps, t):
            lam = lagrange_coefficients(G, list(subset))
            a, b, c = (sum(lam[p] * getattr(secrets[p], f) for p in subset) % N for f in "abc")
            assert c == a * b % N and c != 0
            assert (G.base_mul(a), G.base_mul(b), G.base_mul(c)) == (pub.big_a, pub.big_b, pub.big_c)
        seen_c.add(pub.big_c)
    assert len(seen_c) == count


@pytest.mark.parametrize(("n", "t", "signers"), [(5, 4, [0, 1, 3, 4]), (4, 4, [0, 1, 2, 3])])
def test_presign_and_sign_with_ot_triples(n: int, t: int, signers: list[int]) -> None:
    ps = [P(i) for i in range(n)]
    keys = run_keygen("secp256k1", ps, t, seed=200 + n)
    triples = _generate(n, t, 2, seed=300 + n)
    sset = [P(i) for i in signers]
    presigs = run_protocols({p: presign(keys[p], triples[p][0], triples[p][1], sset) for p in sset})
    tweak = hashlib.sha3_256(b"ot-triples tweak").digest()
    msg_hash = hashlib.sha256(f"ot-triples payload {n}".encode()).digest()
    out = run_protocols({p: ecdsa_sign(presigs[p], sset, sset[0], tweak=tweak, msg_hash=msg_hash,
                                       entropy=b"\x05" * 32) for p in sset})
    sig = out[sset[0]]
    assert sig is not None
    derived = derive_public_key(keys[P(0)].public_key, tweak)
    der = ecdsa.util.sigencode_der(sig.r, sig.s, N)
    assert coincurve.PublicKey(derived).verify(der, msg_hash, hasher=None)
    assert not coincurve.PublicKey(derived).verify(der, hashlib.sha256(msg_hash).digest(), hasher=None)


def _cheat(n: int, t: int, tamper: Tamper, seed: int) -> tuple[set[ParticipantId], dict[ParticipantId, ProtocolError]]:
    ps = [P(i) for i in range(n)]
    rng = random.Random(seed)
    gen = DishonestMajorityTripleGenerator()
    instances = {p: gen.generate(ps, p, t, b"ot-cheat", 2, rng) for p in ps}
    return drive_until_failures(instances, ps, tamper, ProtocolError, rounds=40)


def test_mta_lie_is_caught_by_the_product_check() -> None:
    """Party 1 (an MtA sender) adds 1 to every correction it sends party 2 — as if it multiplied with a + 1 — so party
    2's share is off by its b_2 ≠ 0: Σ H_i(0) ≠ C and everyone aborts (without a culprit: the check cannot tell who
    lied). A change to a single correction is caught only if that choice bit is 1: the probe test_ot documents."""

    def tamper(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        if sender != P(1) or to != P(2) or round_of(data) != 6:
            return data
        corrections = decode_corrections(data[2:], (len(data) - 2) // 32, sender)
        return data[:2] + encode_corrections([(c + 1) % N for c in corrections])

    finished, failed = _cheat(3, 3, tamper, seed=7)
    assert finished == set()
    assert set(failed) == {P(0), P(1), P(2)}
    for err in failed.values():
        assert isinstance(err, BadShareError) and "C = a·B" in str(err) and err.culprit is None


def test_consistently_dealt_wrong_product_share_is_caught() -> None:
    """Party 2 deals c_2 + 1 instead of its product share, with matching commitments and shares (so every share check
    passes): only Σ H_i(0) = C can catch it, and it does — no honest party outputs a triple with c ≠ a·b."""
    t, count = 3, 2

    def tamper(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        if sender != P(2) or round_of(data) not in (7, 8):
            return data
        r = Reader(data[2:], sender)
        if round_of(data) == 8:
            shares = [r.scalar(G) for _ in range(count)]
            r.finish()
            w = Writer()
            for x in shares:
                w.scalar(G, x + 1)
            return data[:2] + w.finish()
        polys = [r.points(G, t) for _ in range(count)]
        r.finish()
        w = Writer()
        for poly in polys:
            w.points((G.add(poly[0], G.generator), *poly[1:]))
        return data[:2] + w.finish()

    finished, failed = _cheat(3, t, tamper, seed=8)
    assert not finished & {P(0), P(1)}
    for p in (P(0), P(1)):
        assert isinstance(failed[p], BadShareError) and "C = a·B" in str(failed[p])


def test_inconsistent_extension_matrix_names_the_receiver() -> None:
    """Party 1 (OT-extension receiver of pair 0→1) flips row 80's choice bit in every column it sends: the KOS
    consistency check at party 0 fails and names party 1; nobody outputs triples."""
    nbits = ENCODED_BITS * 2

    def tamper(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        if sender != P(1) or round_of(data) != 5:
            return data
        m = ExtensionMessage.decode(data[2:], nbits, sender)
        flipped = ExtensionMessage(tuple(c ^ (1 << 80) for c in m.columns), m.x, m.t)
        return data[:2] + flipped.encode(nbits)

    finished, failed = _cheat(2, 2, tamper, seed=20)
    assert finished == set()
    assert isinstance(failed[P(0)], BadProofError) and failed[P(0)].culprit == P(1)


def _bump_first_scalar(cheater: ParticipantId, round_: int) -> Tamper:
    def tamper(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        if sender == cheater and round_of(data) == round_:
            return bump_scalar_at(G, data, 2)
        return data

    return tamper


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        (_bump_first_scalar(P(2), 3), BadShareError),  # a share of a
        (tamper_last_scalar(G, P(2), 4), BadProofError),  # the DLEQ response of C_2 = a_2·B
        (tamper_last_scalar(G, P(2), 8), BadShareError),  # a share of c
        (tamper_byte(P(2), 2, 2 + 4 + 32 + 4 + 10), CommitmentMismatchError),  # revealed Feldman commitments
        (tamper_byte(P(2), 9, 10), CommitmentMismatchError),  # the final confirmation
    ],
)
def test_bad_messages_name_the_cheater(tamper: Tamper, error: type[ProtocolError]) -> None:
    finished, failed = _cheat(3, 3, tamper, seed=9)
    honest = {P(0), P(1)}
    assert not finished & honest, "no honest party outputs triples"
    assert honest <= set(failed)
    for p in honest:
        assert isinstance(failed[p], error) and failed[p].culprit == P(2), failed[p]


def test_generator_choice_and_argument_checks() -> None:
    assert isinstance(triple_generator_for(5, 3), HonestMajorityTripleGenerator)
    assert isinstance(triple_generator_for(7, 4), HonestMajorityTripleGenerator)
    assert isinstance(triple_generator_for(5, 4), DishonestMajorityTripleGenerator)
    assert isinstance(triple_generator_for(4, 4), DishonestMajorityTripleGenerator)
    with pytest.raises(ValueError):
        triple_generator_for(3, 4)
    gen = DishonestMajorityTripleGenerator()
    with pytest.raises(ParticipantSetError):
        gen.generate([P(0), P(1)], P(5), 2, b"s", 1, random.Random(0))
    with pytest.raises(ValueError):
        gen.generate([P(0), P(1)], P(0), 2, b"s", 0, random.Random(0))
