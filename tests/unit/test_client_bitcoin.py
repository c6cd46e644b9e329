"""Bitcoin P2WPKH spends of chain-signature keys, verified by Bitcoin Core's consensus code (libbitcoinkernel).

The test holds the root secret, so it signs as the MPC network would (derived secret = root + ε mod n, a fresh
random nonce, the contract's JSON response shape), while addresses and spends are built from *public* derivation.
BIP-143 / BIP-350 published vectors cross-check the sighash, the serialization and the address decoder.
"""

from __future__ import annotations

import random
from typing import Any

import bech32
import coincurve
import pbk
import pytest

from chainsig.addresses import BitcoinNetwork, bitcoin_p2wpkh_address, hash160, p2wpkh_script_pubkey
from chainsig.bitcoin import (
    OutPoint,
    P2wpkhInput,
    P2wpkhSpend,
    SignedBitcoinTransaction,
    TxOutput,
    segwit_script_pubkey,
    verify_with_bitcoin_kernel,
)
from chainsig.errors import TransactionError
from chainsig.kdf import SECP256K1_ORDER as N
from chainsig.kdf import derive_secp256k1_public_key, derive_secp256k1_secret
from chainsig.keys import Secp256k1PublicKey
from chainsig.local_signer import public_key_of, unsafe_sign_hash
from chainsig.redacted import SecretScalar
from chainsig.signatures import EcdsaSignature, Ed25519Signature, parse_signature_response

PREDECESSOR = "alice.test.near"
# Regtest address of BIP-173's example key hash, encoded by sipa's reference `bech32` (not by the code under test).
RECIPIENT = str(bech32.encode("bcrt", 0, list(bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6"))))


def _mpc_response(secret: SecretScalar, digest: bytes, rng: random.Random, *, high_s: bool | None = None) -> Any:
    """Sign as the signer contract answers: R = k·G (compressed hex), s = k⁻¹(z + r·d), recovery id = parity of R.

    Unlike `unsafe_sign_hash` the nonce is random and s is left as it falls (or forced high/low)."""
    while True:
        k = rng.randrange(1, N)
        big_r = coincurve.PrivateKey(k.to_bytes(32, "big")).public_key.format(compressed=True)
        r = int.from_bytes(big_r[1:], "big")
        if r < N:
            break
    s = pow(k, -1, N) * (int.from_bytes(digest, "big") + r * secret.as_int()) % N
    recovery_id = big_r[0] & 1
    if high_s is not None and (s > N // 2) != high_s:
        s, recovery_id = N - s, recovery_id ^ 1
    return {
        "scheme": "Secp256k1",
        "big_r": {"affine_point": big_r.hex().upper()},
        "s": {"scalar": s.to_bytes(32, "big").hex().upper()},
        "recovery_id": recovery_id,
    }


def _key(root_secret: SecretScalar, path: str) -> tuple[SecretScalar, Secp256k1PublicKey]:
    """The derived secret (the MPC network's share sum) and the key derived from the root *public* key."""
    secret = derive_secp256k1_secret(root_secret, PREDECESSOR, path)
    public = derive_secp256k1_public_key(public_key_of(root_secret), PREDECESSOR, path)
    assert public_key_of(secret) == public
    return secret, public


def _signed_spend(
    root_secret: SecretScalar, n_inputs: int, seed: int = 7
) -> tuple[P2wpkhSpend, list[EcdsaSignature], SignedBitcoinTransaction]:
    rng = random.Random(seed)
    keys = [_key(root_secret, f"bitcoin-{i % 2}") for i in range(n_inputs)]  # two derived keys, reused
    inputs = tuple(
        P2wpkhInput(OutPoint(rng.randbytes(32).hex(), i), 40_000 + 1_000 * i, public)
        for i, (_, public) in enumerate(keys)
    )
    change = bitcoin_p2wpkh_address(keys[0][1], BitcoinNetwork.REGTEST)
    total = sum(i.value_sat for i in inputs)
    outputs = (
        TxOutput.to_address(RECIPIENT, 30_000, BitcoinNetwork.REGTEST),
        TxOutput.to_address(change, total - 30_000 - 500, BitcoinNetwork.REGTEST),
    )
    spend = P2wpkhSpend(inputs, outputs, locktime=200)
    signatures = []
    for (secret, _), digest in zip(keys, spend.hashes_to_sign()):
        parsed = parse_signature_response(_mpc_response(secret, digest, rng))
        assert isinstance(parsed, EcdsaSignature)
        signatures.append(parsed)
    return spend, signatures, spend.attach_signatures(signatures)


# --- addresses -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("network", "prefix"),
    [(BitcoinNetwork.MAINNET, "bc1q"), (BitcoinNetwork.TESTNET, "tb1q"), (BitcoinNetwork.REGTEST, "bcrt1q")],
)
def test_derived_p2wpkh_address_maps_to_its_script(
    root_secret: SecretScalar, network: BitcoinNetwork, prefix: str
) -> None:
    _, public = _key(root_secret, "bitcoin-0")
    address = bitcoin_p2wpkh_address(public, network)
    assert address.startswith(prefix) and len(address) == len(prefix) + 38
    script = segwit_script_pubkey(address, network)
    assert script == p2wpkh_script_pubkey(public) == b"\x00\x14" + hash160(public.compressed)
    assert segwit_script_pubkey(address.upper(), network) == script
    other = next(n for n in BitcoinNetwork if n is not network)
    with pytest.raises(TransactionError, match="not a segwit address"):
        segwit_script_pubkey(address, other)


# BIP-350 "Test vectors for v0-v16 native segregated witness addresses" (valid), verbatim.
BIP350_VALID = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
    ),
    (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    (
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
]

# BIP-350 invalid segwit addresses (reason in the BIP), verbatim.
BIP350_INVALID = [
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",  # invalid hrp
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # bech32 instead of bech32m
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",  # bech32 instead of bech32m
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",  # bech32 instead of bech32m
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # bech32m instead of bech32
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",  # bech32m instead of bech32
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",  # invalid character in checksum
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",  # invalid witness version
    "bc1pw5dgrnzv",  # program length 1
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",  # program length 41
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",  # v0 program length 16
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",  # mixed case
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",  # zero padding > 4 bits
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",  # non-zero padding
    "bc1gmk9yu",  # empty data section
]


def _network_of(address: str) -> BitcoinNetwork:
    return BitcoinNetwork.TESTNET if address.lower().startswith("tb1") else BitcoinNetwork.MAINNET


@pytest.mark.parametrize(("address", "script_hex"), BIP350_VALID)
def test_bip350_valid_addresses(address: str, script_hex: str) -> None:
    assert segwit_script_pubkey(address, _network_of(address)).hex() == script_hex
    assert TxOutput.to_address(address, 1, _network_of(address)).script_pubkey.hex() == script_hex


@pytest.mark.parametrize("address", BIP350_INVALID)
def test_bip350_invalid_addresses(address: str) -> None:
    with pytest.raises(TransactionError):
        segwit_script_pubkey(address, _network_of(address))


# --- BIP-143 vectors -------------------------------------------------------------------------------------------


def _vector_key(secret_hex: str, compressed_hex: str) -> tuple[SecretScalar, Secp256k1PublicKey]:
    secret = SecretScalar.from_hex(secret_hex)
    public = Secp256k1PublicKey.from_sec1(bytes.fromhex(compressed_hex))
    assert public_key_of(secret) == public
    return secret, public


def _outpoint(serialized_txid_hex: str, vout: int) -> OutPoint:
    """An outpoint from the txid bytes as they appear in a serialized transaction (little-endian)."""
    return OutPoint(bytes.fromhex(serialized_txid_hex)[::-1].hex(), vout)


def _p2pkh(key_hash_hex: str) -> bytes:
    return bytes.fromhex("76a914" + key_hash_hex + "88ac")


def test_bip143_native_p2wpkh_sighash() -> None:
    """BIP-143 "Native P2WPKH": the sighash of input 1 (the P2WPKH one) and the published signature over it.

    Input 0 of the vector is a P2PK output; its outpoint and sequence are all BIP-143 commits to for input 1, so it
    is modelled here as a P2WPKH input with a placeholder key and value."""
    secret, public = _vector_key(
        "619c335025c7f4012e556c2a58b2506e30b8511b53ade95ea316fd8c3286feb9",
        "025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee6357",
    )
    assert p2wpkh_script_pubkey(public).hex() == "00141d0f172a0ecb48aee1be1f2687d2963ae33f71a1"
    placeholder = public_key_of(SecretScalar.from_int(1))
    spend = P2wpkhSpend(
        inputs=(
            P2wpkhInput(
                _outpoint("fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f", 0),
                625_000_000,
                placeholder,
                sequence=0xFFFFFFEE,
            ),
            P2wpkhInput(
                _outpoint("ef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a", 1),
                600_000_000,
                public,
                sequence=0xFFFFFFFF,
            ),
        ),
        outputs=(
            TxOutput(112_340_000, _p2pkh("8280b37df378db99f66f85c95a783a76ac7a6d59")),
            TxOutput(223_450_000, _p2pkh("3bde42dbee7e4dbe6a21b2d50ce2f0167faa8159")),
        ),
        version=1,
        locktime=17,
    )
    sighash = spend.sighash(1)
    assert sighash.hex() == "c37af31116d1b27caf68aae9e3ac82f1477929014d5b917657d0eb49478cb670"
    published = bytes.fromhex(
        "304402203609e17b84f6a7d30c80bfa610b5b4542f32a8a0d5447a12fb1366d7f01cc44a"
        "0220573a954c4518331561406f90300e8f3358f51928d43c212a8caed02de67eebee"
    )
    assert coincurve.PublicKey(public.compressed).verify(published, sighash, hasher=None)
    assert unsafe_sign_hash(secret, sighash).to_der() == published  # RFC 6979, as Bitcoin Core signed it


def test_bip143_p2sh_p2wpkh_sighash_and_signed_bytes() -> None:
    """BIP-143 "P2SH-P2WPKH": same sighash rules; the signed transaction equals the published bytes once the P2SH
    redeem-script push (which a native P2WPKH spend does not have) is put in the scriptSig."""
    secret, public = _vector_key(
        "eb696a065ef48a2192da5b28b694f87544b30fae8327c4510137a922f32c6dcf",
        "03ad1d8e89212f0b92c74d23bb710c00662ad1470198ac48c43f7d6f93a2a26873",
    )
    outpoint = _outpoint("db6b1b20aa0fd7b23880be2ecbd4a98130974cf4748fb66092ac4d3ceb1a5477", 1)
    spend = P2wpkhSpend(
        inputs=(P2wpkhInput(outpoint, 1_000_000_000, public, sequence=0xFFFFFFFE),),
        outputs=(
            TxOutput(199_996_600, _p2pkh("a457b684d7f0d539a46a45bbc043f35b59d0d963")),
            TxOutput(800_000_000, _p2pkh("fd270b1ee6abcaea97fea7ad0402e8bd8ad6d77c")),
        ),
        version=1,
        locktime=1170,
    )
    (sighash,) = spend.hashes_to_sign()
    assert sighash.hex() == "64f3b0f4dd2bb3aa1ce8566d220cc74dda9df97d8490cc81d89d735c92e59fb6"
    signed = spend.attach_signatures([unsafe_sign_hash(secret, sighash)])
    redeem_push = bytes.fromhex("1716001479091972186c449eb1ded22b78e40d009bdf0089")
    native_in = outpoint.serialize() + b"\x00" + bytes.fromhex("feffffff")
    assert signed.raw.count(native_in) == 1
    as_p2sh = signed.raw.replace(native_in, outpoint.serialize() + redeem_push + bytes.fromhex("feffffff"))
    assert as_p2sh.hex() == (
        "01000000000101db6b1b20aa0fd7b23880be2ecbd4a98130974cf4748fb66092ac4d3ceb1a5477010000001716001479091972186c"
        "449eb1ded22b78e40d009bdf0089feffffff02b8b4eb0b000000001976a914a457b684d7f0d539a46a45bbc043f35b59d0d96388ac"
        "0008af2f000000001976a914fd270b1ee6abcaea97fea7ad0402e8bd8ad6d77c88ac02473044022047ac8e878352d3ebbde1c94ce3"
        "a10d057c24175747116f8288e5d794d12d482f0220217f36a485cae903c713331d877c1f64677e3622ad4010726870540656fe9dcb"
        "012103ad1d8e89212f0b92c74d23bb710c00662ad1470198ac48c43f7d6f93a2a2687392040000"
    )
    # The native form is what Bitcoin Core accepts for the key's P2WPKH output.
    verify_with_bitcoin_kernel(signed.raw, spend.spent_outputs)


# --- signing and consensus verification ------------------------------------------------------------------------


@pytest.mark.parametrize("n_inputs", [1, 3])
def test_mpc_signed_spend_passes_bitcoin_core(root_secret: SecretScalar, n_inputs: int) -> None:
    spend, signatures, signed = _signed_spend(root_secret, n_inputs)
    for signature, digest, spent in zip(signatures, spend.hashes_to_sign(), spend.inputs):
        assert signature.recover(digest) == spent.public_key  # the response's recovery id is consistent
    verify_with_bitcoin_kernel(signed.raw, spend.spent_outputs)
    tx = pbk.Transaction(signed.raw)
    assert str(tx.txid) == signed.txid and signed.txid != signed.wtxid
    assert len(tx.inputs) == n_inputs and len(tx.outputs) == 2 and tx.locktime == 200
    assert spend.fee_sat == 500


def test_high_s_response_is_normalized_in_the_witness(root_secret: SecretScalar) -> None:
    secret, public = _key(root_secret, "bitcoin-0")
    spend = P2wpkhSpend(
        (P2wpkhInput(OutPoint("ab" * 32, 0), 10_000, public),),
        (TxOutput.to_address(RECIPIENT, 9_000, BitcoinNetwork.REGTEST),),
    )
    (digest,) = spend.hashes_to_sign()
    high = EcdsaSignature.from_response(_mpc_response(secret, digest, random.Random(1), high_s=True))
    assert not high.is_low_s and high.verify(digest, public)
    signed = spend.attach_signatures([high])
    assert high.to_der() not in signed.raw
    assert high.normalized().to_der() + b"\x01" in signed.raw  # low-s (BIP-146 policy) + SIGHASH_ALL
    verify_with_bitcoin_kernel(signed.raw, spend.spent_outputs)


def _flip_s(raw: bytes, signature: EcdsaSignature) -> bytes:
    der = signature.normalized().to_der()
    assert raw.count(der) == 1
    return raw.replace(der, der[:-1] + bytes([der[-1] ^ 1]))  # still strict DER, different s


def test_tampering_fails_bitcoin_core(root_secret: SecretScalar) -> None:
    spend, signatures, signed = _signed_spend(root_secret, 2)
    spent = spend.spent_outputs
    verify_with_bitcoin_kernel(signed.raw, spent)

    # The chain's UTXO is worth one satoshi more than the amount the signature committed to.
    richer = (TxOutput(spent[0].value_sat + 1, spent[0].script_pubkey), spent[1])
    with pytest.raises(TransactionError, match="input 0"):
        verify_with_bitcoin_kernel(signed.raw, richer)

    # The spent output belongs to another key.
    _, stranger = _key(root_secret, "someone-else")
    foreign = (spent[0], TxOutput(spent[1].value_sat, p2wpkh_script_pubkey(stranger)))
    with pytest.raises(TransactionError, match="input 1"):
        verify_with_bitcoin_kernel(signed.raw, foreign)

    # An output is redirected after signing.
    original = spend.outputs[0].serialize()
    redirected = TxOutput(spend.outputs[0].value_sat, p2wpkh_script_pubkey(stranger)).serialize()
    assert signed.raw.count(original) == 1 and len(redirected) == len(original)
    with pytest.raises(TransactionError, match="input 0"):
        verify_with_bitcoin_kernel(signed.raw.replace(original, redirected), spent)

    # An output amount is raised after signing.
    more = TxOutput(spend.outputs[0].value_sat + 100, spend.outputs[0].script_pubkey).serialize()
    with pytest.raises(TransactionError, match="input 0"):
        verify_with_bitcoin_kernel(signed.raw.replace(original, more), spent)

    # One signature's s is altered.
    with pytest.raises(TransactionError, match="input 1"):
        verify_with_bitcoin_kernel(_flip_s(signed.raw, signatures[1]), spent)

    # Input 0 carries a valid signature by its own key, but over input 1's sighash (replayed across inputs).
    secret0, _ = _key(root_secret, "bitcoin-0")
    replayed = unsafe_sign_hash(secret0, spend.sighash(1)).to_der() + b"\x01"
    item = signatures[0].normalized().to_der() + b"\x01"
    assert signed.raw.count(bytes([len(item)]) + item) == 1
    with pytest.raises(TransactionError, match="input 0"):
        verify_with_bitcoin_kernel(
            signed.raw.replace(bytes([len(item)]) + item, bytes([len(replayed)]) + replayed), spent
        )


def test_kernel_verification_rejects_malformed_input(root_secret: SecretScalar) -> None:
    spend, _, signed = _signed_spend(root_secret, 1)
    with pytest.raises(TransactionError, match="cannot decode"):
        verify_with_bitcoin_kernel(signed.raw[:-1], spend.spent_outputs)
    with pytest.raises(TransactionError, match="trailing"):
        verify_with_bitcoin_kernel(signed.raw + b"\x00", spend.spent_outputs)
    with pytest.raises(TransactionError, match="spent outputs"):
        verify_with_bitcoin_kernel(signed.raw, spend.spent_outputs * 2)


def test_attach_rejects_bad_signatures(root_secret: SecretScalar) -> None:
    spend, signatures, signed = _signed_spend(root_secret, 2)
    with pytest.raises(TransactionError, match="need 2 signatures, got 1"):
        spend.attach_signatures(signatures[:1])
    with pytest.raises(TransactionError, match="signature 0 does not verify"):
        spend.attach_signatures(signatures[::-1])  # inputs 0 and 1 belong to different derived keys
    other_secret, _ = _key(root_secret, "someone-else")
    wrong_key = unsafe_sign_hash(other_secret, spend.sighash(1))
    with pytest.raises(TransactionError, match="signature 1 does not verify"):
        spend.attach_signatures([signatures[0], wrong_key])
    with pytest.raises(TransactionError, match="not a secp256k1 ECDSA"):
        spend.attach_signatures([signatures[0], Ed25519Signature(bytes(64))])  # type: ignore[list-item]
    assert spend.attach_signatures(signatures) == signed  # nothing was changed by the failed attempts


def test_spend_validation() -> None:
    key = public_key_of(SecretScalar.from_int(5))
    good_in = P2wpkhInput(OutPoint("cd" * 32, 0), 1_000, key)
    good_out = TxOutput(900, p2wpkh_script_pubkey(key))
    with pytest.raises(TransactionError, match="txid"):
        OutPoint("zz" * 32, 0)
    with pytest.raises(TransactionError, match="32 bytes"):
        OutPoint("cd" * 31, 0)
    with pytest.raises(TransactionError, match="vout"):
        OutPoint("cd" * 32, 2**32)
    with pytest.raises(TransactionError, match="input value"):
        P2wpkhInput(OutPoint("cd" * 32, 0), 0, key)
    with pytest.raises(TransactionError, match="output value"):
        TxOutput(21_000_000 * 10**8 + 1, b"\x6a")
    with pytest.raises(TransactionError, match="outputs exceed inputs by 1 sat"):
        P2wpkhSpend((good_in,), (TxOutput(1_001, good_out.script_pubkey),))
    with pytest.raises(TransactionError, match="spent twice"):
        P2wpkhSpend((good_in, good_in), (good_out,))
    with pytest.raises(TransactionError, match="at least one"):
        P2wpkhSpend((good_in,), ())
    with pytest.raises(TransactionError, match="locktime"):
        P2wpkhSpend((good_in,), (good_out,), locktime=2**32)
    with pytest.raises(TransactionError, match="version"):
        P2wpkhSpend((good_in,), (good_out,), version=2**31)
    with pytest.raises(TransactionError, match="no input 1"):
        P2wpkhSpend((good_in,), (good_out,)).sighash(1)
