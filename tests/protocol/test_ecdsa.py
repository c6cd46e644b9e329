"""Threshold ECDSA: triples → presignatures → one-round signing, checked with coincurve, python-ecdsa, ecrecover
and eth-account; reuse, set, payload and culprit checks."""
from __future__ import annotations

import hashlib
import random

import coincurve
import ecdsa
import ecdsa.util
import pytest
from eth_account import Account
from eth_account._utils.legacy_transactions import encode_transaction, serializable_unsigned_transaction_from_dict
from eth_utils import keccak, to_checksum_address

from mpc_service.protocol import (
    SECP256K1,
    EcdsaSignature,
    HonestMajorityTripleGenerator,
    KeygenOutput,
    ParticipantId,
    Presignature,
    derive_public_key,
    ecdsa_sign,
    presign,
    recover_ecdsa,
    rerandomize,
    run_protocols,
    verify_ecdsa,
)
from mpc_service.protocol.ecdsa import derive_delta
from mpc_service.protocol.errors import (
    AssetConsumedError,
    BadProofError,
    BadShareError,
    ParticipantSetError,
    PayloadRangeError,
)

from .conftest import PARTICIPANTS, PresignFactory, TripleFactory
from .helpers import tamper_last_scalar

P = ParticipantId
N = SECP256K1.order
TWEAK = hashlib.sha3_256(b"near-mpc-recovery v0.1.0 epsilon derivation:alice.near,ethereum-1").digest()


def _sign(presigs: dict[ParticipantId, Presignature], signers: list[ParticipantId], msg_hash: bytes,
          tweak: bytes = TWEAK, entropy: bytes = b"\x07" * 32, coordinator: ParticipantId | None = None,
          tamper: object = None) -> EcdsaSignature:
    coord = coordinator if coordinator is not None else signers[0]
    out = run_protocols(
        {p: ecdsa_sign(presigs[p], signers, coord, tweak=tweak, msg_hash=msg_hash, entropy=entropy) for p in signers},
        tamper=tamper,  # type: ignore[arg-type]
    )
    assert all(out[p] is None for p in signers if p != coord)
    sig = out[coord]
    assert sig is not None
    return sig


def _check_everywhere(sig: EcdsaSignature, msg_hash: bytes, derived: bytes) -> None:
    assert 0 < sig.s <= N // 2, "low-s"
    der = ecdsa.util.sigencode_der(sig.r, sig.s, N)
    assert coincurve.PublicKey(derived).verify(der, msg_hash, hasher=None)
    vk = ecdsa.VerifyingKey.from_string(derived, curve=ecdsa.SECP256k1)
    assert vk.verify_digest(der, msg_hash, sigdecode=ecdsa.util.sigdecode_der)
    assert recover_ecdsa(msg_hash, sig.r, sig.s, sig.recovery_id) == derived
    recovered = coincurve.PublicKey.from_signature_and_message(sig.to_rsv(), msg_hash, hasher=None)
    assert recovered.format() == derived
    assert verify_ecdsa(derived, msg_hash, sig.r, sig.s, require_low_s=True)
    other = hashlib.sha256(msg_hash).digest()
    assert not verify_ecdsa(derived, other, sig.r, sig.s)


@pytest.mark.parametrize("signers", [[1, 3, 4], [0, 1, 2, 3, 4]])
def test_signatures_verify_under_the_derived_key(
    secp_keys: dict[ParticipantId, KeygenOutput], make_presignatures: PresignFactory, signers: list[int]
) -> None:
    ps = [P(i) for i in signers]
    root = secp_keys[P(0)].public_key
    derived = derive_public_key(root, TWEAK)
    assert derived == SECP256K1.add(root, SECP256K1.base_mul(int.from_bytes(TWEAK, "big")))
    parities = set()
    for i in range(4):
        msg_hash = hashlib.sha256(f"payload {signers} {i}".encode()).digest()
        sig = _sign(make_presignatures(ps), ps, msg_hash, coordinator=ps[i % len(ps)])
        _check_everywhere(sig, msg_hash, derived)
        parities.add(sig.recovery_id)
        assert not verify_ecdsa(root, msg_hash, sig.r, sig.s), "must not verify under the untweaked root"
        js = sig.to_contract_json()
        assert js["scheme"] == "Secp256k1" and js["recovery_id"] == sig.recovery_id
        assert bytes.fromhex(js["big_r"]["affine_point"])[1:] == sig.r.to_bytes(32, "big")  # type: ignore[index]


def test_zero_tweak_signs_under_the_root_key(
    secp_keys: dict[ParticipantId, KeygenOutput], make_presignatures: PresignFactory
) -> None:
    ps = [P(0), P(2), P(4)]
    msg_hash = hashlib.sha256(b"root").digest()
    sig = _sign(make_presignatures(ps), ps, msg_hash, tweak=bytes(32))
    _check_everywhere(sig, msg_hash, secp_keys[P(0)].public_key)


def test_ethereum_transaction_sender_is_the_derived_address(
    secp_keys: dict[ParticipantId, KeygenOutput], make_presignatures: PresignFactory
) -> None:
    derived = derive_public_key(secp_keys[P(0)].public_key, TWEAK)
    address = to_checksum_address(keccak(SECP256K1.uncompressed(derived)[1:])[12:])
    tx = {
        "type": 2,
        "chainId": 11155111,
        "nonce": 7,
        "maxPriorityFeePerGas": 1_000_000_000,
        "maxFeePerGas": 30_000_000_000,
        "gas": 21_000,
        "to": "0x0000000000000000000000000000000000000001",
        "value": 12345,
        "data": b"",
        "accessList": [],
    }
    unsigned = serializable_unsigned_transaction_from_dict(tx)
    msg_hash = unsigned.hash()
    ps = [P(0), P(1), P(3)]
    sig = _sign(make_presignatures(ps), ps, msg_hash)
    raw = encode_transaction(unsigned, vrs=(sig.recovery_id, sig.r, sig.s))
    assert Account.recover_transaction(raw) == address


def test_presignature_reuse_is_refused(make_presignatures: PresignFactory) -> None:
    ps = [P(0), P(1), P(2)]
    presigs = make_presignatures(ps)
    msg_hash = hashlib.sha256(b"once").digest()
    _sign(presigs, ps, msg_hash)
    for p in ps:
        assert presigs[p].secrets.consumed
        with pytest.raises(AssetConsumedError):
            ecdsa_sign(presigs[p], ps, P(0), tweak=TWEAK, msg_hash=msg_hash, entropy=b"\x01" * 32)
        with pytest.raises(AssetConsumedError):
            rerandomize(presigs[p], tweak=TWEAK, msg_hash=hashlib.sha256(b"other").digest(), entropy=b"\x02" * 32)
    assert "redacted" in repr(presigs[P(0)].secrets) or "consumed" in repr(presigs[P(0)].secrets)


def test_triple_reuse_is_refused(secp_keys: dict[ParticipantId, KeygenOutput], make_triples: TripleFactory) -> None:
    triples = make_triples(3)
    ps = [P(0), P(1), P(2)]
    run_protocols({p: presign(secp_keys[p], triples[p][0], triples[p][1], ps) for p in ps})
    with pytest.raises(AssetConsumedError):
        presign(secp_keys[P(0)], triples[P(0)][0], triples[P(0)][2], ps)
    with pytest.raises(ParticipantSetError):
        presign(secp_keys[P(0)], triples[P(0)][2], triples[P(0)][2], ps)


def test_signing_set_must_equal_presigning_set(make_presignatures: PresignFactory) -> None:
    presigs = make_presignatures([P(0), P(1), P(2)])
    with pytest.raises(ParticipantSetError):
        ecdsa_sign(presigs[P(0)], [P(0), P(1), P(3)], P(0), tweak=TWEAK, msg_hash=b"\x01" * 32, entropy=bytes(32))
    with pytest.raises(ParticipantSetError):
        ecdsa_sign(presigs[P(0)], [P(0), P(1), P(2)], P(4), tweak=TWEAK, msg_hash=b"\x01" * 32, entropy=bytes(32))
    # a refused request consumed nothing
    assert not presigs[P(0)].secrets.consumed


def test_presign_set_checks(secp_keys: dict[ParticipantId, KeygenOutput], make_triples: TripleFactory) -> None:
    triples = make_triples(2)
    with pytest.raises(ParticipantSetError):  # below threshold
        presign(secp_keys[P(0)], triples[P(0)][0], triples[P(0)][1], [P(0), P(1)])
    with pytest.raises(ParticipantSetError):  # not holding key shares / not in the triple set
        presign(secp_keys[P(0)], triples[P(0)][0], triples[P(0)][1], [P(0), P(1), P(9)])
    with pytest.raises(ParticipantSetError):  # another participant's triple
        presign(secp_keys[P(0)], triples[P(1)][0], triples[P(1)][1], [P(0), P(1), P(2)])
    assert not triples[P(0)][0].secrets.consumed


def test_honest_majority_generator_needs_n_at_least_2t_minus_1() -> None:
    with pytest.raises(ParticipantSetError):
        HonestMajorityTripleGenerator().generate([P(0), P(1), P(2), P(3)], P(0), 3, b"s", 1, random.Random(0))


@pytest.mark.parametrize(
    "payload",
    [bytes(32), N.to_bytes(32, "big"), (N + 1).to_bytes(32, "big"), b"\xff" * 32, b"\x01" * 31, b"\x01" * 33],
)
def test_payloads_out_of_range_are_refused_before_consuming(make_presignatures: PresignFactory, payload: bytes) -> None:
    ps = [P(0), P(1), P(2)]
    presigs = make_presignatures(ps)
    with pytest.raises(PayloadRangeError):
        ecdsa_sign(presigs[P(0)], ps, P(0), tweak=TWEAK, msg_hash=payload, entropy=bytes(32))
    assert not presigs[P(0)].secrets.consumed


def test_tweak_and_entropy_validation(make_presignatures: PresignFactory) -> None:
    ps = [P(0), P(1), P(2)]
    presigs = make_presignatures(ps)
    with pytest.raises(PayloadRangeError):
        ecdsa_sign(presigs[P(0)], ps, P(0), tweak=N.to_bytes(32, "big"), msg_hash=b"\x01" * 32, entropy=bytes(32))
    with pytest.raises(PayloadRangeError):
        ecdsa_sign(presigs[P(0)], ps, P(0), tweak=b"\x01" * 31, msg_hash=b"\x01" * 32, entropy=bytes(32))
    with pytest.raises(PayloadRangeError):
        ecdsa_sign(presigs[P(0)], ps, P(0), tweak=TWEAK, msg_hash=b"\x01" * 32, entropy=b"short")
    assert not presigs[P(0)].secrets.consumed


def test_rerandomizer_binds_every_input() -> None:
    g = SECP256K1
    x, r = g.base_mul(3), g.base_mul(5)
    ps = [P(0), P(1), P(2)]
    base = derive_delta(x, TWEAK, b"\x01" * 32, r, ps, b"\x02" * 32)
    variants = [
        derive_delta(g.base_mul(4), TWEAK, b"\x01" * 32, r, ps, b"\x02" * 32),
        derive_delta(x, bytes(32), b"\x01" * 32, r, ps, b"\x02" * 32),
        derive_delta(x, TWEAK, b"\x03" * 32, r, ps, b"\x02" * 32),
        derive_delta(x, TWEAK, b"\x01" * 32, g.base_mul(6), ps, b"\x02" * 32),
        derive_delta(x, TWEAK, b"\x01" * 32, r, [P(0), P(1), P(3)], b"\x02" * 32),
        derive_delta(x, TWEAK, b"\x01" * 32, r, ps, b"\x04" * 32),
    ]
    assert base == derive_delta(x, TWEAK, b"\x01" * 32, r, ps, b"\x02" * 32)
    assert len({base, *variants}) == 7


def test_bad_signature_share_names_the_sender(make_presignatures: PresignFactory) -> None:
    ps = [P(0), P(2), P(3)]
    presigs = make_presignatures(ps)
    with pytest.raises(BadShareError) as info:
        _sign(presigs, ps, hashlib.sha256(b"x").digest(), coordinator=P(0),
              tamper=tamper_last_scalar(SECP256K1, P(3), 0))
    assert info.value.culprit == P(3)


@pytest.mark.parametrize("round_", [0, 1])
def test_bad_presign_opening_names_the_sender(
    secp_keys: dict[ParticipantId, KeygenOutput], make_triples: TripleFactory, round_: int
) -> None:
    triples = make_triples(2)
    ps = [P(1), P(2), P(4)]
    with pytest.raises(BadShareError) as info:
        run_protocols(
            {p: presign(secp_keys[p], triples[p][0], triples[p][1], ps) for p in ps},
            tamper=tamper_last_scalar(SECP256K1, P(4), round_),
        )
    assert info.value.culprit == P(4)


@pytest.mark.parametrize(("round_", "error"), [(2, BadShareError), (3, BadProofError), (4, BadShareError)])
def test_bad_triple_messages_name_the_sender(round_: int, error: type[Exception]) -> None:
    gen = HonestMajorityTripleGenerator()
    rng = random.Random(99)
    with pytest.raises(error) as info:
        run_protocols(
            {p: gen.generate(PARTICIPANTS, p, 3, b"sid", 2, rng) for p in PARTICIPANTS},
            tamper=tamper_last_scalar(SECP256K1, P(1), round_, victim=P(0) if round_ != 3 else None),
        )
    assert getattr(info.value, "culprit") == P(1)
