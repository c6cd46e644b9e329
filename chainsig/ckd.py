"""Confidential key derivation (CKD), the requester's side, and the scheme's math that the MPC node shares.

The network holds a master secret msk shared t-of-n over BLS12-381 G2 (public key mvk = msk·G2, a domain's
``bls12381g2:`` key). For the caller (account, path) it computes, without learning it, the app secret

    S = msk·H,   H = hash_app_id(mvk, app_id),   app_id = SHA3-256("near-mpc v0.1.0 app_id derivation:" ‖ account ‖ "," ‖ path)

ElGamal-encrypted to a one-time key a of the requester: it returns (Y, C) with C = S + a·Y, and the requester
computes S = C − a·Y and checks e(S, G2) = e(H, mvk) (a BLS signature on mvk ‖ app_id). See docs/ckd.md.

    requester = CkdRequesterKey.generate()                         # fresh (a, A = a·G1, A₂ = a·G2) per request
    args = CkdRequest("my-app", requester.app_public_key).to_args()   # request_app_private_key's arguments
    secret = decrypt_app_secret(CkdOutput.from_json(result), requester, mvk, "alice.near", "my-app")
    key = secret.symmetric_key()                                   # HKDF-SHA256(S) → AES-256-GCM key
    blob = encrypt(key, b"data")                                   # "CKD" ‖ 0x01 ‖ nonce ‖ ciphertext ‖ tag
    await request_app_secret(rpc, contract, credentials, "my-app")  # all of it through the signer contract

``hash_app_id``, ``verify_ckd_signature``, ``verify_ckd_output``, ``CkdRequesterKey``, ``CkdOutput`` and
``decrypt_ckd_output`` are the one definition of the scheme: ``mpc_service/protocol/ckd.py`` imports them.
"""

from __future__ import annotations

import json
import os
import random
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import base58
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

from chainsig.credentials import NearCredentials, validate_account_id
from chainsig.errors import CkdError, CkdVerificationError, DecryptionError
from chainsig.kdf import derive_app_id
from chainsig.redacted import SecretBytes, SecretScalar
from chainsig.sign import DEFAULT_GAS_TGAS, call_and_wait, parse_outcome_json
from chainsig.types import DomainId

__all__ = [
    "BLS12381_ORDER",
    "CIPHERTEXT_VERSION",
    "CKD_DEPOSIT_YOCTO",
    "CKD_DOMAIN",
    "DEFAULT_CKD_DOMAIN_ID",
    "REQUEST_METHOD",
    "AppPublicKey",
    "AppSecret",
    "CkdOutput",
    "CkdRequest",
    "CkdRequesterKey",
    "CkdResult",
    "SymmetricKey",
    "decrypt",
    "decrypt_app_secret",
    "decrypt_ckd_output",
    "derive_app_id",
    "encrypt",
    "fetch_master_public_key",
    "format_bls_key",
    "hash_app_id",
    "parse_g1",
    "parse_g2",
    "read_key_file",
    "request_app_secret",
    "verify_ckd_output",
    "verify_ckd_signature",
    "write_key_file",
]

CKD_DOMAIN: Final = b"NEAR BLS12381G1_XMD:SHA-256_SSWU_RO_"
"""The hash-to-curve domain separation tag of near/threshold-signatures (``NEAR_CKD_DOMAIN``)."""
BLS12381_ORDER: Final = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
DEFAULT_CKD_DOMAIN_ID: Final = DomainId(2)
"""near/mpc's BLS12-381 domain on its networks (0 is secp256k1, 1 ed25519)."""
CKD_DEPOSIT_YOCTO: Final = 1
REQUEST_METHOD: Final = "request_app_private_key"
KEY_LABEL: Final = "aes-256-gcm"
_KEY_INFO_PREFIX: Final = b"chainsig ckd v1 key:"
_G1_PREFIX, _G2_PREFIX = "bls12381g1", "bls12381g2"
_G1_BYTES, _G2_BYTES = 48, 96

_MAGIC: Final = b"CKD"
CIPHERTEXT_VERSION: Final = 1
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
_KEY_FILE_FORMAT: Final = "chainsig-ckd-key"


# ---- points and their NEAR strings -------------------------------------------------------------------------------


_P = TypeVar("_P", G1Point, G2Point)


def _load(cls: type[_P], raw: bytes, what: str, allow_identity: bool) -> _P:
    """A compressed point checked to be canonical, on the curve, in the prime-order subgroup (and not the identity)."""
    size, group = (_G1_BYTES, "G1") if cls is G1Point else (_G2_BYTES, "G2")
    if len(raw) != size:
        raise CkdError(f"{what} must be a {size}-byte compressed BLS12-381 {group} point, got {len(raw)} bytes")
    try:
        point = cls.from_compressed_bytes(bytes(raw))
    except ValueError as exc:
        raise CkdError(f"{what} is not a BLS12-381 {group} point: {exc}") from exc
    if point.to_compressed_bytes() != bytes(raw):
        raise CkdError(f"{what} is not canonically encoded")
    if not allow_identity and point == cls.identity():
        raise CkdError(f"{what} is the identity point")
    return point


def _load_g1(raw: bytes, what: str, *, allow_identity: bool = False) -> G1Point:
    return _load(G1Point, raw, what, allow_identity)


def _load_g2(raw: bytes, what: str, *, allow_identity: bool = False) -> G2Point:
    return _load(G2Point, raw, what, allow_identity)


def _parse_bls(text: object, prefix: str, size: int, what: str) -> bytes:
    if not isinstance(text, str):
        raise CkdError(f"{what} must be a \"{prefix}:<base58>\" string, got {text!r:.80}")
    kind, sep, body = text.strip().partition(":")
    if not sep or kind != prefix:
        raise CkdError(f"{what} must start with \"{prefix}:\", got {text!r:.80}")
    try:
        raw = base58.b58decode(body.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise CkdError(f"{what} is not valid base58") from exc
    if size == _G1_BYTES:
        _load_g1(raw, what)
    else:
        _load_g2(raw, what)
    return raw


def parse_g1(text: object, what: str = "G1 point") -> bytes:
    """``"bls12381g1:<base58 of 48 bytes>"`` → the validated compressed point (not the identity)."""
    return _parse_bls(text, _G1_PREFIX, _G1_BYTES, what)


def parse_g2(text: object, what: str = "G2 point") -> bytes:
    """``"bls12381g2:<base58 of 96 bytes>"`` (a CKD domain's public key) → the validated compressed point."""
    return _parse_bls(text, _G2_PREFIX, _G2_BYTES, what)


def format_bls_key(point: bytes) -> str:
    """A compressed G1 (48-byte) or G2 (96-byte) point as NEAR spells it: ``bls12381g1:…`` / ``bls12381g2:…``."""
    prefix = {_G1_BYTES: _G1_PREFIX, _G2_BYTES: _G2_PREFIX}.get(len(point))
    if prefix is None:
        raise CkdError(f"a BLS12-381 point is 48 or 96 bytes compressed, got {len(point)}")
    return f"{prefix}:{base58.b58encode(bytes(point)).decode()}"


# ---- the scheme ---------------------------------------------------------------------------------------------------


def hash_app_id(master_public_key: bytes, app_id: bytes) -> bytes:
    """H(mvk, app_id): RFC 9380 hash-to-curve into G1 (``BLS12381G1_XMD:SHA-256_SSWU_RO_`` with ``CKD_DOMAIN``) of
    the compressed master public key followed by the app id; 48 bytes compressed."""
    point = G1Point.hash_to_curve(bytes(master_public_key) + bytes(app_id), CKD_DOMAIN)
    return bytes(point.to_compressed_bytes())


def verify_ckd_signature(signature: bytes, master_public_key: bytes, app_id: bytes) -> bool:
    """e(S, G2) = e(H(mvk, app_id), mvk): S is msk·H for the key behind ``master_public_key``. A malformed or
    identity point raises ``CkdError``."""
    s = _load_g1(signature, "the app secret")
    mvk = _load_g2(master_public_key, "the master public key")
    h = G1Point.from_compressed_bytes_unchecked(hash_app_id(master_public_key, app_id))
    return bool(GT.pairing_check([s, -h], [G2Point(), mvk]))


def verify_ckd_output(output: CkdOutput, app_public_key_g2: bytes, master_public_key: bytes, app_id: bytes) -> bool:
    """Public check (no secret needed): e(C, G2) = e(Y, A₂)·e(H, mvk), i.e. C − a·Y = msk·H for the a of A₂ —
    what the signer contract checks before it resumes the caller. Malformed points make it false."""
    try:
        c = _load_g1(output.big_c, "big_c", allow_identity=True)
        y = _load_g1(output.big_y, "big_y", allow_identity=True)
        a2 = _load_g2(app_public_key_g2, "pk2")
        mvk = _load_g2(master_public_key, "the master public key")
    except CkdError:
        return False
    h = G1Point.from_compressed_bytes_unchecked(hash_app_id(master_public_key, app_id))
    return bool(GT.pairing_check([c, -y, -h], [G2Point(), a2, mvk]))


@dataclass(frozen=True)
class AppPublicKey:
    """The requester's one-time public key as ``request_app_private_key`` takes it: pk1 = a·G1, pk2 = a·G2."""

    pk1: bytes
    pk2: bytes

    def __post_init__(self) -> None:
        _load_g1(self.pk1, "pk1")
        _load_g2(self.pk2, "pk2")

    def is_consistent(self) -> bool:
        """e(pk1, G2) = e(G1, pk2): both halves belong to the same one-time secret a."""
        pk1 = G1Point.from_compressed_bytes_unchecked(self.pk1)
        pk2 = G2Point.from_compressed_bytes_unchecked(self.pk2)
        return bool(GT.pairing_check([pk1, -G1Point()], [G2Point(), pk2]))

    def to_json(self) -> dict[str, str]:
        return {"pk1": format_bls_key(self.pk1), "pk2": format_bls_key(self.pk2)}

    @classmethod
    def from_json(cls, obj: object) -> AppPublicKey:
        if not isinstance(obj, dict) or set(obj) != {"pk1", "pk2"}:
            raise CkdError(f"app_public_key must be {{\"pk1\": …, \"pk2\": …}}, got {obj!r:.120}")
        return cls(parse_g1(obj["pk1"], "pk1"), parse_g2(obj["pk2"], "pk2"))


def _random_scalar(rng: random.Random) -> int:
    """A uniformly random non-zero scalar mod r (64 random bytes reduced: bias below 2^-250)."""
    while True:
        k = int.from_bytes(rng.randbytes(64), "big") % BLS12381_ORDER
        if k:
            return k


@dataclass(frozen=True)
class CkdRequesterKey:
    """The requester's one-time ElGamal key: a (``secret``, printed redacted), A = a·G1 and A₂ = a·G2.

    Make a fresh one for every request: a is what keeps the chain's copy of the answer (Y, C) unreadable, and
    anyone who ever learns it can decrypt every answer made to it."""

    secret: SecretScalar
    public_key: bytes
    public_key_g2: bytes

    @classmethod
    def generate(cls, rng: random.Random | None = None) -> CkdRequesterKey:
        """From the OS's CSPRNG by default; a seeded ``random.Random`` only in tests."""
        a = _random_scalar(rng if rng is not None else secrets.SystemRandom())
        scalar = Scalar(a)
        return cls(
            SecretScalar.from_int(a),
            bytes((G1Point() * scalar).to_compressed_bytes()),
            bytes((G2Point() * scalar).to_compressed_bytes()),
        )

    @property
    def app_public_key(self) -> AppPublicKey:
        return AppPublicKey(self.public_key, self.public_key_g2)


@dataclass(frozen=True)
class CkdOutput:
    """The network's answer (Y, C), C = msk·H + a·Y: the coordinator's result, and the contract's return value."""

    big_y: bytes
    big_c: bytes

    def unmask(self, secret: SecretScalar) -> bytes:
        """S = C − a·Y = msk·H (not checked: see ``decrypt_ckd_output``)."""
        y = _load_g1(self.big_y, "big_y", allow_identity=True)
        c = _load_g1(self.big_c, "big_c", allow_identity=True)
        return bytes((c - y * Scalar(secret.as_int())).to_compressed_bytes())

    def to_json(self) -> dict[str, str]:
        return {"big_y": format_bls_key(self.big_y), "big_c": format_bls_key(self.big_c)}

    @classmethod
    def from_json(cls, obj: object) -> CkdOutput:
        """``{"big_y": "bls12381g1:…", "big_c": "bls12381g1:…"}`` with both points validated."""
        if not isinstance(obj, dict) or not {"big_y", "big_c"} <= set(obj):
            raise CkdError(f"a CKD response is {{\"big_y\": …, \"big_c\": …}}, got {obj!r:.200}")
        return cls(parse_g1(obj["big_y"], "big_y"), parse_g1(obj["big_c"], "big_c"))


def decrypt_ckd_output(output: CkdOutput, requester: CkdRequesterKey, master_public_key: bytes, app_id: bytes) -> bytes:
    """The requester's step: S = C − a·Y, returned only if it is a BLS signature on (mvk ‖ app_id) under
    ``master_public_key``; otherwise ``CkdVerificationError``."""
    signature = output.unmask(requester.secret)
    if signature == bytes(G1Point.identity().to_compressed_bytes()) or not verify_ckd_signature(
        signature, master_public_key, app_id
    ):
        raise CkdVerificationError(
            "the CKD response does not decrypt to a valid app secret under the domain's master key (e(S, G2) ≠ "
            "e(H, mvk)): a node or the coordinator answered wrongly, or the response is for another one-time key, "
            "app or domain"
        )
    return signature


@dataclass(frozen=True)
class CkdRequest:
    """One ``request_app_private_key`` call: the path (with the caller's account it names the app), the one-time
    public key the answer is encrypted to, and the BLS12-381 domain."""

    derivation_path: str
    app_public_key: AppPublicKey
    domain_id: DomainId = DEFAULT_CKD_DOMAIN_ID

    def __post_init__(self) -> None:
        if not isinstance(self.derivation_path, str):
            raise CkdError("derivation_path must be a string")
        if isinstance(self.domain_id, bool) or not isinstance(self.domain_id, int) or self.domain_id < 0:
            raise CkdError(f"domain_id must be a non-negative integer, got {self.domain_id!r}")

    def to_args(self) -> dict[str, Any]:
        """The JSON arguments of the contract's ``request_app_private_key``."""
        return {
            "request": {
                "derivation_path": self.derivation_path,
                "app_public_key": self.app_public_key.to_json(),
                "domain_id": self.domain_id,
            }
        }


# ---- the app's secret and the key derived from it ----------------------------------------------------------------


@dataclass(frozen=True)
class SymmetricKey:
    """A 32-byte AES-256-GCM key (printed redacted) and what it was derived for."""

    key: SecretBytes
    account_id: str
    path: str
    app_id: bytes
    master_public_key: bytes
    label: str = KEY_LABEL

    def __post_init__(self) -> None:
        if len(self.key) != 32:
            raise CkdError(f"a symmetric key is 32 bytes, got {len(self.key)}")


@dataclass(frozen=True)
class AppSecret:
    """The decrypted, verified app secret S = msk·H(mvk, app_id) of (account_id, path) under ``master_public_key``:
    the same for every request of that app, unknown to every node and observer. ``secret`` prints redacted."""

    account_id: str
    path: str
    app_id: bytes
    master_public_key: bytes
    secret: SecretBytes

    def symmetric_key(self, label: str = KEY_LABEL) -> SymmetricKey:
        """HKDF-SHA256(ikm = S compressed, no salt, info = "chainsig ckd v1 key:" ‖ label ‖ ":" ‖ app_id) → 32
        bytes. Distinct labels give independent keys of the same app."""
        info = _KEY_INFO_PREFIX + label.encode() + b":" + self.app_id
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info)
        key = SecretBytes(hkdf.derive(self.secret.reveal()))
        return SymmetricKey(key, self.account_id, self.path, self.app_id, self.master_public_key, label)


def decrypt_app_secret(
    output: CkdOutput, requester: CkdRequesterKey, master_public_key: bytes, account_id: str, path: str
) -> AppSecret:
    """S = C − a·Y for the app (account_id, path), checked by e(S, G2) = e(H, mvk) (``CkdVerificationError``)."""
    validate_account_id(account_id)
    app_id = derive_app_id(account_id, path)
    signature = decrypt_ckd_output(output, requester, master_public_key, app_id)
    return AppSecret(account_id, path, app_id, bytes(master_public_key), SecretBytes(signature))


# ---- AES-256-GCM with a self-describing header -------------------------------------------------------------------


def _aes_key(key: SymmetricKey | SecretBytes | bytes) -> AESGCM:
    raw = key.key.reveal() if isinstance(key, SymmetricKey) else key.reveal() if isinstance(key, SecretBytes) else key
    if len(raw) != 32:
        raise CkdError(f"an AES-256-GCM key is 32 bytes, got {len(raw)}")
    return AESGCM(raw)


def _header() -> bytes:
    return _MAGIC + bytes([CIPHERTEXT_VERSION])


def encrypt(key: SymmetricKey | SecretBytes | bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """AES-256-GCM under a fresh random 96-bit nonce: ``b"CKD" ‖ version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)``.
    The header and ``aad`` are both authenticated (the header as a prefix of the associated data)."""
    nonce = os.urandom(_NONCE_BYTES)
    header = _header()
    return header + nonce + _aes_key(key).encrypt(nonce, bytes(plaintext), header + bytes(aad))


def decrypt(key: SymmetricKey | SecretBytes | bytes, blob: bytes, aad: bytes = b"") -> bytes:
    """Inverse of ``encrypt``: ``CkdError`` for something that is not a chainsig CKD ciphertext (or a newer version),
    ``DecryptionError`` if authentication fails (wrong key or aad, altered ciphertext)."""
    blob = bytes(blob)
    if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + 1:
        raise CkdError("not a chainsig CKD ciphertext (it does not start with b\"CKD\")")
    version = blob[len(_MAGIC)]
    if version != CIPHERTEXT_VERSION:
        raise CkdError(f"unsupported CKD ciphertext version {version} (this client reads version {CIPHERTEXT_VERSION})")
    header, body = blob[: len(_MAGIC) + 1], blob[len(_MAGIC) + 1 :]
    if len(body) < _NONCE_BYTES + _TAG_BYTES:
        raise CkdError(f"CKD ciphertext is truncated ({len(blob)} bytes)")
    nonce, sealed = body[:_NONCE_BYTES], body[_NONCE_BYTES:]
    try:
        return _aes_key(key).decrypt(nonce, sealed, header + bytes(aad))
    except InvalidTag:
        raise DecryptionError(
            "decryption failed: wrong key, wrong associated data, or the ciphertext was altered"
        ) from None


# ---- key files ---------------------------------------------------------------------------------------------------


def write_key_file(path: Path, key: SymmetricKey, *, overwrite: bool = False) -> None:
    """Write ``key`` as JSON readable by its owner only (mode 0600); refuse to replace a file unless ``overwrite``."""
    record = {
        "format": _KEY_FILE_FORMAT,
        "version": 1,
        "account_id": key.account_id,
        "path": key.path,
        "app_id": key.app_id.hex(),
        "master_public_key": format_bls_key(key.master_public_key),
        "label": key.label,
        "key": key.key.reveal().hex(),
    }
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise CkdError(f"{path} exists; remove it or pass --force to replace it") from None
    except OSError as exc:
        raise CkdError(f"cannot write the key file {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")


def read_key_file(path: Path) -> SymmetricKey:
    """A key written by ``write_key_file`` (``CkdError`` if missing or malformed; the key itself is never echoed)."""
    try:
        record = json.loads(Path(path).read_text())
    except OSError as exc:
        raise CkdError(f"cannot read the key file {path}: {exc.strerror}") from exc
    except ValueError:
        raise CkdError(f"{path} is not a JSON key file") from None
    if not isinstance(record, dict) or record.get("format") != _KEY_FILE_FORMAT:
        raise CkdError(f"{path} is not a chainsig CKD key file")
    if record.get("version") != 1:
        raise CkdError(f"{path} is key file version {record.get('version')!r}; this client reads version 1")
    try:
        key = bytes.fromhex(record["key"])
        app_id = bytes.fromhex(record["app_id"])
        return SymmetricKey(SecretBytes(key), str(record["account_id"]), str(record["path"]), app_id,
                            parse_g2(record["master_public_key"], "master_public_key"), str(record["label"]))
    except (KeyError, TypeError, ValueError):
        raise CkdError(f"{path}: malformed key file (fields key, app_id, account_id, path, master_public_key, "
                       "label)") from None


# ---- through the signer contract ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CkdResult:
    """A finished request: the verified secret, the contract's answer (Y, C) and the NEAR transaction."""

    secret: AppSecret
    output: CkdOutput
    domain_id: DomainId
    transaction_hash: str | None


async def fetch_master_public_key(rpc_url: str, contract_id: str, domain_id: int) -> bytes:
    """The domain's ``bls12381g2:`` key from the contract's ``public_key`` view, validated."""
    from chainsig.relay import fetch_root_key

    return parse_g2(await fetch_root_key(rpc_url, contract_id, domain_id), f"domain {domain_id}'s public key")


async def request_app_secret(
    rpc_url: str,
    contract_id: str,
    credentials: NearCredentials,
    path: str,
    *,
    domain_id: DomainId = DEFAULT_CKD_DOMAIN_ID,
    master_public_key: bytes | None = None,
    via_contract: str | None = None,
    method: str = REQUEST_METHOD,
    deposit_yocto: int = CKD_DEPOSIT_YOCTO,
    gas_tgas: int = DEFAULT_GAS_TGAS,
    timeout_s: float | None = None,
) -> CkdResult:
    """Make a fresh one-time key, call ``request_app_private_key`` as ``credentials.account_id``, wait for (Y, C),
    decrypt and verify it. ``master_public_key`` defaults to the signer's (``contract_id``) key of ``domain_id``.

    With ``via_contract``, ``method`` of that contract is called with the same arguments instead (a gate that calls
    the signer itself, e.g. only for token holders): the app is then (via_contract, path), since the gate is the
    signer's predecessor, and every caller it lets through gets the same secret.

    Raises ``CkdVerificationError`` (wrong answer), ``CkdError`` (malformed answer), and what ``sign`` requests
    raise: ``RequestTimedOutError``, ``ContractFailureError``, ``RpcError``."""
    mvk = master_public_key if master_public_key is not None else await fetch_master_public_key(
        rpc_url, contract_id, domain_id)
    _load_g2(mvk, "the master public key")
    app_account = validate_account_id(via_contract, "gate contract id") if via_contract else credentials.account_id
    requester = CkdRequesterKey.generate()
    request = CkdRequest(path, requester.app_public_key, domain_id)
    status, tx_hash = await call_and_wait(rpc_url, via_contract or contract_id, credentials, method,
                                          request.to_args(), deposit_yocto=deposit_yocto, gas_tgas=gas_tgas,
                                          timeout_s=timeout_s)
    output = CkdOutput.from_json(parse_outcome_json(status, "a CKD response", CkdError))
    secret = decrypt_app_secret(output, requester, mvk, app_account, path)
    return CkdResult(secret, output, domain_id, tx_hash)
