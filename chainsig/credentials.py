"""NEAR account credentials: the JSON files near-cli writes ({"account_id","public_key","private_key"|"secret_key"})."""

from __future__ import annotations

import json
import os
import pathlib
import re
from dataclasses import dataclass

import base58
from nacl.signing import SigningKey

from chainsig.errors import CredentialsError

__all__ = ["NearCredentials", "NearSecretKey", "load_credentials", "validate_account_id"]

# nearcore's account id grammar (2..64 chars, lowercase alphanumerics separated by single - _ or .)
_ACCOUNT_ID = re.compile(r"^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$")


def validate_account_id(account_id: str, what: str = "account id") -> str:
    if not isinstance(account_id, str) or not 2 <= len(account_id) <= 64 or not _ACCOUNT_ID.match(account_id):
        raise CredentialsError(f"invalid NEAR {what}: {account_id!r}")
    return account_id


class NearSecretKey:
    """An ed25519 NEAR secret key ("ed25519:<base58 of seed‖public key>"). `repr` prints `<redacted>`."""

    __slots__ = ("_seed",)

    def __init__(self, text: str) -> None:
        prefix, sep, body = text.strip().partition(":")
        if sep and prefix != "ed25519":
            raise CredentialsError(
                f"unsupported secret key type {prefix!r}: the client signs NEAR transactions with ed25519 keys"
            )
        try:
            raw = base58.b58decode((body if sep else prefix).encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise CredentialsError("secret key is not valid base58") from None  # never echo the secret
        if len(raw) not in (32, 64):
            raise CredentialsError(f"ed25519 secret key must be 32 or 64 bytes, got {len(raw)}")
        self._seed = raw[:32]
        if len(raw) == 64 and bytes(SigningKey(self._seed).verify_key) != raw[32:]:
            raise CredentialsError("secret key's embedded public key does not match its seed")

    @property
    def public_key(self) -> str:
        return "ed25519:" + base58.b58encode(bytes(SigningKey(self._seed).verify_key)).decode()

    def reveal(self) -> str:
        """The "ed25519:<base58 of 64 bytes>" form py-near takes; call only when handing it to the signer."""
        full = self._seed + bytes(SigningKey(self._seed).verify_key)
        return "ed25519:" + base58.b58encode(full).decode()

    def __repr__(self) -> str:
        return "NearSecretKey(<redacted>)"

    __str__ = __repr__


@dataclass(frozen=True)
class NearCredentials:
    account_id: str
    secret_key: NearSecretKey

    @property
    def public_key(self) -> str:
        return self.secret_key.public_key

    @classmethod
    def from_json(cls, text: str, account_id: str | None = None) -> NearCredentials:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise CredentialsError("credentials are not valid JSON") from None  # the text holds a secret
        if not isinstance(data, dict):
            raise CredentialsError("credentials must be a JSON object")
        secret = data.get("private_key", data.get("secret_key"))
        if not isinstance(secret, str):
            raise CredentialsError('credentials need a "private_key" or "secret_key" string')
        file_account = data.get("account_id")
        if file_account is not None and account_id is not None and file_account != account_id:
            raise CredentialsError(f"credentials are for {file_account!r}, not {account_id!r}")
        chosen = file_account if file_account is not None else account_id
        if chosen is None:
            raise CredentialsError('credentials have no "account_id" and none was given')
        key = NearSecretKey(secret)
        if "public_key" in data and data["public_key"] != key.public_key:
            raise CredentialsError("credentials' public_key does not match the secret key")
        return cls(validate_account_id(chosen), key)


def load_credentials(source: str, account_id: str | None = None) -> NearCredentials:
    """Load credentials from a file path, or from the environment variable named `source`.

    The variable may hold the credentials JSON, a bare "ed25519:…" secret key, or a path to a credentials file.
    """
    path = pathlib.Path(source).expanduser()
    if path.is_file():
        return NearCredentials.from_json(_read(path), account_id)
    value = os.environ.get(source)
    if value is None:
        raise CredentialsError(f"{source!r} is neither a credentials file nor a set environment variable")
    stripped = value.strip()
    if stripped.startswith("{"):
        return NearCredentials.from_json(stripped, account_id)
    if stripped.startswith("ed25519:"):
        if account_id is None:
            raise CredentialsError(f"${source} holds a bare secret key; give the account id too")
        return NearCredentials(validate_account_id(account_id), NearSecretKey(stripped))
    env_path = pathlib.Path(stripped).expanduser()
    if env_path.is_file():
        return NearCredentials.from_json(_read(env_path), account_id)
    raise CredentialsError(f"${source} holds neither credentials JSON, an ed25519 secret key, nor a file path")


def _read(path: pathlib.Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise CredentialsError(f"cannot read credentials file {path}: {exc.strerror}") from None
