"""Encrypted SQLite store for one-use assets (triples, presignatures) and key shares.

One-use assets follow near/mpc's rule: there is no `get`. `take_owned` deletes the row and COMMITS
before the value is returned, so a crash after taking can lose an asset but can never reuse it, and
two connections can never take the same asset (the delete is one statement: `DELETE … RETURNING`).
Every value is sealed with AES-256-GCM under a key derived by HKDF-SHA256 from the node's storage
secret; the row's identity (table, kind, id, owner) is the associated data, so a row copied or
moved to another identity fails to open. Key shares are stored the same way but can be read
(they are used for every signature) and replaced per (domain, epoch).

Each asset row carries, as data, the participant set that made it (who must take part when it is used) and, for
presignatures, the domain whose key share it was made with (it signs for that domain only). Both are part of the
associated data, and `info` reads them without touching the value, so a node checks a request *before* it takes.
The database files are created 0600 (the storage secret sits in the same data directory).
"""

from __future__ import annotations

import enum
import itertools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NewType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mpc_service.errors import MpcError
from mpc_service.secret import SecretBytes
from mpc_service.types import ParticipantId

__all__ = ["AssetCorrupted", "AssetId", "AssetInfo", "AssetKind", "AssetNotFound", "AssetStore", "AssetStoreError",
           "new_asset_id", "private_file"]

log = logging.getLogger("mpc_service.assets")

AssetId = NewType("AssetId", str)

_SCHEMA_VERSION = 2  # 2: participants and domain_id columns (version 1 encoded the participants in the id)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS assets (
    kind TEXT NOT NULL, id TEXT NOT NULL, owner INTEGER NOT NULL, participants TEXT NOT NULL, domain_id INTEGER,
    created_ns INTEGER NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL, PRIMARY KEY (kind, id));
CREATE INDEX IF NOT EXISTS assets_by_owner ON assets (kind, owner, domain_id, created_ns);
CREATE TABLE IF NOT EXISTS key_shares (
    domain_id INTEGER NOT NULL, epoch INTEGER NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL,
    PRIMARY KEY (domain_id, epoch));
CREATE TABLE IF NOT EXISTS key_share_attempts (
    domain_id INTEGER NOT NULL, epoch INTEGER NOT NULL, attempt TEXT NOT NULL, PRIMARY KEY (domain_id, epoch));
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS taken (kind TEXT NOT NULL, id TEXT NOT NULL, taken_ns INTEGER NOT NULL, PRIMARY KEY (kind, id));
"""
_KEY_CHECK = b"chainsig-py asset store key check"
_HKDF_INFO = b"chainsig-py mpc asset store v1 aes-256-gcm"
_id_counter = itertools.count()


class AssetStoreError(MpcError):
    """Root of asset store errors."""


class AssetNotFound(AssetStoreError, KeyError):
    """The asset does not exist (never stored, or already taken)."""


class AssetCorrupted(AssetStoreError):
    """A stored value failed authentication: wrong storage secret, or the row was altered or moved."""


class AssetKind(enum.Enum):
    TRIPLE = "triple"
    PRESIGNATURE = "presignature"


def private_file(path: Path) -> None:
    """Create `path` if missing and make it readable by this user only (0600)."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def _ids_text(participants: Sequence[int]) -> str:
    return ".".join(str(p) for p in sorted(participants))


def _ids_of(text: str) -> tuple[ParticipantId, ...]:
    return tuple(ParticipantId(int(p)) for p in text.split(".")) if text else ()


def new_asset_id(owner: int) -> AssetId:
    """A fresh id, unique per node: owner, wall-clock ns, process counter and 4 random bytes."""
    return AssetId(f"{owner}-{time.time_ns()}-{next(_id_counter)}-{os.urandom(4).hex()}")


@dataclass(frozen=True)
class AssetInfo:
    """What is known of a stored asset without opening it."""

    kind: AssetKind
    id: AssetId
    owner: ParticipantId
    participants: tuple[ParticipantId, ...]
    domain_id: int | None  # presignatures: the domain whose key share made them; triples: None


@dataclass(frozen=True)
class TakenAsset:
    """An asset removed from the store; its value is secret material."""

    kind: AssetKind
    id: AssetId
    owner: ParticipantId
    value: SecretBytes
    participants: tuple[ParticipantId, ...] = ()
    domain_id: int | None = None


class AssetStore:
    """SQLite-backed encrypted asset store. One instance per thread/connection; safe across processes."""

    def __init__(self, path: Path, storage_secret: SecretBytes) -> None:
        if len(storage_secret) != 32:
            raise AssetStoreError("storage secret must be 32 bytes")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(storage_secret.expose())
        self._aead = AESGCM(key)
        self._lock = threading.Lock()
        private_file(path)  # SQLite creates the -wal and -shm files with the database file's permissions
        # isolation_level=None: autocommit; every write below is one statement or an explicit transaction.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._migrate()
        self._db.executescript(_SCHEMA)
        self._check_secret()

    def _migrate(self) -> None:
        """Version-1 asset rows (participants in the id, no domain) cannot be attributed: drop them (they are
        regenerated); key shares are kept."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version >= _SCHEMA_VERSION:
            return
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(assets)").fetchall()}
        if columns and "participants" not in columns:
            log.warning("asset store schema upgraded: version-1 triples and presignatures discarded")
            self._db.execute("DROP TABLE assets")
        self._db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def _check_secret(self) -> None:
        """Refuse to open with the wrong secret *before* anything is taken (taking deletes first)."""
        aad = self._aad("meta", "key_check")
        row = self._db.execute("SELECT nonce, ciphertext FROM meta WHERE name = 'key_check'").fetchone()
        if row is None:
            nonce, ciphertext = self._seal(_KEY_CHECK, aad)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('key_check', ?, ?)", (nonce, ciphertext))
            return
        try:
            self._aead.decrypt(row[0], row[1], aad)
        except InvalidTag:
            self._db.close()
            raise AssetCorrupted("storage secret does not match this asset database") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return "AssetStore(<redacted key>)"

    # ---- sealing ------------------------------------------------------------------------
    @staticmethod
    def _aad(table: str, *parts: str | int) -> bytes:
        return "\x1f".join([table, *map(str, parts)]).encode()

    def _seal(self, value: bytes, aad: bytes) -> tuple[bytes, bytes]:
        nonce = os.urandom(12)
        return nonce, self._aead.encrypt(nonce, value, aad)

    def _open(self, nonce: bytes, ciphertext: bytes, aad: bytes, what: str) -> bytes:
        try:
            return self._aead.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise AssetCorrupted(f"{what}: stored value failed authentication") from None

    # ---- one-use assets ------------------------------------------------------------------
    def _asset_aad(self, kind: AssetKind, asset_id: str, owner: int, participants: str, domain_id: int | None) -> bytes:
        return self._aad("assets", kind.value, asset_id, owner, participants, "-" if domain_id is None else domain_id)

    def put(self, kind: AssetKind, asset_id: AssetId, owner: int, value: bytes, *,
            participants: Sequence[int] = (), domain_id: int | None = None) -> None:
        """Store a new asset; an existing id raises `AssetStoreError` (ids are never reused)."""
        self.put_many(kind, owner, [(asset_id, value)], participants=participants, domain_id=domain_id)

    def put_many(self, kind: AssetKind, owner: int, items: list[tuple[AssetId, bytes]], *,
                 participants: Sequence[int] = (), domain_id: int | None = None) -> None:
        """Store several new assets in one transaction (one commit instead of one per asset); all or none."""
        ps = _ids_text(participants)
        rows = []
        for asset_id, value in items:
            nonce, ciphertext = self._seal(value, self._asset_aad(kind, asset_id, owner, ps, domain_id))
            rows.append((kind.value, asset_id, owner, ps, domain_id, time.time_ns(), nonce, ciphertext))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO assets (kind, id, owner, participants, domain_id, created_ns, nonce, ciphertext) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError:
                self._db.execute("ROLLBACK")
                what = f"{kind.value} {items[0][0]}" if len(rows) == 1 else f"{kind.value}: one of {len(rows)} ids"
                raise AssetStoreError(f"{what} already exists") from None
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def take_owned(self, kind: AssetKind, asset_id: AssetId) -> TakenAsset:
        """Delete the asset and commit, then return its value. Raises `AssetNotFound` if already taken.

        The id is recorded in the `taken` audit table in the same transaction (its primary key would refuse a
        second take of the same id even if the asset were somehow stored again)."""
        return self.take_owned_many(kind, [asset_id])[0]

    def take_owned_many(self, kind: AssetKind, asset_ids: Sequence[AssetId]) -> list[TakenAsset]:
        """`take_owned` for several assets in one transaction (one durable commit: a presignature's two triples).
        Every one present is deleted; raises `AssetNotFound` if any was already taken."""
        rows = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for asset_id in asset_ids:
                    row = self._db.execute(
                        "DELETE FROM assets WHERE kind = ? AND id = ? RETURNING owner, participants, domain_id, "
                        "nonce, ciphertext", (kind.value, asset_id),
                    ).fetchone()
                    if row is not None:
                        self._db.execute("INSERT INTO taken VALUES (?, ?, ?)",
                                         (kind.value, asset_id, time.time_ns()))
                    rows.append(row)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        missing = [a for a, row in zip(asset_ids, rows, strict=True) if row is None]
        if missing:
            raise AssetNotFound(f"{kind.value} {', '.join(missing)}")
        return [self._opened(kind, asset_id, row) for asset_id, row in zip(asset_ids, rows, strict=True)]

    def _opened(self, kind: AssetKind, asset_id: AssetId, row: tuple[Any, ...]) -> TakenAsset:
        owner, ps, domain_id, nonce, ciphertext = row
        value = self._open(nonce, ciphertext, self._asset_aad(kind, asset_id, owner, ps, domain_id),
                           f"{kind.value} {asset_id}")
        return TakenAsset(kind, asset_id, ParticipantId(owner), SecretBytes(value), _ids_of(ps), domain_id)

    def info(self, kind: AssetKind, asset_id: AssetId) -> AssetInfo | None:
        """Owner, participants and domain of a stored asset (its value stays sealed); None if absent."""
        with self._lock:
            row = self._db.execute("SELECT owner, participants, domain_id FROM assets WHERE kind = ? AND id = ?",
                                   (kind.value, asset_id)).fetchone()
        if row is None:
            return None
        return AssetInfo(kind, asset_id, ParticipantId(row[0]), _ids_of(row[1]), row[2])

    def available(self, kind: AssetKind, owner: int, domain_id: int | None = None) -> list[AssetInfo]:
        """`owner`'s assets of `kind` (for presignatures: of `domain_id`), oldest first — to pick one to take."""
        query = "SELECT id, participants, domain_id FROM assets WHERE kind = ? AND owner = ?"
        args: tuple[object, ...] = (kind.value, owner)
        if domain_id is not None:
            query, args = query + " AND domain_id = ?", (*args, domain_id)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_ns", args).fetchall()
        return [AssetInfo(kind, AssetId(r[0]), ParticipantId(owner), _ids_of(r[1]), r[2]) for r in rows]

    def ids(self, kind: AssetKind, owner: int, domain_id: int | None = None) -> list[AssetId]:
        """Ids (not values) of `owner`'s assets of `kind`, oldest first — to pick one to `take_owned`."""
        return [a.id for a in self.available(kind, owner, domain_id)]

    def taken_ids(self, kind: AssetKind) -> list[AssetId]:
        """Every id of `kind` ever taken from this store (the audit trail of one-use assets)."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM taken WHERE kind = ?", (kind.value,)).fetchall()
        return [AssetId(r[0]) for r in rows]

    def count(self, kind: AssetKind, owner: int | None = None, domain_id: int | None = None) -> int:
        """Pool size of `kind`, optionally only the assets owned by `owner` and/or made for `domain_id`."""
        query, args = "SELECT COUNT(*) FROM assets WHERE kind = ?", list[object]([kind.value])
        if owner is not None:
            query, args = query + " AND owner = ?", [*args, owner]
        if domain_id is not None:
            query, args = query + " AND domain_id = ?", [*args, domain_id]
        with self._lock:
            (n,) = self._db.execute(query, args).fetchone()
        return int(n)

    def counts(self) -> dict[str, int]:
        """Pool sizes by kind name (for /status and /metrics)."""
        with self._lock:
            rows = dict(self._db.execute("SELECT kind, COUNT(*) FROM assets GROUP BY kind").fetchall())
        return {kind.value: int(rows.get(kind.value, 0)) for kind in AssetKind}

    def owners(self, kind: AssetKind) -> dict[ParticipantId, int]:
        """How many assets of `kind` each owner (the leader that generated them) holds here."""
        with self._lock:
            rows = self._db.execute("SELECT owner, COUNT(*) FROM assets WHERE kind = ? GROUP BY owner", (kind.value,))
            return {ParticipantId(o): int(n) for o, n in rows.fetchall()}

    def discard_oldest(self, kind: AssetKind, owner: int, count: int, domain_id: int | None = None) -> int:
        """Delete `owner`'s `count` oldest assets of `kind` (of `domain_id` for presignatures); returns how many."""
        if count <= 0:
            return 0
        query = "SELECT rowid FROM assets WHERE kind = ? AND owner = ?"
        args: tuple[object, ...] = (kind.value, owner)
        if domain_id is not None:
            query, args = query + " AND domain_id = ?", (*args, domain_id)
        with self._lock:
            cur = self._db.execute(f"DELETE FROM assets WHERE rowid IN ({query} ORDER BY created_ns LIMIT ?)",
                                   (*args, count))
        return cur.rowcount

    def discard_all(self, kind: AssetKind) -> int:
        """Delete every asset of `kind` (e.g. made with the shares or participant set of a past epoch)."""
        with self._lock:
            return self._db.execute("DELETE FROM assets WHERE kind = ?", (kind.value,)).rowcount

    def delete_key_shares(self) -> int:
        """Delete every key share (the node left the participant set); returns how many."""
        with self._lock:
            self._db.execute("DELETE FROM key_share_attempts")
            return self._db.execute("DELETE FROM key_shares").rowcount

    def keep_key_shares_of(self, epoch: int) -> int:
        """Delete the key shares of every other epoch (the past one's once a new epoch runs, a cancelled
        resharing's); returns how many."""
        with self._lock:
            self._db.execute("DELETE FROM key_share_attempts WHERE epoch != ?", (epoch,))
            return self._db.execute("DELETE FROM key_shares WHERE epoch != ?", (epoch,)).rowcount

    def discard_owned_by(self, kind: AssetKind, owners: set[int]) -> int:
        """Delete every asset of `kind` whose owner is in `owners` (e.g. participants that left); returns how many."""
        if not owners:
            return 0
        marks = ",".join("?" * len(owners))
        with self._lock:
            cur = self._db.execute(f"DELETE FROM assets WHERE kind = ? AND owner IN ({marks})", (kind.value, *owners))
        return cur.rowcount

    # ---- key shares ------------------------------------------------------------------------
    def put_key_share(self, domain_id: int, epoch: int, share: bytes, attempt: str = "") -> None:
        """Store (or replace) the key share for (domain, epoch), encrypted, with the key event attempt that made
        it (a share from an earlier attempt must not be voted for a later one)."""
        nonce, ciphertext = self._seal(share, self._aad("key_shares", domain_id, epoch))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO key_shares (domain_id, epoch, nonce, ciphertext) VALUES (?, ?, ?, ?)",
                    (domain_id, epoch, nonce, ciphertext),
                )
                self._db.execute("INSERT OR REPLACE INTO key_share_attempts VALUES (?, ?, ?)",
                                 (domain_id, epoch, attempt))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def key_share_attempt(self, domain_id: int, epoch: int) -> str | None:
        """The attempt recorded with the (domain, epoch) key share; None when there is no share."""
        with self._lock:
            row = self._db.execute("SELECT attempt FROM key_share_attempts WHERE domain_id = ? AND epoch = ?",
                                   (domain_id, epoch)).fetchone()
        return str(row[0]) if row else None

    def key_share(self, domain_id: int, epoch: int | None = None) -> tuple[int, SecretBytes]:
        """(epoch, share) for `domain_id`: the given epoch or the latest. Raises `AssetNotFound`."""
        with self._lock:
            if epoch is None:
                row = self._db.execute(
                    "SELECT epoch, nonce, ciphertext FROM key_shares WHERE domain_id = ? ORDER BY epoch DESC LIMIT 1",
                    (domain_id,),
                ).fetchone()
            else:
                row = self._db.execute(
                    "SELECT epoch, nonce, ciphertext FROM key_shares WHERE domain_id = ? AND epoch = ?",
                    (domain_id, epoch),
                ).fetchone()
        if row is None:
            raise AssetNotFound(f"key share for domain {domain_id}" + (f" epoch {epoch}" if epoch is not None else ""))
        found_epoch, nonce, ciphertext = row
        aad = self._aad("key_shares", domain_id, found_epoch)
        return int(found_epoch), SecretBytes(self._open(nonce, ciphertext, aad, f"key share {domain_id}/{found_epoch}"))


