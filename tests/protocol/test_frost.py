"""FROST(Ed25519, SHA-512): the RFC 9591 Appendix E.1 vector through the project's code, t-of-n signing from DKG
output under NEAR's additive tweak (verified with PyNaCl), single-use nonces, culprits and set checks."""
from __future__ import annotations

import hashlib
import itertools
import json
import pathlib
import random
from typing import Any

import nacl.signing
import pytest

from chainsig.kdf import derive_ed25519_public_key, derive_tweak
from chainsig.keys import Ed25519PublicKey
from chainsig.signatures import Ed25519Signature
from mpc_service.protocol import ED25519, KeygenOutput, ParticipantId, run_protocols, verify_ed25519
from mpc_service.protocol.errors import (
    AssetConsumedError,
    BadShareError,
    CommitmentMismatchError,
    MalformedMessageError,
    ParticipantSetError,
    PayloadRangeError,
    ZeroOrIdentityError,
)
from mpc_service.protocol.frost import (
    FrostSignatureShare,
    SigningCommitments,
    SigningNonces,
    binding_factor_inputs,
    binding_factors,
    challenge,
    frost_aggregate,
    frost_commit,
    frost_sign,
    frost_sign_share,
    group_commitment,
    nonce_generate,
    tweak_scalar,
    tweaked_public_key,
    verify_signature_share,
)
from mpc_service.protocol.groups import Point
from mpc_service.protocol.polynomial import Polynomial, lagrange_coefficients
from mpc_service.protocol.secret import SecretScalar

from .conftest import PARTICIPANTS, run_keygen
from .helpers import Tamper, bump_scalar_at, round_of

P = ParticipantId
G = ED25519
INLINE_VECTOR = pathlib.Path(__file__).resolve().parents[1] / "vectors" / "frost_ed25519_sha512_rfc9591.json"
SHARED_VECTOR = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors" / "frost" / "ed25519_sha512.json"
NO_TWEAK = bytes(32)


def _scalar(hex_: str) -> int:
    return G.decode_scalar(bytes.fromhex(hex_))


@pytest.fixture(scope="module", params=["inline", "shared"])
def rfc(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The RFC 9591 E.1 vector: the copy carried in tests/vectors, and the shared one beside the project if present."""
    path = INLINE_VECTOR if request.param == "inline" else SHARED_VECTOR
    if not path.is_file():
        pytest.skip(f"shared FROST vector not found at {path.resolve()} (the inlined copy still runs)")
    data: dict[str, Any] = json.loads(path.read_text())
    assert data["config"]["name"] == "FROST(Ed25519, SHA-512)"
    return data


def _rfc_keys(rfc: dict[str, Any]) -> dict[ParticipantId, KeygenOutput]:
    """The RFC's dealer output as KeygenOutputs (RFC identifier i is participant i − 1)."""
    inputs = rfc["inputs"]
    secret = _scalar(inputs["group_secret_key"])
    coefficient = _scalar(inputs["share_polynomial_coefficients"][0])
    poly = Polynomial(G, (secret, coefficient))
    public_key = Point(bytes.fromhex(inputs["group_public_key"]))
    n = int(rfc["config"]["MAX_PARTICIPANTS"])
    t = int(rfc["config"]["MIN_PARTICIPANTS"])
    participants = tuple(P(i) for i in range(n))
    keys = {}
    for entry in inputs["participant_shares"]:
        me = P(entry["identifier"] - 1)
        share = _scalar(entry["participant_share"])
        assert share == poly.share_for(me), "RFC shares are the dealer polynomial at the identifiers"
        keys[me] = KeygenOutput(G, me, SecretScalar(share), public_key, participants, t, poly.commit())
    return keys


def _rfc_round_one(rfc: dict[str, Any], keys: dict[ParticipantId, KeygenOutput]) -> dict[ParticipantId, SigningNonces]:
    nonces = {}
    for out in rfc["round_one_outputs"]["outputs"]:
        me = P(out["identifier"] - 1)
        nonces[me] = frost_commit(
            keys[me],
            random.Random(0),
            hiding_randomness=bytes.fromhex(out["hiding_nonce_randomness"]),
            binding_randomness=bytes.fromhex(out["binding_nonce_randomness"]),
        )
    return nonces


def test_rfc9591_e1_every_intermediate_value(rfc: dict[str, Any]) -> None:
    keys = _rfc_keys(rfc)
    inputs = rfc["inputs"]
    pk = Point(bytes.fromhex(inputs["group_public_key"]))
    message = bytes.fromhex(inputs["message"])
    assert G.base_mul(_scalar(inputs["group_secret_key"])) == pk
    for me, key in keys.items():
        assert key.verification_share(me) == G.base_mul(key.private_share.expose())
    assert tweaked_public_key(pk, NO_TWEAK) == pk

    signers = [P(i - 1) for i in inputs["participant_list"]]
    nonces = _rfc_round_one(rfc, keys)
    assert sorted(nonces) == signers
    commitments = {p: nonces[p].commitments for p in signers}
    inputs_by_p = binding_factor_inputs(pk, commitments, message)
    rho = binding_factors(pk, commitments, message)
    for out in rfc["round_one_outputs"]["outputs"]:
        me = P(out["identifier"] - 1)
        share = keys[me].private_share.expose()
        assert nonce_generate(share, bytes.fromhex(out["hiding_nonce_randomness"])) == _scalar(out["hiding_nonce"])
        assert nonce_generate(share, bytes.fromhex(out["binding_nonce_randomness"])) == _scalar(out["binding_nonce"])
        assert commitments[me].hiding.hex() == out["hiding_nonce_commitment"]
        assert commitments[me].binding.hex() == out["binding_nonce_commitment"]
        assert inputs_by_p[me].hex() == out["binding_factor_input"]
        assert rho[me] == _scalar(out["binding_factor"])

    shares = {p: frost_sign_share(keys[p], nonces[p], commitments, message, NO_TWEAK) for p in signers}
    for out in rfc["round_two_outputs"]["outputs"]:
        me = P(out["identifier"] - 1)
        assert shares[me].z == _scalar(out["sig_share"])
        assert verify_signature_share(keys[me], commitments, message, NO_TWEAK, shares[me])
    signature = frost_aggregate(keys[signers[0]], commitments, message, NO_TWEAK, shares)
    assert signature.hex() == rfc["final_output"]["sig"]
    big_r = group_commitment(commitments, rho)
    assert signature[:32] == big_r
    assert challenge(big_r, pk, message) == G.scalar_from_digest(
        hashlib.sha512(big_r + pk + message).digest()
    )
    nacl.signing.VerifyKey(pk).verify(message, signature)
    assert all(n.secrets.consumed for n in nonces.values())


def test_rfc9591_e1_through_the_protocol_with_preprocessed_nonces(rfc: dict[str, Any]) -> None:
    keys = _rfc_keys(rfc)
    message = bytes.fromhex(rfc["inputs"]["message"])
    nonces = _rfc_round_one(rfc, keys)
    commitments = {p: n.commitments for p, n in nonces.items()}
    signers = sorted(nonces)
    out = run_protocols(
        {
            p: frost_sign(keys[p], signers, signers[-1], message, NO_TWEAK, random.Random(1),
                          preprocessed=(nonces[p], commitments))
            for p in signers
        }
    )
    assert out[signers[0]] is None
    signature = out[signers[-1]]
    assert signature is not None and signature.hex() == rfc["final_output"]["sig"]


@pytest.fixture(scope="module")
def ed_keys_3of5() -> dict[ParticipantId, KeygenOutput]:
    return run_keygen("ed25519", PARTICIPANTS, 3, 21)


def _frost(keys: dict[ParticipantId, KeygenOutput], signers: list[ParticipantId], message: bytes, tweak: bytes,
           coordinator: ParticipantId | None = None, tamper: Tamper | None = None, seed: int = 0,
           shuffle: bool = False) -> bytes:
    coord = signers[0] if coordinator is None else coordinator
    rng = random.Random(seed)
    out = run_protocols(
        {p: frost_sign(keys[p], signers, coord, message, tweak, rng) for p in signers},
        tamper=tamper,
        shuffle_rng=random.Random(seed) if shuffle else None,
    )
    sig = out[coord]
    assert sig is not None and all(out[p] is None for p in signers if p != coord)
    return sig


def test_threshold_signatures_from_dkg_verify_under_the_near_derived_key(
    ed_keys_3of5: dict[ParticipantId, KeygenOutput],
) -> None:
    keys = ed_keys_3of5
    root = keys[P(0)].public_key
    account, path = "alice.near", "solana-1"
    tweak = derive_tweak(account, path)
    derived = derive_ed25519_public_key(Ed25519PublicKey(root), account, path).data
    eps = int.from_bytes(tweak, "little") % G.order
    assert tweak_scalar(tweak) == eps
    assert tweaked_public_key(root, tweak) == derived == G.add(root, G.base_mul(eps))
    # the tweaked shares interpolate to the derived secret
    lam = lagrange_coefficients(G, [P(0), P(2), P(4)])
    assert G.base_mul(sum(lam[p] * (keys[p].private_share.expose() + eps) for p in lam)) == derived

    for i, signers in enumerate(itertools.islice(itertools.combinations(PARTICIPANTS, 3), 0, 10, 3)):
        message = f"solana tx {i}".encode()
        sig = _frost(keys, list(signers), message, tweak, coordinator=signers[i % 3], seed=i, shuffle=i % 2 == 1)
        nacl.signing.VerifyKey(derived).verify(message, sig)
        assert verify_ed25519(derived, message, sig)
        assert Ed25519Signature(sig).verify(message, Ed25519PublicKey(derived))
        assert not verify_ed25519(root, message, sig), "must not verify under the untweaked root"
        assert not verify_ed25519(derived, message + b"!", sig)
    all_five = _frost(keys, list(PARTICIPANTS), b"all five", tweak, coordinator=P(4))
    nacl.signing.VerifyKey(derived).verify(b"all five", all_five)
    no_tweak = _frost(keys, [P(1), P(2), P(3)], b"root", NO_TWEAK)
    nacl.signing.VerifyKey(root).verify(b"root", no_tweak)


def test_nonces_are_single_use(ed_keys_3of5: dict[ParticipantId, KeygenOutput]) -> None:
    keys = ed_keys_3of5
    signers = [P(0), P(1), P(2)]
    rng = random.Random(5)
    nonces = {p: frost_commit(keys[p], rng) for p in signers}
    commitments = {p: n.commitments for p, n in nonces.items()}
    assert "redacted" in repr(nonces[P(0)].secrets)
    frost_sign_share(keys[P(0)], nonces[P(0)], commitments, b"m", NO_TWEAK)
    with pytest.raises(AssetConsumedError):
        frost_sign_share(keys[P(0)], nonces[P(0)], commitments, b"another message", NO_TWEAK)
    with pytest.raises(AssetConsumedError):
        frost_sign(keys[P(0)], signers, P(0), b"m", NO_TWEAK, rng, preprocessed=(nonces[P(0)], commitments))
    assert "consumed" in repr(nonces[P(0)].secrets)


def test_bad_signature_share_names_the_sender(ed_keys_3of5: dict[ParticipantId, KeygenOutput]) -> None:
    def tamper(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        return bump_scalar_at(G, data, 2) if sender == P(3) and round_of(data) == 1 else data

    with pytest.raises(BadShareError) as info:
        _frost(ed_keys_3of5, [P(0), P(1), P(3)], b"m", derive_tweak("bob.near", "x"), coordinator=P(1), tamper=tamper)
    assert info.value.culprit == P(3)


def test_equivocated_commitments_abort_without_blaming_an_honest_signer(
    ed_keys_3of5: dict[ParticipantId, KeygenOutput],
) -> None:
    other = G.base_mul(12345)

    def tamper(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        # P(2) shows the coordinator P(0) a different (valid) hiding commitment than the one P(1) sees
        if sender == P(2) and to == P(0) and round_of(data) == 0:
            return data[:6] + other + data[38:]
        return data

    with pytest.raises(CommitmentMismatchError) as info:
        _frost(ed_keys_3of5, [P(0), P(1), P(2)], b"m", NO_TWEAK, coordinator=P(0), tamper=tamper)
    assert info.value.culprit is None


def test_identity_and_malformed_commitments_name_the_sender(ed_keys_3of5: dict[ParticipantId, KeygenOutput]) -> None:
    def identity(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        return data[:6] + G.identity + data[38:] if sender == P(4) and round_of(data) == 0 else data

    with pytest.raises(ZeroOrIdentityError) as zero:
        _frost(ed_keys_3of5, [P(2), P(3), P(4)], b"m", NO_TWEAK, tamper=identity)
    assert zero.value.culprit == P(4)

    def truncate(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        return data[:-1] if sender == P(3) and round_of(data) == 0 else data

    with pytest.raises(MalformedMessageError) as bad:
        _frost(ed_keys_3of5, [P(2), P(3), P(4)], b"m", NO_TWEAK, tamper=truncate)
    assert bad.value.culprit == P(3)

    def off_curve(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        # a small-order point (order 8) is not in the prime-order subgroup
        small = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
        return data[:6] + small + data[38:] if sender == P(2) and round_of(data) == 0 else data

    with pytest.raises(MalformedMessageError) as small_order:
        _frost(ed_keys_3of5, [P(2), P(3), P(4)], b"m", NO_TWEAK, tamper=off_curve)
    assert small_order.value.culprit == P(2)


def test_participant_set_and_input_checks(ed_keys_3of5: dict[ParticipantId, KeygenOutput],
                                          secp_keys: dict[ParticipantId, KeygenOutput]) -> None:
    keys = ed_keys_3of5
    rng = random.Random(9)
    with pytest.raises(ParticipantSetError):  # below threshold
        frost_sign(keys[P(0)], [P(0), P(1)], P(0), b"m", NO_TWEAK, rng)
    with pytest.raises(ParticipantSetError):  # not holding a key share
        frost_sign(keys[P(0)], [P(0), P(1), P(7)], P(0), b"m", NO_TWEAK, rng)
    with pytest.raises(ParticipantSetError):  # coordinator outside the set
        frost_sign(keys[P(0)], [P(0), P(1), P(2)], P(3), b"m", NO_TWEAK, rng)
    with pytest.raises(ParticipantSetError):  # me outside the set
        frost_sign(keys[P(4)], [P(0), P(1), P(2)], P(0), b"m", NO_TWEAK, rng)
    with pytest.raises(ParticipantSetError):  # duplicated ids
        frost_sign(keys[P(0)], [P(0), P(1), P(1)], P(0), b"m", NO_TWEAK, rng)
    with pytest.raises(PayloadRangeError):
        frost_sign(keys[P(0)], [P(0), P(1), P(2)], P(0), b"m", b"\x01" * 31, rng)
    with pytest.raises(ParticipantSetError):  # FROST needs an ed25519 key
        frost_commit(secp_keys[P(0)], rng)

    nonces = {p: frost_commit(keys[p], rng) for p in (P(0), P(1), P(2), P(3))}
    commitments = {p: n.commitments for p, n in nonces.items() if p != P(3)}
    with pytest.raises(ParticipantSetError):  # preprocessed for another set
        frost_sign(keys[P(0)], [P(0), P(1), P(3)], P(0), b"m", NO_TWEAK, rng, preprocessed=(nonces[P(0)], commitments))
    with pytest.raises(ParticipantSetError):  # my nonces are not the ones in the list
        frost_sign(keys[P(0)], [P(0), P(1), P(2)], P(0), b"m", NO_TWEAK, rng, preprocessed=(nonces[P(3)], commitments))
    with pytest.raises(ParticipantSetError):  # commitment filed under another participant
        frost_sign_share(keys[P(0)], nonces[P(0)], {**commitments, P(2): nonces[P(1)].commitments}, b"m", NO_TWEAK)
    bad = {**commitments, P(1): SigningCommitments(P(1), G.identity, nonces[P(1)].commitments.binding)}
    with pytest.raises(ZeroOrIdentityError) as zero:
        frost_sign_share(keys[P(0)], nonces[P(0)], bad, b"m", NO_TWEAK)
    assert zero.value.culprit == P(1)
    assert not nonces[P(0)].secrets.consumed, "refused requests consume nothing"
    shares = {p: frost_sign_share(keys[p], nonces[p], commitments, b"m", NO_TWEAK) for p in commitments}
    with pytest.raises(ParticipantSetError):  # a share missing
        frost_aggregate(keys[P(0)], commitments, b"m", NO_TWEAK, {p: shares[p] for p in (P(0), P(1))})
    with pytest.raises(BadShareError) as info:  # a share from the wrong key material
        forged = {**shares, P(2): FrostSignatureShare(P(2), (shares[P(2)].z + 1) % G.order)}
        frost_aggregate(keys[P(0)], commitments, b"m", NO_TWEAK, forged)
    assert info.value.culprit == P(2)
    assert verify_ed25519(keys[P(0)].public_key, b"m", frost_aggregate(keys[P(0)], commitments, b"m", NO_TWEAK, shares))


@pytest.mark.parametrize(("n", "t"), [(2, 2), (3, 2), (7, 4)])
def test_other_thresholds(n: int, t: int) -> None:
    ps = [P(i) for i in range(n)]
    keys = run_keygen("ed25519", ps, t, 100 + n)
    tweak = derive_tweak("carol.near", f"path-{n}-{t}")
    derived = tweaked_public_key(keys[P(0)].public_key, tweak)
    for signers in (ps[:t], ps[-t:], ps):
        sig = _frost(keys, signers, b"msg", tweak, coordinator=signers[-1], seed=n * t)
        nacl.signing.VerifyKey(derived).verify(b"msg", sig)
