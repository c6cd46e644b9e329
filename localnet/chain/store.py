"""SQLite persistence: state, blocks, chunks, outcomes, transactions, receipts and chain metadata.

Everything a block changes is written in one SQLite transaction, so a chain reopened on the same home
continues from its last block. `home=None` keeps the database in memory.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from localnet.chain import state as st
from localnet.chain.records import (
    Account,
    ActionReceipt,
    access_key_from_json,
    access_key_view,
    b64,
    receipt_from_json,
    unb64,
)

JSON = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (kind TEXT, account TEXT, extra BLOB, value BLOB, PRIMARY KEY (kind, account, extra));
CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash TEXT UNIQUE, json TEXT);
CREATE TABLE IF NOT EXISTS chunks (hash TEXT PRIMARY KEY, json TEXT);
CREATE TABLE IF NOT EXISTS outcomes (id TEXT PRIMARY KEY, json TEXT);
CREATE TABLE IF NOT EXISTS transactions (hash TEXT PRIMARY KEY, json TEXT);
CREATE TABLE IF NOT EXISTS receipts (id TEXT PRIMARY KEY, json TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


def encode_value(kind: str, value: Any) -> bytes:
    if kind in (st.CODE, st.DATA, st.WAITING):
        return bytes(value)
    if kind == st.ACCOUNT:
        payload: Any = value.to_json()
    elif kind == st.ACCESS_KEY:
        payload = access_key_view(value)
    elif kind in (st.YIELD, st.PENDING_DATA):
        payload = int(value)
    elif kind == st.POSTPONED:
        payload = value.view(for_view=False)
    elif kind == st.RECEIVED_DATA:
        payload = {"data": None if value is None else b64(value)}
    else:
        raise ValueError(f"unknown state kind {kind}")
    return json.dumps(payload).encode()


def decode_value(kind: str, raw: bytes) -> Any:
    if kind in (st.CODE, st.DATA, st.WAITING):
        return bytes(raw)
    payload = json.loads(raw)
    if kind == st.ACCOUNT:
        return Account.from_json(payload)
    if kind == st.ACCESS_KEY:
        return access_key_from_json(payload)
    if kind in (st.YIELD, st.PENDING_DATA):
        return int(payload)
    if kind == st.POSTPONED:
        receipt = receipt_from_json(payload)
        assert isinstance(receipt, ActionReceipt)
        return receipt
    if kind == st.RECEIVED_DATA:
        return None if payload["data"] is None else unb64(payload["data"])
    raise ValueError(f"unknown state kind {kind}")


class Store:
    """The chain's SQLite database (one file `chain.sqlite3` under home)."""

    def __init__(self, home: Path | None) -> None:
        if home is None:
            path = ":memory:"
        else:
            home.mkdir(parents=True, exist_ok=True)
            path = str(home / "chain.sqlite3")
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    # ---- reads ----
    def load_state(self) -> dict[st.StateKey, Any]:
        rows = self._db.execute("SELECT kind, account, extra, value FROM state")
        return {(k, a, bytes(e)): decode_value(k, v) for k, a, e, v in rows}

    def meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def block_by_height(self, height: int) -> JSON | None:
        if not 0 <= height < 2**63:  # a u64 height SQLite's INTEGER cannot hold is no block the chain has
            return None
        return self._one("SELECT json FROM blocks WHERE height = ?", height)

    def block_by_hash(self, block_hash: str) -> JSON | None:
        return self._one("SELECT json FROM blocks WHERE hash = ?", block_hash)

    def latest_block(self) -> JSON | None:
        return self._one("SELECT json FROM blocks ORDER BY height DESC LIMIT 1")

    def chunk(self, chunk_hash: str) -> JSON | None:
        return self._one("SELECT json FROM chunks WHERE hash = ?", chunk_hash)

    def outcome(self, outcome_id: str) -> JSON | None:
        return self._one("SELECT json FROM outcomes WHERE id = ?", outcome_id)

    def transaction(self, tx_hash: str) -> JSON | None:
        return self._one("SELECT json FROM transactions WHERE hash = ?", tx_hash)

    def receipt(self, receipt_id: str) -> JSON | None:
        return self._one("SELECT json FROM receipts WHERE id = ?", receipt_id)

    def _one(self, sql: str, *args: Any) -> JSON | None:
        row = self._db.execute(sql, args).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    # ---- writes ----
    def commit_block(
        self,
        *,
        state_changes: dict[st.StateKey, tuple[bool, Any]],
        block: JSON | None,
        chunk: JSON | None,
        outcomes: dict[str, JSON],
        transactions: dict[str, JSON],
        receipts: dict[str, JSON],
        meta: dict[str, Any],
    ) -> None:
        """Write one block and everything it changed atomically."""
        db = self._db
        db.execute("BEGIN")
        try:
            for (kind, account, extra), (present, value) in state_changes.items():
                if present:
                    db.execute(
                        "INSERT OR REPLACE INTO state VALUES (?, ?, ?, ?)",
                        (kind, account, extra, encode_value(kind, value)),
                    )
                else:
                    db.execute("DELETE FROM state WHERE kind = ? AND account = ? AND extra = ?", (kind, account, extra))
            if block is not None:
                header = block["header"]
                db.execute("INSERT INTO blocks VALUES (?, ?, ?)", (header["height"], header["hash"], json.dumps(block)))
            if chunk is not None:
                db.execute("INSERT INTO chunks VALUES (?, ?)", (chunk["header"]["chunk_hash"], json.dumps(chunk)))
            db.executemany(
                "INSERT OR REPLACE INTO outcomes VALUES (?, ?)", [(k, json.dumps(v)) for k, v in outcomes.items()]
            )
            db.executemany(
                "INSERT OR REPLACE INTO transactions VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in transactions.items()],
            )
            db.executemany(
                "INSERT OR REPLACE INTO receipts VALUES (?, ?)", [(k, json.dumps(v)) for k, v in receipts.items()]
            )
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()
