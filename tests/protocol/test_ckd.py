"""Confidential key derivation in memory: a DKG over BLS12-381 G2 (the existing keygen on the new group), then CKD
sessions with a coordinator; the requester's decryption checked against the reconstructed master key and against
py_ecc (an implementation independent of arkworks) for hash-to-curve and the pairing."""

from __future__ import annotations

import hashlib
import random

import pytest
from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.bls.point_compression import compress_G1, compress_G2, decompress_G1, decompress_G2
from py_ecc.optimized_bls12_381 import FQ12, G2, final_exponentiate, multiply, neg, pairing

from chainsig.errors import CkdVerificationError
from mpc_service.protocol import KeygenOutput, ParticipantId, keygen, run_protocols
from mpc_service.protocol.ckd import (
    CKD_DOMAIN,
    CkdOutput,
    CkdRequesterKey,
    ckd,
    ckd_share,
    combine_ckd_shares,
    decrypt_ckd_output,
    hash_app_id,
    verify_ckd_output,
)
from mpc_service.protocol.errors import (
    MalformedMessageError,
    ParticipantSetError,
    ZeroOrIdentityError,
)
from mpc_service.protocol.groups import BLS12381_G1, BLS12381_G2, SECP256K1
from mpc_service.protocol.polynomial import lagrange_coefficients

from .helpers import Tamper, round_of

P = ParticipantId
APP_ID = hashlib.sha3_256(b"app.near,ckd/path").digest()


@pytest.fixture(scope="module")
def dkg() -> dict[ParticipantId, KeygenOutput]:
    """A 3-of-4 master key over G2, from the project's DKG."""
    rng = random.Random(7)
    ps = [P(i) for i in range(4)]
    return run_protocols({p: keygen(BLS12381_G2, ps, p, 3, b"ckd-dkg", rng) for p in ps})


def _msk(outs: dict[ParticipantId, KeygenOutput]) -> int:
    subset = tuple(sorted(outs))[:3]
    lam = lagrange_coefficients(BLS12381_G2, subset)
    return sum(lam[p] * outs[p].private_share.expose() for p in subset) % BLS12381_G2.order


def _run_ckd(
    outs: dict[ParticipantId, KeygenOutput],
    session: list[ParticipantId],
    coordinator: ParticipantId,
    requester: CkdRequesterKey,
    app_id: bytes = APP_ID,
    seed: int = 1,
    tamper: Tamper | None = None,
) -> dict[ParticipantId, CkdOutput | None]:
    rng = random.Random(seed)
    return run_protocols(
        {p: ckd(outs[p], session, coordinator, app_id, requester.public_key, rng) for p in session}, tamper=tamper
    )


def test_dkg_over_g2_gives_a_g2_master_key(dkg: dict[ParticipantId, KeygenOutput]) -> None:
    mvk = dkg[P(0)].public_key
    assert len(mvk) == 96 and all(out.public_key == mvk for out in dkg.values())
    assert BLS12381_G2.base_mul(_msk(dkg)) == mvk


def test_hash_app_id_matches_py_ecc() -> None:
    """RFC 9380 hash-to-curve with the reference's DST, against py_ecc's independent implementation."""
    mvk = BLS12381_G2.base_mul(12345)
    expected = compress_G1(hash_to_G1(mvk + APP_ID, CKD_DOMAIN, hashlib.sha256)).to_bytes(48, "big")
    assert hash_app_id(mvk, APP_ID) == expected
    assert hash_app_id(mvk, APP_ID + b"x") != expected


def test_ckd_end_to_end(dkg: dict[ParticipantId, KeygenOutput]) -> None:
    requester = CkdRequesterKey.generate(random.Random(99))
    mvk = dkg[P(0)].public_key
    results = _run_ckd(dkg, [P(0), P(1), P(3)], P(1), requester)
    assert [p for p, r in results.items() if r is not None] == [P(1)]  # only the coordinator gets the output
    output = results[P(1)]
    assert output is not None
    signature = decrypt_ckd_output(output, requester, mvk, APP_ID)
    # S = msk·H(mvk, app_id), with msk reconstructed from the shares ...
    assert signature == BLS12381_G1.mul(hash_app_id(mvk, APP_ID), _msk(dkg))
    # ... and, by py_ecc's pairing, a BLS signature under mvk: e(S, G2)·e(−H, mvk) = 1.
    s = decompress_G1(int.from_bytes(signature, "big"))
    h = decompress_G1(int.from_bytes(hash_app_id(mvk, APP_ID), "big"))
    mvk_point = decompress_G2((int.from_bytes(mvk[:48], "big"), int.from_bytes(mvk[48:], "big")))
    assert final_exponentiate(pairing(G2, s) * pairing(mvk_point, neg(h))) == FQ12.one()
    assert verify_ckd_output(output, requester.public_key_g2, mvk, APP_ID)


def test_ckd_is_deterministic_per_app_and_hidden_per_request(dkg: dict[ParticipantId, KeygenOutput]) -> None:
    mvk = dkg[P(0)].public_key
    r1, r2 = CkdRequesterKey.generate(random.Random(1)), CkdRequesterKey.generate(random.Random(2))
    out1 = _run_ckd(dkg, [P(0), P(1), P(2)], P(0), r1, seed=10)[P(0)]
    out2 = _run_ckd(dkg, [P(1), P(2), P(3), P(0)], P(3), r2, seed=11)[P(3)]
    assert out1 is not None and out2 is not None
    # Other participants, another coordinator, another one-time key: the ciphertexts differ, the secret does not.
    assert (out1.big_y, out1.big_c) != (out2.big_y, out2.big_c)
    assert decrypt_ckd_output(out1, r1, mvk, APP_ID) == decrypt_ckd_output(out2, r2, mvk, APP_ID)
    # Another app gets another secret; a requester with the wrong key gets nothing.
    other = _run_ckd(dkg, [P(0), P(1), P(2)], P(0), r1, app_id=b"other app")[P(0)]
    assert other is not None
    assert decrypt_ckd_output(other, r1, mvk, b"other app") != decrypt_ckd_output(out1, r1, mvk, APP_ID)
    with pytest.raises(CkdVerificationError):
        decrypt_ckd_output(out1, r2, mvk, APP_ID)
    with pytest.raises(CkdVerificationError):
        decrypt_ckd_output(out1, r1, mvk, b"other app")


def test_shares_combine_without_the_protocol_machine(dkg: dict[ParticipantId, KeygenOutput]) -> None:
    requester = CkdRequesterKey.generate(random.Random(5))
    session = [P(0), P(2), P(3)]
    rng = random.Random(6)
    shares = [ckd_share(dkg[p], session, APP_ID, requester.public_key, rng) for p in session]
    output = combine_ckd_shares(shares)
    assert decrypt_ckd_output(output, requester, dkg[P(0)].public_key, APP_ID) == BLS12381_G1.mul(
        hash_app_id(dkg[P(0)].public_key, APP_ID), _msk(dkg)
    )
    with pytest.raises(ParticipantSetError):
        combine_ckd_shares([*shares, shares[0]])


def test_public_check_rejects_a_wrong_output(dkg: dict[ParticipantId, KeygenOutput]) -> None:
    requester = CkdRequesterKey.generate(random.Random(3))
    mvk = dkg[P(0)].public_key
    output = _run_ckd(dkg, [P(0), P(1), P(2)], P(2), requester)[P(2)]
    assert output is not None
    bumped = CkdOutput(output.big_y, BLS12381_G1.add(output.big_c, BLS12381_G1.generator))
    assert not verify_ckd_output(bumped, requester.public_key_g2, mvk, APP_ID)
    assert not verify_ckd_output(output, requester.public_key_g2, mvk, b"another app")
    assert not verify_ckd_output(output, BLS12381_G2.base_mul(4), mvk, APP_ID)
    assert not verify_ckd_output(CkdOutput(output.big_y, b"\x80" + bytes(47)), requester.public_key_g2, mvk, APP_ID)


def test_a_cheating_participant_is_caught_by_the_requester(dkg: dict[ParticipantId, KeygenOutput]) -> None:
    """Participant 2 sends a valid but wrong point as its λ·C: the coordinator cannot tell, the requester's
    pairing check can (and so can anyone holding A₂)."""
    requester = CkdRequesterKey.generate(random.Random(4))
    mvk = dkg[P(0)].public_key
    wrong_c = BLS12381_G1.base_mul(77)

    def tamper(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        if sender == P(2) and round_of(data) == 0:
            return data[: 2 + 4 + 48] + len(wrong_c).to_bytes(4, "big") + wrong_c
        return data

    output = _run_ckd(dkg, [P(0), P(1), P(2)], P(0), requester, tamper=tamper)[P(0)]
    assert output is not None
    with pytest.raises(CkdVerificationError):
        decrypt_ckd_output(output, requester, mvk, APP_ID)
    assert not verify_ckd_output(output, requester.public_key_g2, mvk, APP_ID)


@pytest.mark.parametrize(
    ("replacement", "error"),
    [
        (b"\x80" + bytes(47), MalformedMessageError),  # (0, 2): on the curve, outside G1
        (b"\xc0" + bytes(47), ZeroOrIdentityError),  # the identity
        (bytes(48), MalformedMessageError),  # no compressed flag
    ],
)
def test_the_coordinator_names_a_sender_of_bad_points(
    dkg: dict[ParticipantId, KeygenOutput], replacement: bytes, error: type[Exception]
) -> None:
    requester = CkdRequesterKey.generate(random.Random(8))

    def tamper(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        if sender == P(1) and round_of(data) == 0:
            return data[:6] + replacement + data[6 + 48 :]
        return data

    with pytest.raises(error) as info:
        _run_ckd(dkg, [P(0), P(1), P(2)], P(0), requester, tamper=tamper)
    assert getattr(info.value, "culprit", None) == P(1)


def test_session_checks(dkg: dict[ParticipantId, KeygenOutput]) -> None:
    requester = CkdRequesterKey.generate(random.Random(9))
    rng = random.Random(0)
    with pytest.raises(ParticipantSetError, match="coordinator"):
        ckd(dkg[P(0)], [P(0), P(1), P(2)], P(3), APP_ID, requester.public_key, rng)
    with pytest.raises(ParticipantSetError, match="cannot reconstruct"):
        ckd(dkg[P(0)], [P(0), P(1)], P(0), APP_ID, requester.public_key, rng)
    with pytest.raises(ParticipantSetError, match="not in the participant set"):
        ckd(dkg[P(0)], [P(1), P(2), P(3)], P(1), APP_ID, requester.public_key, rng)
    with pytest.raises(ParticipantSetError, match="hold no share"):
        ckd(dkg[P(0)], [P(0), P(1), P(9)], P(0), APP_ID, requester.public_key, rng)
    secp = run_protocols({p: keygen(SECP256K1, [P(0), P(1)], p, 2, b"s", random.Random(1)) for p in (P(0), P(1))})
    with pytest.raises(ParticipantSetError, match="bls12381-g2"):
        ckd(secp[P(0)], [P(0), P(1)], P(0), APP_ID, requester.public_key, rng)
    # An app key that is not a G1 point is refused before anything is sent.
    instance = ckd(dkg[P(0)], [P(0), P(1), P(2)], P(1), APP_ID, BLS12381_G1.identity, rng)
    with pytest.raises(ZeroOrIdentityError):
        instance.poke()


def test_requester_secret_is_redacted() -> None:
    requester = CkdRequesterKey.generate(random.Random(11))
    assert "<redacted>" in repr(requester)
    assert str(requester.secret.as_int()) not in repr(requester)
    assert BLS12381_G1.base_mul(requester.secret.as_int()) == requester.public_key
    z1, z2 = compress_G2(multiply(G2, requester.secret.as_int()))  # A₂ = a·G2, by py_ecc
    assert requester.public_key_g2 == z1.to_bytes(48, "big") + z2.to_bytes(48, "big")
