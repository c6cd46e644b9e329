"""Group arithmetic, identity/zero handling, encodings, Lagrange interpolation, transcripts and proofs."""
from __future__ import annotations

import random

import coincurve
import nacl.bindings
import nacl.exceptions
import pytest

from mpc_service.protocol.errors import AssetConsumedError, MalformedMessageError, ZeroOrIdentityError
from mpc_service.protocol.groups import ED25519, SECP256K1, Group
from mpc_service.protocol.polynomial import Polynomial, eval_commitment, eval_point, lagrange_coefficients
from mpc_service.protocol.proofs import prove_dleq, prove_schnorr, verify_dleq, verify_schnorr
from mpc_service.protocol.secret import SecretScalar, SingleUse
from mpc_service.protocol.transcript import Transcript, commit, open_commitment
from mpc_service.protocol.types import ParticipantId

GROUPS = [SECP256K1, ED25519]


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_arithmetic_matches_scalar_arithmetic(g: Group) -> None:
    rng = random.Random(1)
    for _ in range(20):
        a, b = g.random_scalar(rng), g.random_scalar(rng)
        assert g.add(g.base_mul(a), g.base_mul(b)) == g.base_mul(a + b)
        assert g.mul(g.base_mul(a), b) == g.base_mul(a * b)
        assert g.sub(g.base_mul(a), g.base_mul(b)) == g.base_mul(a - b)
        assert g.sum([g.base_mul(a), g.base_mul(b), g.base_mul(-a)]) == g.base_mul(b)


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_identity_and_zero_are_handled_explicitly(g: Group) -> None:
    p = g.base_mul(5)
    assert g.base_mul(0) == g.identity
    assert g.base_mul(g.order) == g.identity
    assert g.mul(p, 0) == g.identity
    assert g.mul(g.identity, 7) == g.identity
    assert g.add(p, g.neg(p)) == g.identity
    assert g.add(g.identity, p) == p
    assert g.sum([p, g.neg(p)]) == g.identity
    assert g.sum([]) == g.identity
    with pytest.raises(ZeroOrIdentityError):
        g.decode_point(g.identity)
    assert g.decode_point(g.identity, allow_identity=True) == g.identity
    with pytest.raises(ZeroOrIdentityError):
        g.invert(0)
    with pytest.raises(ZeroOrIdentityError):
        g.require_not_identity(g.identity, "x")


def test_libraries_really_refuse_the_identity() -> None:
    """The reason for the explicit handling above: both backends raise on zero / infinity."""
    with pytest.raises(ValueError):
        coincurve.PublicKey.from_secret(bytes(32))
    p = SECP256K1.base_mul(3)
    with pytest.raises(ValueError):
        coincurve.PublicKey.combine_keys([coincurve.PublicKey(p), coincurve.PublicKey(SECP256K1.neg(p))])
    with pytest.raises(nacl.exceptions.CryptoError):
        nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(bytes(32))


def test_scalar_byte_orders() -> None:
    assert SECP256K1.encode_scalar(1) == bytes(31) + b"\x01"
    assert ED25519.encode_scalar(1) == b"\x01" + bytes(31)
    assert SECP256K1.decode_scalar(SECP256K1.encode_scalar(12345)) == 12345
    assert ED25519.decode_scalar(ED25519.encode_scalar(12345)) == 12345
    with pytest.raises(MalformedMessageError):
        SECP256K1.decode_scalar(SECP256K1.order.to_bytes(32, "big"))
    with pytest.raises(MalformedMessageError):
        ED25519.decode_scalar(ED25519.order.to_bytes(32, "little"))
    # ed25519 base point from libsodium's own keypair derivation of scalar 1
    assert ED25519.base_mul(1) == ED25519.generator


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_decode_point_rejects_garbage(g: Group) -> None:
    with pytest.raises(MalformedMessageError):
        g.decode_point(b"\x02" * 5)
    bad = b"\x05" + bytes(32) if g is SECP256K1 else bytes(31) + b"\x80"
    with pytest.raises(MalformedMessageError):
        g.decode_point(bad)


def test_ed25519_rejects_small_order_points() -> None:
    small_order = bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")  # order 2
    with pytest.raises(MalformedMessageError):
        ED25519.decode_point(small_order)


def test_secp256k1_rejects_x_not_on_curve() -> None:
    # x = 5 has no square root of x^3 + 7 on secp256k1
    with pytest.raises(MalformedMessageError):
        SECP256K1.decode_point(b"\x02" + (5).to_bytes(32, "big"))


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_lagrange_reconstructs_from_any_threshold_subset(g: Group) -> None:
    rng = random.Random(2)
    poly = Polynomial.random(g, 2, rng)
    commitments = poly.commit()
    ids = [ParticipantId(i) for i in range(6)]
    for subset in ([0, 1, 2], [3, 4, 5], [0, 2, 5], [1, 2, 3, 4]):
        ps = [ParticipantId(i) for i in subset]
        lam = lagrange_coefficients(g, ps)
        assert sum(lam[p] * poly.share_for(p) for p in ps) % g.order == poly.coefficients[0]
    for p in ids:
        assert eval_commitment(g, commitments, eval_point(p)) == g.base_mul(poly.share_for(p))
    two = [ParticipantId(0), ParticipantId(1)]
    lam2 = lagrange_coefficients(g, two)
    assert sum(lam2[p] * poly.share_for(p) for p in two) % g.order != poly.coefficients[0]
    assert "redacted" in repr(poly)


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_schnorr_and_dleq_proofs(g: Group) -> None:
    rng = random.Random(3)
    ctx = Transcript(b"test").append(b"sid", b"1")
    x = g.random_scalar(rng)
    big_x = g.base_mul(x)
    proof = prove_schnorr(g, ctx, x, big_x, rng)
    assert verify_schnorr(g, ctx, big_x, proof)
    assert not verify_schnorr(g, Transcript(b"test").append(b"sid", b"2"), big_x, proof)  # bound to context
    assert not verify_schnorr(g, ctx, g.base_mul(x + 1), proof)
    h = g.base_mul(g.random_scalar(rng))
    dleq = prove_dleq(g, ctx, x, h, rng)
    assert verify_dleq(g, ctx, h, big_x, g.mul(h, x), dleq)
    assert not verify_dleq(g, ctx, h, big_x, g.mul(h, x + 1), dleq)


def test_transcript_is_length_prefixed_and_commitments_bind() -> None:
    a = Transcript(b"d").append(b"x", b"ab").append(b"y", b"c").digest()
    b = Transcript(b"d").append(b"x", b"a").append(b"y", b"bc").digest()
    assert a != b
    rng = random.Random(4)
    com, opening = commit(b"dom", b"data", rng)
    assert open_commitment(com, b"dom", b"data", opening)
    assert not open_commitment(com, b"dom", b"datb", opening)
    assert not open_commitment(com, b"other", b"data", opening)


def test_secrets_are_redacted_and_single_use() -> None:
    s = SecretScalar(123456789)
    assert "123456789" not in repr(s) and "redacted" in repr(s) and "123456789" not in str(s)
    once = SingleUse(s, "thing")
    assert "123456789" not in repr(once)
    assert once.take() is s
    assert once.consumed
    with pytest.raises(AssetConsumedError):
        once.take()


def test_secp256k1_results_stay_right_across_the_parsed_point_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The group remembers parsed points; with a memory of 16 (cleared again and again) every result still equals
    libsecp256k1's own, computed from fresh parses."""
    from mpc_service.protocol import groups

    monkeypatch.setattr(groups, "_PARSED_MAX", 16)
    rng = random.Random(7)
    g = SECP256K1
    acc = g.base_mul(rng.randrange(1, g.order))
    for _ in range(200):
        k = rng.randrange(1, g.order)
        p = g.base_mul(rng.randrange(1, g.order))
        expected_mul = coincurve.PublicKey(acc).multiply(k.to_bytes(32, "big")).format()
        assert g.mul(acc, k) == expected_mul
        expected_sum = coincurve.PublicKey.combine_keys([coincurve.PublicKey(acc), coincurve.PublicKey(p)]).format()
        acc = g.add(acc, p)
        assert acc == expected_sum
        assert g.uncompressed(acc) == coincurve.PublicKey(acc).format(compressed=False)
    assert len(groups._parsed) <= 16
