"""Node key material: ed25519 key pairs read from NEAR key files and the storage secret.

A NEAR key file is the JSON near-cli writes: {"account_id", "public_key": "ed25519:…", "secret_key": "ed25519:…"}
(older files say "private_key"); the secret is base58 of seed ‖ public key (64 bytes) or of the 32-byte seed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import base58
import nacl.exceptions
import nacl.signing

from mpc_service.errors import MpcError
from mpc_service.secret import SecretBytes


class KeyFileError(MpcError, ValueError):
    """A key file is missing, unreadable or malformed; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Ed25519KeyPair:
    """An ed25519 key pair; the seed is redacted in `repr`."""

    seed: SecretBytes
    public_key: bytes

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519KeyPair:
        if len(seed) != 32:
            raise KeyFileError(f"ed25519 seed must be 32 bytes, got {len(seed)}")
        signing_key = nacl.signing.SigningKey(seed)
        return cls(SecretBytes(seed), bytes(signing_key.verify_key))

    @classmethod
    def generate(cls) -> Ed25519KeyPair:
        return cls.from_seed(os.urandom(32))

    def sign(self, message: bytes) -> bytes:
        """A 64-byte ed25519 signature of `message`."""
        return bytes(nacl.signing.SigningKey(self.seed.expose()).sign(message).signature)

    @property
    def public_key_str(self) -> str:
        return "ed25519:" + base58.b58encode(self.public_key).decode()

    def secret_key_str(self) -> str:
        """NEAR's `ed25519:<base58(seed ‖ public)>` secret key string (for writing key files)."""
        return "ed25519:" + base58.b58encode(self.seed.expose() + self.public_key).decode()


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid ed25519 signature of `message` under `public_key`."""
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True


def parse_ed25519_public_key(text: str) -> bytes:
    """Raw 32 bytes of `ed25519:<base58>` (a bare base58 string is accepted)."""
    prefix, sep, body = text.partition(":")
    if not sep:
        prefix, body = "ed25519", text
    if prefix != "ed25519":
        raise ValueError(f"expected an ed25519 key, got {prefix!r}")
    try:
        raw = base58.b58decode(body)
    except ValueError as exc:
        raise ValueError("invalid base58 in public key") from exc
    if len(raw) != 32:
        raise ValueError(f"ed25519 public key must be 32 bytes, got {len(raw)}")
    return raw


def parse_ed25519_secret_key(text: str) -> Ed25519KeyPair:
    """Key pair from `ed25519:<base58(seed ‖ public)>` or `ed25519:<base58(seed)>`; checks the public half."""
    prefix, sep, body = text.partition(":")
    if not sep or prefix != "ed25519":
        raise ValueError("secret key must start with 'ed25519:'")
    try:
        raw = base58.b58decode(body)
    except ValueError as exc:
        raise ValueError("invalid base58 in secret key") from exc
    if len(raw) not in (32, 64):
        raise ValueError(f"ed25519 secret key must be 32 or 64 bytes, got {len(raw)}")
    pair = Ed25519KeyPair.from_seed(raw[:32])
    if len(raw) == 64 and raw[32:] != pair.public_key:
        raise ValueError("secret key's public half does not match its seed")
    return pair


@dataclass(frozen=True)
class AccountKey:
    """A NEAR account's access key pair, as read from a key file."""

    account_id: str
    key_pair: Ed25519KeyPair


def load_near_key_file(path: Path) -> AccountKey:
    """Read a near-cli JSON key file; raises `KeyFileError` naming the file (never the secret)."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise KeyFileError(f"{path}: not JSON (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise KeyFileError(f"{path}: expected a JSON object")
    secret = data.get("secret_key", data.get("private_key"))
    if not isinstance(secret, str):
        raise KeyFileError(f"{path}: missing string field 'secret_key'")
    try:
        pair = parse_ed25519_secret_key(secret)
    except ValueError as exc:
        raise KeyFileError(f"{path}: secret_key: {exc}") from None
    public = data.get("public_key")
    if public is not None:
        try:
            if parse_ed25519_public_key(str(public)) != pair.public_key:
                raise KeyFileError(f"{path}: public_key does not match secret_key")
        except ValueError as exc:
            raise KeyFileError(f"{path}: public_key: {exc}") from None
    account_id = data.get("account_id", "")
    if not isinstance(account_id, str):
        raise KeyFileError(f"{path}: account_id must be a string")
    return AccountKey(account_id, pair)


def write_near_key_file(path: Path, key: AccountKey) -> None:
    """Write a near-cli JSON key file readable only by the owner."""
    body = {"account_id": key.account_id, "public_key": key.key_pair.public_key_str,
            "secret_key": key.key_pair.secret_key_str()}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(body, handle)


def load_storage_secret(path: Path) -> SecretBytes:
    """The 32-byte storage secret: a file holding 64 hex characters."""
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read storage secret ({exc.strerror})") from None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"{path}: storage secret must be 64 hex characters") from None
    if len(raw) != 32:
        raise KeyFileError(f"{path}: storage secret must be 32 bytes, got {len(raw)}")
    return SecretBytes(raw)
