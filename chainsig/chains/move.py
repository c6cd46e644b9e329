"""Aptos and Sui (Move chains, Ed25519 domain): addresses only.

Transfers are not built: no Python library here can check an Aptos or Sui transaction for real (execute it or
verify it as the chain does), and the project sends nothing it cannot check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chainsig.chains import register
from chainsig.chains.base import Curve, SignedTransaction, TransferRequest, UnsignedTransaction
from chainsig.errors import TransactionError
from chainsig.keys import Ed25519PublicKey, PublicKey

__all__ = ["APTOS", "SUI", "MoveChain"]

_ED25519_SCHEME = b"\x00"  # both chains' single-key Ed25519 scheme flag


@dataclass(frozen=True)
class MoveChain:
    name: str
    unit: str
    curve: Curve = Curve.ED25519

    def address(self, key: PublicKey) -> str:
        """Aptos: sha3-256(key ‖ 0x00) (the authentication key of a fresh account); Sui: blake2b-256(0x00 ‖ key)."""
        self.curve.check_key(key, self.name)
        assert isinstance(key, Ed25519PublicKey)
        if self.name == "aptos":
            digest = hashlib.sha3_256(key.data + _ED25519_SCHEME).digest()
        else:
            digest = hashlib.blake2b(_ED25519_SCHEME + key.data, digest_size=32).digest()
        return "0x" + digest.hex()

    async def build_transfer(self, rpc_url: str, request: TransferRequest) -> UnsignedTransaction:
        raise TransactionError(f"{self.name}: transfers are not supported yet (addresses only)")

    async def broadcast(self, rpc_url: str, signed: SignedTransaction) -> str:
        raise TransactionError(f"{self.name}: transfers are not supported yet (addresses only)")


APTOS = register(MoveChain("aptos", "APT"))
SUI = register(MoveChain("sui", "SUI"))
