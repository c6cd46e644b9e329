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
    Send,
    Wait,
    derive_public_key,
    ecdsa_sign,
    presign,
    recover_ecdsa,
    rerandomize,
    run_protocols,
    verify_ecdsa,
)
from mpc_service.protocol.ecdsa import check_message_hash, derive_delta
from mpc_service.protocol.errors import (
    AssetConsumedError,
    BadProofError,
    BadShareError,
    MalformedMessageError,
    ParticipantSetError,
    PayloadRangeError,
    ProtocolAbortedError,
    UnexpectedMessageError,
    ZeroOrIdentityError,
)
from mpc_service.protocol.polynomial import lagrange_coefficients

from .conftest import PARTICIPANTS, PresignFactory, TripleFactory, run_keygen
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
    assert info.value.culprit == P(1)  # type: ignore[attr-defined]


def test_client_derivation_and_evm_path_accept_the_threshold_signature(
    secp_keys: dict[ParticipantId, KeygenOutput], make_presignatures: PresignFactory
) -> None:
    """The whole client path: chainsig derives the key/address from the root, the protocol signs an EIP-1559
    transaction under the same tweak, chainsig attaches the signature and eth-account recovers the derived address."""
    from chainsig import kdf
    from chainsig.addresses import address_for
    from chainsig.evm import Eip1559Transaction
    from chainsig.keys import Secp256k1PublicKey
    from chainsig.signatures import EcdsaSignature as ClientSignature
    from chainsig.signatures import parse_signature_response

    root = secp_keys[P(0)].public_key
    account, path = "alice.near", "ethereum-1"
    tweak = kdf.derive_tweak(account, path)
    client_key = kdf.derive_public_key(str(Secp256k1PublicKey.from_sec1(root)), account, path)
    assert isinstance(client_key, Secp256k1PublicKey)
    derived = derive_public_key(root, tweak)
    assert client_key.compressed == derived
    address = address_for("ethereum", client_key)

    tx = Eip1559Transaction(chain_id=1, nonce=0, max_priority_fee_per_gas_wei=10**9, max_fee_per_gas_wei=5 * 10**10,
                            gas_limit=21_000, to="0x000000000000000000000000000000000000dEaD", value_wei=10**15)
    msg_hash = tx.hash_to_sign()
    ps = [P(2), P(3), P(4)]
    sig = _sign(make_presignatures(ps), ps, msg_hash, tweak=tweak, coordinator=P(3))
    _check_everywhere(sig, msg_hash, derived)
    client_sig = parse_signature_response(sig.to_contract_json())
    assert isinstance(client_sig, ClientSignature) and client_sig.is_low_s
    assert client_sig.recover(msg_hash) == client_key
    assert client_sig.verify(msg_hash, client_key)
    signed = tx.attach_signature(client_sig, expected_sender=address)
    assert Account.recover_transaction(signed.raw) == address == signed.sender


def test_sign_messages_out_of_order_and_malformed(make_presignatures: PresignFactory) -> None:
    ps = [P(0), P(1), P(2)]
    msg_hash = hashlib.sha256(b"shuffled").digest()
    presigs = make_presignatures(ps)
    out = run_protocols(
        {p: ecdsa_sign(presigs[p], ps, P(2), tweak=TWEAK, msg_hash=msg_hash, entropy=b"\x05" * 32) for p in ps},
        shuffle_rng=random.Random(3),
    )
    sig = out[P(2)]
    assert sig is not None
    _check_everywhere(sig, msg_hash, derive_public_key(presigs[P(0)].public_key, TWEAK))

    presigs = make_presignatures(ps)
    coordinator = ecdsa_sign(presigs[P(0)], ps, P(0), tweak=TWEAK, msg_hash=msg_hash, entropy=bytes(32))
    assert isinstance(coordinator.poke(), Wait)
    with pytest.raises(MalformedMessageError) as info:  # a share that is not below n
        coordinator.message(P(1), b"\x00\x00" + N.to_bytes(32, "big"))
        coordinator.message(P(2), b"\x00\x00" + (5).to_bytes(32, "big"))
        coordinator.poke()
    assert info.value.culprit == P(1)
    with pytest.raises(ProtocolAbortedError):
        coordinator.poke()
    with pytest.raises(UnexpectedMessageError):  # a finished (failed) instance refuses more messages
        coordinator.message(P(2), b"\x00\x00" + (5).to_bytes(32, "big"))


def test_presign_refuses_messages_for_unknown_rounds_and_trailing_bytes(
    secp_keys: dict[ParticipantId, KeygenOutput], make_triples: TripleFactory
) -> None:
    triples = make_triples(2)
    ps = [P(0), P(1), P(2)]
    inst = presign(secp_keys[P(0)], triples[P(0)][0], triples[P(0)][1], ps)
    assert isinstance(inst.poke(), Send)
    with pytest.raises(MalformedMessageError) as no_round:
        inst.message(P(1), b"\x00\x05" + bytes(32))
    assert no_round.value.culprit == P(1)
    # a round-1 message arriving before round 0 is buffered, not an error
    inst.message(P(2), b"\x00\x01" + bytes(64))
    inst.message(P(1), b"\x00\x00" + bytes(33))  # one trailing byte
    inst.message(P(2), b"\x00\x00" + bytes(32))
    with pytest.raises(MalformedMessageError) as trailing:
        inst.poke()
    assert trailing.value.culprit == P(1)


def test_presign_with_key_of_the_wrong_curve_or_set(
    secp_keys: dict[ParticipantId, KeygenOutput],
    ed_keys: dict[ParticipantId, KeygenOutput],
    make_triples: TripleFactory,
) -> None:
    triples = make_triples(2)
    with pytest.raises(ParticipantSetError):
        presign(ed_keys[P(0)], triples[P(0)][0], triples[P(0)][1], [P(0), P(1), P(2)])
    other = run_keygen("secp256k1", [P(0), P(1), P(2)], 2, 77)
    with pytest.raises(ParticipantSetError):  # triples made for threshold 3, key has threshold 2
        presign(other[P(0)], triples[P(0)][0], triples[P(0)][1], [P(0), P(1), P(2)])
    assert not triples[P(0)][0].secrets.consumed


def test_zero_and_identity_inputs_are_refused() -> None:
    g = SECP256K1
    with pytest.raises(ZeroOrIdentityError):
        g.invert(0)
    with pytest.raises(ZeroOrIdentityError):
        g.decode_point(g.identity)
    with pytest.raises(ZeroOrIdentityError):  # X + ε·G = identity when ε = −x
        derive_public_key(g.base_mul(N - 5), (5).to_bytes(32, "big"))
    with pytest.raises(PayloadRangeError):
        check_message_hash(bytes(32))


def test_a_dishonest_presign_party_cannot_make_the_coordinator_output_a_bad_signature(
    make_presignatures: PresignFactory,
) -> None:
    """A share off by any amount is caught: the coordinator only returns signatures that verify under X + ε·G."""
    ps = [P(0), P(1), P(2), P(3)]
    presigs = make_presignatures(ps)

    def tamper(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        if sender == P(2):
            return data[:2] + SECP256K1.encode_scalar(int.from_bytes(data[2:], "big") + N // 3)
        return data

    with pytest.raises(BadShareError) as info:
        _sign(presigs, ps, hashlib.sha256(b"y").digest(), coordinator=P(1), tamper=tamper)
    assert info.value.culprit == P(2)


def test_triples_survive_reordering_and_name_malformed_senders() -> None:
    gen = HonestMajorityTripleGenerator()
    rng = random.Random(5)
    triples = run_protocols({p: gen.generate(PARTICIPANTS, p, 3, b"sid", 1, rng) for p in PARTICIPANTS},
                            shuffle_rng=random.Random(6))
    publics = {t[0].public for t in triples.values()}
    assert len(publics) == 1
    (pub,) = publics
    lam = lagrange_coefficients(SECP256K1, [P(0), P(2), P(4)])
    secrets = {p: triples[p][0].take() for p in (P(0), P(2), P(4))}
    a = sum(lam[p] * s.a for p, s in secrets.items()) % N
    b = sum(lam[p] * s.b for p, s in secrets.items()) % N
    c = sum(lam[p] * s.c for p, s in secrets.items()) % N
    assert c == a * b % N and SECP256K1.base_mul(c) == pub.big_c and SECP256K1.base_mul(a) == pub.big_a

    def truncate(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        return data[:-3] if sender == P(3) and int.from_bytes(data[:2], "big") == 3 else data

    with pytest.raises(MalformedMessageError) as info:
        run_protocols({p: gen.generate(PARTICIPANTS, p, 3, b"sid", 2, rng) for p in PARTICIPANTS}, tamper=truncate)
    assert info.value.culprit == P(3)
    with pytest.raises(ValueError):
        gen.generate(PARTICIPANTS, P(0), 3, b"sid", 0, rng)
    with pytest.raises(ParticipantSetError):
        gen.generate(PARTICIPANTS, P(9), 3, b"sid", 1, rng)


def test_messages_from_outside_the_signing_set_are_refused(make_presignatures: PresignFactory) -> None:
    ps = [P(0), P(1), P(2)]
    presigs = make_presignatures(ps)
    inst = ecdsa_sign(presigs[P(0)], ps, P(0), tweak=TWEAK, msg_hash=b"\x01" * 32, entropy=bytes(32))
    with pytest.raises(UnexpectedMessageError) as info:
        inst.message(P(3), b"\x00\x00" + bytes(32))  # P(3) holds a key share but is not in this signing set
    assert info.value.culprit == P(3)
    assert isinstance(inst.poke(), Wait), "the refused message changed nothing"


@pytest.mark.parametrize(("n", "t"), [(3, 2), (7, 4)])
def test_other_thresholds(n: int, t: int) -> None:
    ps = [P(i) for i in range(n)]
    keys = run_keygen("secp256k1", ps, t, 200 + n)
    rng = random.Random(n)
    gen = HonestMajorityTripleGenerator()
    triples = run_protocols({p: gen.generate(ps, p, t, b"sid", 4, rng) for p in ps})
    derived = derive_public_key(keys[P(0)].public_key, TWEAK)
    for k, signers in enumerate((ps[:t], ps[n - t:])):
        presigs = run_protocols(
            {p: presign(keys[p], triples[p][2 * k], triples[p][2 * k + 1], signers) for p in signers}
        )
        msg_hash = hashlib.sha256(b"threshold %d" % k).digest()
        _check_everywhere(_sign(presigs, signers, msg_hash, coordinator=signers[-1]), msg_hash, derived)
