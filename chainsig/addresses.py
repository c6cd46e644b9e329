"""Foreign-chain addresses of derived keys: Ethereum (EIP-55), Bitcoin P2WPKH (BIP-173), Solana."""

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
    "Chain",
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


class Chain(Enum):
    """Chains `chainsig derive` knows, by CLI name."""

    ETHEREUM = "ethereum"
    BITCOIN = "bitcoin"
    BITCOIN_TESTNET = "bitcoin-testnet"
    BITCOIN_REGTEST = "bitcoin-regtest"
    SOLANA = "solana"


_BITCOIN_CHAINS = {
    Chain.BITCOIN: BitcoinNetwork.MAINNET,
    Chain.BITCOIN_TESTNET: BitcoinNetwork.TESTNET,
    Chain.BITCOIN_REGTEST: BitcoinNetwork.REGTEST,
}


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


def address_for(chain: Chain | str, key: PublicKey) -> str:
    """The address of `key` on `chain` (a `Chain` or its CLI name)."""
    try:
        chain = Chain(chain)
    except ValueError:
        raise AddressError(f"unknown chain {chain!r}; known: {', '.join(c.value for c in Chain)}") from None
    if chain is Chain.SOLANA:
        if not isinstance(key, Ed25519PublicKey):
            raise AddressError("solana needs an ed25519 key (use the ed25519 root / domain 1)")
        return solana_address(key)
    if not isinstance(key, Secp256k1PublicKey):
        raise AddressError(f"{chain.value} needs a secp256k1 key (use the secp256k1 root / domain 0)")
    if chain is Chain.ETHEREUM:
        return ethereum_address(key)
    return bitcoin_p2wpkh_address(key, _BITCOIN_CHAINS[chain])
