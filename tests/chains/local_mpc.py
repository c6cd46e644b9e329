"""A stand-in for the MPC network in unit tests: root secrets held locally, each `SignRequest` answered with the
contract's response shape under the key derived for (account, path) — random nonces, s left high or low as it falls.
Never for real funds; the e2e tests sign through the real network."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import coincurve
from nacl import bindings as sodium

from chainsig.kdf import SECP256K1_ORDER as N
from chainsig.kdf import derive_ed25519_secret_scalar, derive_secp256k1_secret
from chainsig.keys import Ed25519PublicKey, Secp256k1PublicKey
from chainsig.redacted import SecretScalar
from chainsig.sign import SignRequest
from chainsig.signatures import Signature, parse_signature_response

ED25519_L = 2**252 + 27742317777372353535851937790883648493


@dataclass(frozen=True)
class LocalMpc:
    secp_root: SecretScalar
    ed_root: SecretScalar  # an ed25519 scalar (big-endian in the wrapper), not a seed

    @classmethod
    def random(cls) -> LocalMpc:
        return cls(SecretScalar.from_int(int.from_bytes(os.urandom(32), "big") % N or 1),
                   SecretScalar.from_int(int.from_bytes(os.urandom(32), "big") % ED25519_L or 1))

    @property
    def secp_root_public(self) -> Secp256k1PublicKey:
        return Secp256k1PublicKey.from_sec1(coincurve.PrivateKey(self.secp_root.reveal()).public_key.format())

    @property
    def ed_root_public(self) -> Ed25519PublicKey:
        return Ed25519PublicKey(bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(
            self.ed_root.as_int().to_bytes(32, "little"))))

    def sign(self, account: str, request: SignRequest) -> Signature:
        if request.domain_id == 0:
            d = derive_secp256k1_secret(self.secp_root, account, request.path).as_int()
            while True:
                k = int.from_bytes(os.urandom(32), "big") % N
                big_r = coincurve.PrivateKey(k.to_bytes(32, "big")).public_key.format()
                r = int.from_bytes(big_r[1:], "big")
                if 0 < r < N:
                    break
            s = pow(k, -1, N) * (int.from_bytes(request.payload, "big") + r * d) % N
            return parse_signature_response({"scheme": "Secp256k1", "big_r": {"affine_point": big_r.hex()},
                                              "s": {"scalar": s.to_bytes(32, "big").hex()},
                                              "recovery_id": big_r[0] & 1})
        a = derive_ed25519_secret_scalar(self.ed_root, account, request.path).as_int()
        public = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(a.to_bytes(32, "little")))
        nonce = int.from_bytes(hashlib.sha512(os.urandom(32) + request.payload).digest(), "little") % ED25519_L
        big_r = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(nonce.to_bytes(32, "little")))
        e = int.from_bytes(hashlib.sha512(big_r + public + request.payload).digest(), "little") % ED25519_L
        signature = big_r + ((nonce + e * a) % ED25519_L).to_bytes(32, "little")
        return parse_signature_response({"scheme": "Ed25519", "signature": list(signature)})
