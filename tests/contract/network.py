"""The test stands in for the MPC network: root keys it holds, responses the way the nodes build them."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import base58
import coincurve
from nacl import bindings as sodium

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ED25519_L = 2**252 + 27742317777372353535851937790883648493
EVENT_PREFIX = "EVENT_JSON:"


@dataclass(frozen=True)
class Network:
    """Root secrets of domain 0 (secp256k1) and domain 1 (Ed25519)."""

    secp_secret: int = field(repr=False)
    ed_secret: int = field(repr=False)

    @classmethod
    def generate(cls) -> Network:
        return cls(int.from_bytes(os.urandom(32), "big") % (SECP256K1_N - 1) + 1,
                   int.from_bytes(os.urandom(64), "little") % (ED25519_L - 1) + 1)

    @property
    def secp_public(self) -> bytes:
        return coincurve.PrivateKey(self.secp_secret.to_bytes(32, "big")).public_key.format(compressed=False)[1:]

    @property
    def ed_public(self) -> bytes:
        return bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(self.ed_secret.to_bytes(32, "little")))

    def domains(self) -> list[dict[str, Any]]:
        return [
            {"id": 0, "scheme": "Secp256k1", "public_key": "secp256k1:" + base58.b58encode(self.secp_public).decode()},
            {"id": 1, "scheme": "Ed25519", "public_key": "ed25519:" + base58.b58encode(self.ed_public).decode()},
        ]

    def respond(self, request: dict[str, Any], *, corrupt: bool = False) -> dict[str, Any]:
        """The `response` for a request object (as the contract's event carries it)."""
        tweak = bytes.fromhex(request["tweak"])
        ((kind, payload_hex),) = request["payload"].items()
        payload = bytes.fromhex(payload_hex)
        if kind == "Ecdsa":
            secret = (self.secp_secret + int.from_bytes(tweak, "big")) % SECP256K1_N
            rsv = coincurve.PrivateKey(secret.to_bytes(32, "big")).sign_recoverable(payload, hasher=None)
            r, s, v = rsv[:32], bytearray(rsv[32:64]), rsv[64]
            assert v < 2
            if corrupt:
                s[-1] ^= 1
            return {"scheme": "Secp256k1", "big_r": {"affine_point": (bytes([2 + v]) + r).hex()},
                    "s": {"scalar": bytes(s).hex()}, "recovery_id": v}
        scalar = (self.ed_secret + int.from_bytes(tweak, "little")) % ED25519_L
        signature = bytearray(ed25519_sign(scalar, payload))
        if corrupt:
            signature[40] ^= 1
        return {"scheme": "Ed25519", "signature": list(signature)}


def ed25519_sign(scalar: int, message: bytes) -> bytes:
    """RFC 8032 signing with a raw secret scalar (no seed): what FROST's aggregate looks like."""
    public = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(scalar.to_bytes(32, "little")))
    nonce = int.from_bytes(hashlib.sha512(os.urandom(32) + message).digest(), "little") % ED25519_L
    big_r = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(nonce.to_bytes(32, "little")))
    k = int.from_bytes(hashlib.sha512(big_r + public + message).digest(), "little") % ED25519_L
    return big_r + ((nonce + k * scalar) % ED25519_L).to_bytes(32, "little")


def events(logs: list[str] | tuple[str, ...], name: str | None = None) -> list[dict[str, Any]]:
    """The chainsig NEP-297 events among `logs` (optionally only those named `name`)."""
    found = []
    for line in logs:
        if line.startswith(EVENT_PREFIX):
            event = json.loads(line[len(EVENT_PREFIX):])
            if event.get("standard") == "chainsig" and (name is None or event["event"] == name):
                found.append(event)
    return found
