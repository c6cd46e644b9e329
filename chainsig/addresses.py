"""Address encodings shared by the chain adapters: Ethereum (EIP-55), Bitcoin P2WPKH (BIP-173), Solana; every
chain's address is `chainsig.chains.get_chain(name).address(key)` (or `address_for(name, key)`)."""

from __future__ import annotations

import hashlib
from enum import Enum

import base58
import bech32  # sipa's BIP-173 reference implementation, published on PyPI as `bech32`
from Crypto.Hash import RIPEMD160
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from chainsig.errors import AddressError
from chainsig.keys import Ed25519PublicKey, PublicKey, Secp256k1PublicKey

__all__ = [
    "BitcoinNetwork",
    "address_for",
    "bitcoin_p2wpkh_address",
    "ethereum_address",
    "hash160",
    "p2wpkh_script_pubkey",
    "solana_address",
]


class BitcoinNetwork(Enum):
    """Bitcoin networks by their bech32 human-readable part."""

    MAINNET = "bc"
    TESTNET = "tb"
    REGTEST = "bcrt"


def ethereum_address(key: Secp256k1PublicKey) -> str:
    """EIP-55 checksummed keccak256(X‖Y)[12:]."""
    return str(to_checksum_address(keccak(key.xy)[12:]))


def hash160(data: bytes) -> bytes:
    """RIPEMD160(SHA256(data)) (pycryptodome: OpenSSL 3 may lack ripemd160 in hashlib)."""
    return bytes(RIPEMD160.new(hashlib.sha256(data).digest()).digest())


def p2wpkh_script_pubkey(key: Secp256k1PublicKey) -> bytes:
    """OP_0 <20-byte hash160(compressed key)>."""
    return b"\x00\x14" + hash160(key.compressed)


def bitcoin_p2wpkh_address(key: Secp256k1PublicKey, network: BitcoinNetwork = BitcoinNetwork.MAINNET) -> str:
    """bech32 witness-v0 address of hash160(compressed key)."""
    address = bech32.encode(network.value, 0, list(hash160(key.compressed)))
    if address is None:
        raise AddressError("bech32 encoding failed")
    return str(address)


def solana_address(key: Ed25519PublicKey) -> str:
    """A Solana address is the base58 of the 32-byte ed25519 key."""
    return base58.b58encode(key.data).decode()


def address_for(chain: str, key: PublicKey) -> str:
    """The address of `key` on `chain` (a name from `chainsig.chains.chain_names()`)."""
    from chainsig.chains import get_chain  # the registry imports this module

    return get_chain(str(chain)).address(key)
