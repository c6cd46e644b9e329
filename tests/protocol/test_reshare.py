"""Key resharing on both curves: the key stays, the new shares sign (ECDSA triples → presign → sign, FROST) under
the root and the NEAR-derived key, joiners sign, departed shares are useless, cheating dealers are named, chains of
reshares keep the key."""
from __future__ import annotations

import hashlib
import importlib
import itertools
import random
from collections.abc import Callable, Sequence
from typing import Any

import coincurve
import nacl.signing
import pytest

from chainsig.kdf import derive_ed25519_public_key, derive_secp256k1_public_key, derive_tweak
from chainsig.keys import Ed25519PublicKey, Secp256k1PublicKey
from mpc_service.protocol import (
    ED25519,
    SECP256K1,
    EcdsaSignature,
    HonestMajorityTripleGenerator,
    KeygenOutput,
    ParticipantId,
    ecdsa_sign,
    frost_sign,
    keygen,
    presign,
    run_protocols,
    verify_ecdsa,
    verify_ed25519,
)
from mpc_service.protocol.errors import (
    BadProofError,
    BadShareError,
    CommitmentMismatchError,
    MalformedMessageError,
    ParticipantSetError,
)
from mpc_service.protocol.groups import Group, Point
from mpc_service.protocol.polynomial import lagrange_coefficients
from mpc_service.protocol.proofs import SchnorrProof, prove_schnorr
from mpc_service.protocol.reshare import PublicKeyPackage, ReshareOutput, reshare

from .helpers import Tamper, drive_until_failures, tamper_last_scalar

reshare_module = importlib.import_module("mpc_service.protocol.reshare")  # the module; the package exports the function
P = ParticipantId
GROUPS = [SECP256K1, ED25519]
ACCOUNT, PATH = "alice.near", "ethereum-1"


def _ids(xs: Sequence[int]) -> list[ParticipantId]:
    return [P(x) for x in xs]


def _keygen(g: Group, ps: Sequence[int], t: int, seed: int) -> dict[ParticipantId, KeygenOutput]:
    rng = random.Random(seed)
    return run_protocols({p: keygen(g, _ids(ps), p, t, b"old-key", rng) for p in _ids(ps)})


def _reshare(
    old_keys: dict[ParticipantId, KeygenOutput],
    dealers: Sequence[int],
    new: Sequence[int],
    new_t: int,
    seed: int = 0,
    *,
    tamper: Tamper | None = None,
    shuffle: bool = False,
) -> dict[ParticipantId, ReshareOutput]:
    old = PublicKeyPackage.from_keygen(next(iter(old_keys.values())))
    rng = random.Random(seed)
    everyone = sorted(set(_ids(dealers)) | set(_ids(new)))
    instances = {
        p: reshare(old, dealers, new, new_t, p, b"reshare-%d" % seed, rng,
                   old_share=old_keys[p] if p in dealers else None)
        for p in everyone
    }
    return run_protocols(instances, tamper=tamper, shuffle_rng=random.Random(seed + 1) if shuffle else None)


def _new_keys(outs: dict[ParticipantId, ReshareOutput]) -> dict[ParticipantId, KeygenOutput]:
    return {p: o.key for p, o in outs.items() if o.key is not None}


def _interpolate(g: Group, shares: dict[ParticipantId, int]) -> int:
    lam = lagrange_coefficients(g, sorted(shares))
    return sum(lam[p] * s for p, s in shares.items()) % g.order


def _secret(g: Group, keys: dict[ParticipantId, KeygenOutput], subset: Sequence[ParticipantId]) -> int:
    return _interpolate(g, {p: keys[p].private_share.expose() for p in subset})


def _ecdsa(keys: dict[ParticipantId, KeygenOutput], signers: Sequence[int], msg_hash: bytes, tweak: bytes,
           seed: int) -> EcdsaSignature:
    """Triples among the whole new set (honest-majority generator), presign and sign among ``signers``."""
    rng = random.Random(seed)
    ps, ss = sorted(keys), _ids(signers)
    t = keys[ps[0]].threshold
    gen = HonestMajorityTripleGenerator()
    triples = run_protocols({p: gen.generate(ps, p, t, b"triples-%d" % seed, 2, rng) for p in ps})
    presigs = run_protocols({p: presign(keys[p], triples[p][0], triples[p][1], ss) for p in ss})
    out = run_protocols({p: ecdsa_sign(presigs[p], ss, ss[0], tweak=tweak, msg_hash=msg_hash,
                                       entropy=hashlib.sha256(b"e%d" % seed).digest()) for p in ss})
    sig = out[ss[0]]
    assert sig is not None
    return sig


def _frost(keys: dict[ParticipantId, KeygenOutput], signers: Sequence[int], message: bytes, tweak: bytes,
           seed: int) -> bytes:
    rng = random.Random(seed)
    ss = _ids(signers)
    out = run_protocols({p: frost_sign(keys[p], ss, ss[-1], message, tweak, rng) for p in ss})
    sig = out[ss[-1]]
    assert sig is not None
    return sig


def _check_ecdsa_signs(keys: dict[ParticipantId, KeygenOutput], signers: Sequence[int], root: Point, seed: int
                       ) -> None:
    """Sign under the NEAR-derived key (derived independently with chainsig.kdf) and under the root key."""
    msg_hash = hashlib.sha256(b"after reshare %d" % seed).digest()
    tweak = derive_tweak(ACCOUNT, PATH)
    derived_xy = derive_secp256k1_public_key(Secp256k1PublicKey(SECP256K1.uncompressed(root)[1:]), ACCOUNT, PATH).xy
    derived = coincurve.PublicKey(b"\x04" + derived_xy).format()
    sig = _ecdsa(keys, signers, msg_hash, tweak, seed)
    assert coincurve.PublicKey(derived).verify(coincurve.ecdsa.cdata_to_der(coincurve.ecdsa.deserialize_compact(
        sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big"))), msg_hash, hasher=None)
    assert verify_ecdsa(derived, msg_hash, sig.r, sig.s, require_low_s=True)
    assert not verify_ecdsa(root, msg_hash, sig.r, sig.s)
    sig0 = _ecdsa(keys, signers, msg_hash, bytes(32), seed + 1)
    assert verify_ecdsa(root, msg_hash, sig0.r, sig0.s, require_low_s=True)


def _check_frost_signs(keys: dict[ParticipantId, KeygenOutput], signers: Sequence[int], root: Point, seed: int
                       ) -> None:
    tweak = derive_tweak(ACCOUNT, PATH)
    derived = derive_ed25519_public_key(Ed25519PublicKey(root), ACCOUNT, PATH).data
    message = b"solana tx after reshare %d" % seed
    sig = _frost(keys, signers, message, tweak, seed)
    nacl.signing.VerifyKey(derived).verify(message, sig)
    assert verify_ed25519(derived, message, sig) and not verify_ed25519(root, message, sig)
    sig0 = _frost(keys, signers, message, bytes(32), seed + 1)
    nacl.signing.VerifyKey(root).verify(message, sig0)


def _plus_one(honest: Callable[..., int], g: Group) -> Callable[..., int]:
    """A cheating dealer's constant term: its Lagrange-weighted share plus one."""
    return lambda *args: (honest(*args) + 1) % g.order


def _bad_proof(g: Group) -> Callable[..., SchnorrProof]:
    """A cheating dealer's proof of knowledge: a valid one with its response changed."""
    def prove(*args: Any) -> SchnorrProof:
        proof = prove_schnorr(*args)
        return SchnorrProof(proof.e, (proof.s + 1) % g.order)
    return prove


SCENARIOS = {
    # name: (old participants, old t, dealers, new participants, new t)
    "3of5-to-4of5-one-leaves-one-joins": ([0, 1, 2, 3, 4], 3, [1, 2, 4], [0, 1, 2, 3, 5], 4),
    "2of3-to-3of4": ([0, 1, 2], 2, [0, 2], [0, 1, 2, 3], 3),
    "3of5-to-2of3-down": ([0, 1, 2, 3, 4], 3, [0, 1, 2, 3, 4], [3, 4, 5], 2),
    "2of2-to-2of3-all-joiners": ([0, 1], 2, [0, 1], [2, 3, 4], 2),
}


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_reshare_keeps_the_key_and_the_new_threshold_holds_it(g: Group, name: str) -> None:
    old_ps, old_t, dealers, new_ps, new_t = SCENARIOS[name]
    old_keys = _keygen(g, old_ps, old_t, seed=len(name))
    root = old_keys[P(old_ps[0])].public_key
    outs = _reshare(old_keys, dealers, new_ps, new_t, seed=7, shuffle=True)

    assert set(outs) == set(_ids(dealers)) | set(_ids(new_ps))
    (public,) = {o.public for o in outs.values()}
    assert public.public_key == root and public.participants == tuple(_ids(new_ps)) and public.threshold == new_t
    assert len(public.verification_commitments) == new_t
    for p, o in outs.items():
        assert (o.key is None) == (p not in new_ps), "departing dealers get no share, new participants one each"
    keys = _new_keys(outs)
    for p, k in keys.items():
        assert k.public_key == root and k.threshold == new_t and k.participants == tuple(_ids(new_ps))
        assert public.verification_share(p) == k.verification_share(p) == g.base_mul(k.private_share.expose())
        assert PublicKeyPackage.from_keygen(k) == public, "the output is the next resharing's input"
        if p in old_keys:
            assert k.private_share != old_keys[p].private_share, "a continuing node gets a fresh share"
    for subset in itertools.combinations(sorted(keys), new_t):
        assert g.base_mul(_secret(g, keys, subset)) == root
    if new_t > 1:
        for subset in itertools.combinations(sorted(keys), new_t - 1):
            assert g.base_mul(_secret(g, keys, subset)) != root


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_new_share_is_redacted(g: Group) -> None:
    old_keys = _keygen(g, [0, 1, 2], 2, seed=3)
    out = _reshare(old_keys, [0, 1], [0, 1, 2, 3], 3, seed=4)[P(3)]
    assert out.key is not None
    share = out.key.private_share.expose()
    text = repr(out)
    assert "redacted" in text and str(share) not in text and g.encode_scalar(share).hex() not in text


def test_ecdsa_signs_after_a_membership_change_with_a_joiner() -> None:
    """3-of-5 → 3-of-5 where participant 3 deals and leaves and 5 joins; the joiner signs."""
    old_keys = _keygen(SECP256K1, [0, 1, 2, 3, 4], 3, seed=21)
    keys = _new_keys(_reshare(old_keys, [0, 1, 3], [0, 1, 2, 4, 5], 3, seed=22))
    root = old_keys[P(0)].public_key
    _check_ecdsa_signs(keys, [1, 4, 5], root, seed=23)
    _check_ecdsa_signs(keys, [0, 2, 4, 5], root, seed=24)


def test_ecdsa_signs_after_raising_the_threshold() -> None:
    """2-of-3 → 3-of-5 (the triple generator needs n ≥ 2t − 1, so 4-of-5 cannot presign; FROST covers 4-of-5)."""
    old_keys = _keygen(SECP256K1, [0, 1, 2], 2, seed=31)
    keys = _new_keys(_reshare(old_keys, [1, 2], [0, 1, 2, 3, 4], 3, seed=32))
    _check_ecdsa_signs(keys, [2, 3, 4], old_keys[P(0)].public_key, seed=33)


@pytest.mark.parametrize(("old_ps", "old_t", "dealers", "new_ps", "new_t", "signers"), [
    ([0, 1, 2, 3, 4], 3, [0, 2, 4], [0, 1, 2, 3, 5], 4, [1, 2, 3, 5]),
    ([0, 1, 2], 2, [0, 1], [0, 1, 2, 3], 3, [0, 2, 3]),
])
def test_frost_signs_after_resharing(old_ps: list[int], old_t: int, dealers: list[int], new_ps: list[int],
                                     new_t: int, signers: list[int]) -> None:
    old_keys = _keygen(ED25519, old_ps, old_t, seed=41)
    keys = _new_keys(_reshare(old_keys, dealers, new_ps, new_t, seed=42))
    _check_frost_signs(keys, signers, old_keys[P(0)].public_key, seed=43)


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_a_departed_share_does_not_combine_with_new_shares(g: Group) -> None:
    old_keys = _keygen(g, [0, 1, 2, 3, 4], 3, seed=51)
    root = old_keys[P(0)].public_key
    keys = _new_keys(_reshare(old_keys, [0, 1, 4], [0, 1, 2, 3, 5], 3, seed=52))  # 4 leaves
    assert g.base_mul(_secret(g, keys, [P(0), P(1), P(5)])) == root
    for pair in itertools.combinations([P(0), P(1), P(2), P(3), P(5)], 2):
        mixed = {p: keys[p].private_share.expose() for p in pair} | {P(4): old_keys[P(4)].private_share.expose()}
        assert g.base_mul(_interpolate(g, mixed)) != root
    # continuing nodes' old shares do not mix with the new sharing either
    mixed = {P(0): keys[P(0)].private_share.expose(), P(1): keys[P(1)].private_share.expose(),
             P(2): old_keys[P(2)].private_share.expose()}
    assert g.base_mul(_interpolate(g, mixed)) != root


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_wrong_sub_share_to_one_recipient_names_the_dealer(g: Group) -> None:
    old_keys = _keygen(g, [0, 1, 2, 3, 4], 3, seed=61)
    with pytest.raises(BadShareError) as info:
        _reshare(old_keys, [0, 2, 3], [0, 1, 2, 3, 5], 4, seed=62, tamper=tamper_last_scalar(g, P(2), 1, victim=P(5)))
    assert info.value.culprit == P(2) and "sub-share" in str(info.value)


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_dealer_dealing_another_secret_is_named(g: Group, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dealer that deals a consistent polynomial (valid proof, matching sub-shares) for a different constant."""
    old_keys = _keygen(g, [0, 1, 2, 3, 4], 3, seed=71)
    old = PublicKeyPackage.from_keygen(old_keys[P(0)])
    dealers, new = [0, 1, 3], [0, 1, 2, 3, 4, 5]
    rng = random.Random(72)
    instances = {}
    for p in _ids(sorted(set(dealers) | set(new))):
        with monkeypatch.context() as m:
            if p == P(1):
                m.setattr(reshare_module, "_dealer_constant", _plus_one(reshare_module._dealer_constant, g))
            instances[p] = reshare(old, dealers, new, 3, p, b"sid", rng,
                                   old_share=old_keys[p] if p in dealers else None)
    with pytest.raises(BadShareError) as info:
        run_protocols(instances)
    assert info.value.culprit == P(1) and "another secret" in str(info.value)


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_inconsistent_broadcast_names_the_dealer(g: Group) -> None:
    """Dealer 3 sends participant 5 a round-0 broadcast that differs from everyone else's: the echo catches it."""
    old_keys = _keygen(g, [0, 1, 2, 3, 4], 3, seed=81)
    with pytest.raises(CommitmentMismatchError) as info:
        _reshare(old_keys, [1, 3, 4], [0, 1, 2, 3, 5], 3, seed=82, tamper=tamper_last_scalar(g, P(3), 0, victim=P(5)))
    assert info.value.culprit == P(3) and "inconsistent broadcast" in str(info.value)


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_bad_proof_of_knowledge_names_the_dealer(g: Group, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dealer 2 broadcasts the same dealing to everyone, but its proof of knowledge is wrong."""
    old_keys = _keygen(g, [0, 1, 2], 2, seed=91)
    old = PublicKeyPackage.from_keygen(old_keys[P(0)])
    rng = random.Random(92)
    instances = {}
    for p in _ids([0, 1, 2, 3]):
        with monkeypatch.context() as m:
            if p == P(2):
                m.setattr(reshare_module, "prove_schnorr", _bad_proof(g))
            instances[p] = reshare(old, [0, 2], [0, 1, 2, 3], 3, p, b"sid", rng,
                                   old_share=old_keys[p] if p in (0, 2) else None)
    with pytest.raises(BadProofError) as info:
        run_protocols(instances)
    assert info.value.culprit == P(2)


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_tampered_broadcast_to_everyone_still_names_the_dealer(g: Group) -> None:
    """Bytes changed on the way to every recipient: the dealer's own view differs, so the echo names it."""
    old_keys = _keygen(g, [0, 1, 2], 2, seed=95)
    with pytest.raises((CommitmentMismatchError, BadProofError)) as info:
        _reshare(old_keys, [0, 2], [0, 1, 2, 3], 3, seed=96, tamper=tamper_last_scalar(g, P(2), 0))
    assert info.value.culprit == P(2)


def test_malformed_dealing_names_the_dealer() -> None:
    old_keys = _keygen(SECP256K1, [0, 1, 2], 2, seed=93)

    def truncate(sender: ParticipantId, to: ParticipantId, data: bytes) -> bytes:
        return data[:-1] if sender == P(1) and data[:2] == b"\x00\x01" else data  # a truncated sub-share

    with pytest.raises(MalformedMessageError) as info:
        _reshare(old_keys, [0, 1], [0, 1, 2, 3], 3, seed=94, tamper=truncate)
    assert info.value.culprit == P(1)


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_participant_with_other_parameters_is_named_at_the_echo(g: Group) -> None:
    """The joiner was told another new threshold (or fed other old commitments): it disagrees at the echo."""
    old_keys = _keygen(g, [0, 1, 2], 2, seed=101)
    old = PublicKeyPackage.from_keygen(old_keys[P(0)])
    rng = random.Random(102)
    for bad in (
        reshare(old, [0, 1], [0, 1, 2, 3], 2, P(3), b"sid", rng),
        reshare(PublicKeyPackage(g, old.public_key, old.participants, old.threshold,
                                 (old.public_key, g.base_mul(12345))), [0, 1], [0, 1, 2, 3], 3, P(3), b"sid", rng),
    ):
        instances = {p: reshare(old, [0, 1], [0, 1, 2, 3], 3, p, b"sid", rng,
                                old_share=old_keys[p] if p in (0, 1) else None) for p in _ids([0, 1, 2])}
        instances[P(3)] = bad
        with pytest.raises(CommitmentMismatchError) as info:
            run_protocols(instances)
        assert info.value.culprit == P(3) and info.value.phase == "reshare/echo"


def test_too_few_old_participants_are_refused() -> None:
    old_keys = _keygen(SECP256K1, [0, 1, 2, 3, 4], 3, seed=111)
    old = PublicKeyPackage.from_keygen(old_keys[P(0)])
    rng = random.Random(0)
    with pytest.raises(ParticipantSetError, match="at least the old threshold of 3 old participants.*got 2"):
        reshare(old, [0, 1], [0, 1, 2, 3, 4], 3, P(0), b"sid", rng, old_share=old_keys[P(0)])


def test_bad_arguments_are_refused() -> None:
    old_keys = _keygen(ED25519, [0, 1, 2], 2, seed=121)
    old = PublicKeyPackage.from_keygen(old_keys[P(0)])
    k0, k1 = old_keys[P(0)], old_keys[P(1)]

    def start(me: int, old_share: KeygenOutput | None = None, *, dealers: Sequence[int] = (0, 1),
              new: Sequence[int] = (0, 1, 2, 3), new_t: int = 3, package: PublicKeyPackage = old) -> None:
        reshare(package, dealers, new, new_t, P(me), b"sid", random.Random(0), old_share=old_share)

    refused: list[tuple[str, Callable[[], None]]] = [
        ("hold no old share", lambda: start(0, k0, dealers=[0, 7])),
        ("distinct", lambda: start(0, k0, dealers=[0, 0, 1])),
        ("joiner ids must be larger", lambda: start(0, k0, new=[0, 1, 2], package=PublicKeyPackage(
            ED25519, old.public_key, (P(0), P(1), P(3)), 2, old.verification_commitments))),
        ("neither a dealer nor a new participant", lambda: start(9)),
        ("required for a dealer", lambda: start(0)),
        ("only for a dealer", lambda: start(2, old_keys[P(2)])),
        ("another key", lambda: start(0, k1)),
        ("threshold 5", lambda: start(0, k0, new_t=5)),
        ("do not commit to the public key", lambda: start(0, k0, package=PublicKeyPackage(
            ED25519, ED25519.base_mul(5), old.participants, 2, old.verification_commitments))),
        ("does not match its public verification share", lambda: start(0, KeygenOutput(
            ED25519, P(0), k1.private_share, k0.public_key, k0.participants, k0.threshold,
            k0.verification_commitments))),
    ]
    for match, call in refused:
        with pytest.raises(ParticipantSetError, match=match):
            call()
    start(0, k0)  # the same arguments, corrected, are accepted


def test_chained_reshares_keep_the_key_ed25519() -> None:
    """A (3-of-5) → B (4-of-5: 4 leaves, 5 joins) → C (2-of-3: 6 joins), then FROST at C with the newest joiner."""
    a = _keygen(ED25519, [0, 1, 2, 3, 4], 3, seed=131)
    root = a[P(0)].public_key
    b = _new_keys(_reshare(a, [0, 2, 4], [0, 1, 2, 3, 5], 4, seed=132))
    c_outs = _reshare(b, [0, 1, 3, 5], [1, 5, 6], 2, seed=133)
    c = _new_keys(c_outs)
    assert c_outs[P(0)].key is None and c_outs[P(0)].public.public_key == root
    _check_frost_signs(c, [5, 6], root, seed=134)
    _check_frost_signs(c, [1, 6], root, seed=135)
    assert ED25519.base_mul(_secret(ED25519, c, [P(1), P(6)])) == root


def test_chained_reshares_keep_the_key_secp256k1() -> None:
    """A (2-of-3) → B (3-of-5) → C (2-of-3 with two joiners), then ECDSA at C."""
    a = _keygen(SECP256K1, [0, 1, 2], 2, seed=141)
    root = a[P(0)].public_key
    b = _new_keys(_reshare(a, [0, 2], [0, 1, 2, 3, 4], 3, seed=142))
    c = _new_keys(_reshare(b, [1, 3, 4], [2, 5, 6], 2, seed=143))
    _check_ecdsa_signs(c, [5, 6], root, seed=144)


def test_nobody_outputs_when_one_new_participant_got_a_bad_sub_share() -> None:
    """The victim never sends its success message, so neither the others nor the departing dealer finish."""
    old_keys = _keygen(SECP256K1, [0, 1, 2, 3], 3, seed=151)
    old = PublicKeyPackage.from_keygen(old_keys[P(0)])
    dealers, new = [0, 1, 3], [0, 1, 2, 4]  # 3 deals and leaves, 4 joins
    rng = random.Random(152)
    everyone = _ids(sorted(set(dealers) | set(new)))
    instances = {p: reshare(old, dealers, new, 3, p, b"sid", rng, old_share=old_keys[p] if p in dealers else None)
                 for p in everyone}
    tamper = tamper_last_scalar(SECP256K1, P(1), 1, victim=P(4))
    finished, failed = drive_until_failures(instances, everyone, tamper, BadShareError)
    assert set(failed) == {P(4)} and failed[P(4)].culprit == P(1)
    assert not finished, "no participant may finish while the joiner could not verify its share"
