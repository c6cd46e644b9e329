"""ed25519 keys for signing transactions (PyNaCl), with secrets that never show in reprs or logs."""

from __future__ import annotations

from dataclasses import dataclass, field

import base58
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from localnet.types import ED25519, PublicKey


@dataclass(frozen=True)
class SecretKey:
    """An ed25519 secret key (32-byte seed). `repr` prints `<redacted>`."""

    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise ValueError("an ed25519 seed is 32 bytes")

    def __repr__(self) -> str:
        return "SecretKey(<redacted>)"

    __str__ = __repr__

    @classmethod
    def generate(cls) -> SecretKey:
        return cls(bytes(SigningKey.generate()))

    @classmethod
    def from_bytes(cls, raw: bytes) -> SecretKey:
        """Accept a 32-byte seed or NEAR's 64-byte seed‖public key form."""
        if len(raw) not in (32, 64):
            raise ValueError("an ed25519 secret key is 32 or 64 bytes")
        return cls(bytes(raw[:32]))

    @classmethod
    def from_string(cls, text: str) -> SecretKey:
        """Parse NEAR's `ed25519:<base58 of 64 bytes>`."""
        prefix, sep, body = text.partition(":")
        if sep and prefix != "ed25519":
            raise ValueError("only ed25519 secret keys are supported")
        return cls.from_bytes(base58.b58decode(body if sep else prefix))

    def to_near_string(self) -> str:
        """NEAR's `ed25519:<base58 seed‖pk>` (the key-file form). Handle with care: this is the secret."""
        return "ed25519:" + base58.b58encode(self.seed + self.public_key.data).decode()

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(ED25519, bytes(SigningKey(self.seed).verify_key))

    def sign(self, message: bytes) -> bytes:
        return bytes(SigningKey(self.seed).sign(message).signature)


def verify_ed25519(public_key: PublicKey, message: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid ed25519 signature of `message` under `public_key`."""
    if public_key.key_type != ED25519 or len(signature) != 64:
        return False
    try:
        VerifyKey(public_key.data).verify(message, signature)
    except (BadSignatureError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class InMemorySigner:
    """An account id with one ed25519 key, as near-api-js/py-near's InMemorySigner."""

    account_id: str
    secret_key: SecretKey

    @property
    def public_key(self) -> PublicKey:
        return self.secret_key.public_key
