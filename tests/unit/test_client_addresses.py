"""Addresses of derived keys: published vectors, eth-account cross-checks, bech32 round trips."""

from __future__ import annotations

import hashlib
from typing import Any

import base58
import bech32
import pytest
from eth_account import Account

from chainsig.addresses import (
    BitcoinNetwork,
    address_for,
    bitcoin_p2wpkh_address,
    ethereum_address,
    hash160,
    p2wpkh_script_pubkey,
    solana_address,
)
from chainsig.errors import AddressError
from chainsig.kdf import derive_public_key, derive_secp256k1_secret
from chainsig.keys import Ed25519PublicKey, Secp256k1PublicKey, parse_public_key
from chainsig.local_signer import public_key_of
from chainsig.redacted import SecretScalar

DERIVED_SECP256K1 = (
    "secp256k1:3b3GS4kaAPvzxFUEYKiMvXeuBzttMZosggT3iAAbyZzAfQc1Dn4eLrDshNGGeKZyfSK7xegjPSq553NXHisMLiyA"
)
DERIVED_ED25519 = "ed25519:49KFz8zeqrPcaSKqLCXtY79zW98ZW6Nd7W8vSsC7FdKJ"


def _secp(text: str) -> Secp256k1PublicKey:
    key = parse_public_key(text)
    assert isinstance(key, Secp256k1PublicKey)
    return key


def test_vector_addresses(near_kdf_vectors: dict[str, Any]) -> None:
    case = near_kdf_vectors["derived"][0]
    key = derive_public_key(case["root"], case["predecessor"], case["path"])
    assert address_for("ethereum", key) == case["ethereum"]
    assert address_for("bitcoin", key) == case["bitcoin_p2wpkh_mainnet"]
    assert address_for("bitcoin-testnet", key) == case["bitcoin_p2wpkh_testnet"]


def test_inline_vector_addresses() -> None:
    key = _secp(DERIVED_SECP256K1)
    assert ethereum_address(key) == "0x0513cb2E7ED8B3c9A2ac54CDcaCa32520b0B7311"
    assert bitcoin_p2wpkh_address(key) == "bc1qhv3ve430qaw392kmweqa6j98dqrw0l7erk09nd"
    assert bitcoin_p2wpkh_address(key, BitcoinNetwork.TESTNET) == "tb1qhv3ve430qaw392kmweqa6j98dqrw0l7efs5kg7"


def test_regtest_address_decodes_to_the_key_hash() -> None:
    key = _secp(DERIVED_SECP256K1)
    address = bitcoin_p2wpkh_address(key, BitcoinNetwork.REGTEST)
    assert address.startswith("bcrt1q")
    version, program = bech32.decode("bcrt", address)
    assert version == 0 and bytes(program or []) == hash160(key.compressed)
    assert p2wpkh_script_pubkey(key) == b"\x00\x14" + hash160(key.compressed)


def test_hash160_is_ripemd160_of_sha256() -> None:
    # RIPEMD-160 test vector of the empty string, after SHA-256 of "" (independent constant).
    assert hash160(b"").hex() == "b472a266d0bd89c13706a4132ccfb16f7c3b9fcb"
    assert len(hash160(hashlib.sha256(b"x").digest())) == 20


@pytest.mark.parametrize("path", ["ethereum-1", "ethereum-2", "evm,0"])
def test_ethereum_address_matches_eth_account(root_secret: SecretScalar, path: str) -> None:
    secret = derive_secp256k1_secret(root_secret, "alice.near", path)
    assert ethereum_address(public_key_of(secret)) == Account.from_key(secret.reveal()).address


def test_solana_address_is_base58_of_the_key() -> None:
    key = parse_public_key(DERIVED_ED25519)
    assert isinstance(key, Ed25519PublicKey)
    address = address_for("solana", key)
    assert address == solana_address(key) == "49KFz8zeqrPcaSKqLCXtY79zW98ZW6Nd7W8vSsC7FdKJ"
    assert base58.b58decode(address) == key.data


def test_wrong_key_type_or_chain_is_a_clear_error() -> None:
    secp = _secp(DERIVED_SECP256K1)
    edw = parse_public_key(DERIVED_ED25519)
    with pytest.raises(AddressError, match="ed25519"):
        address_for("solana", secp)
    with pytest.raises(AddressError, match="secp256k1"):
        address_for("ethereum", edw)
    with pytest.raises(AddressError, match="unknown chain"):
        address_for("litecoin", secp)
