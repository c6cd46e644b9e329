"""The chain state: an in-memory key-value map with an undo journal, persisted block by block.

Keys are `(kind, account_id, extra)`. A receipt runs inside a checkpoint; `rollback(cp)` undoes every
write since it (nearcore discards the receipt's TrieUpdate the same way). `take_dirty()` hands the
keys changed since the last block to the store. The whole state is loaded at start: the localnet is
small, and this keeps reads free of SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

StateKey = tuple[str, str, bytes]
AnyKey = tuple[str, str] | tuple[str, str, bytes]


def _norm(key: AnyKey) -> StateKey:
    """Accept (kind, account) for per-account singletons (account record, code)."""
    return key if len(key) == 3 else (key[0], key[1], b"")

# kinds
ACCOUNT = "account"  # value: records.Account
ACCESS_KEY = "key"  # extra: borsh public key; value: types.AccessKey
CODE = "code"  # value: bytes
DATA = "data"  # extra: contract storage key; value: bytes
YIELD = "yield"  # extra: data_id; value: int expiry height
POSTPONED = "postponed"  # extra: receipt_id; value: records.ActionReceipt waiting for data
PENDING_DATA = "pending"  # extra: receipt_id; value: int number of data ids still missing
WAITING = "waiting"  # extra: data_id; value: receipt_id waiting for it
RECEIVED_DATA = "received"  # extra: data_id; value: bytes | None


class State:
    """Journaled key-value state (not thread-safe; the chain is single-threaded)."""

    def __init__(self, entries: dict[StateKey, Any] | None = None) -> None:
        self._entries: dict[StateKey, Any] = dict(entries or {})
        self._by_account: dict[str, set[StateKey]] = {}
        for key in self._entries:
            self._by_account.setdefault(key[1], set()).add(key)
        self._journal: list[tuple[StateKey, bool, Any]] = []
        self._dirty: set[StateKey] = set()

    def get(self, key: AnyKey) -> Any:
        return self._entries.get(_norm(key))

    def __contains__(self, key: AnyKey) -> bool:
        return _norm(key) in self._entries

    def set(self, raw_key: AnyKey, value: Any) -> None:
        key = _norm(raw_key)
        self._record(key)
        self._entries[key] = value
        self._by_account.setdefault(key[1], set()).add(key)

    def delete(self, raw_key: AnyKey) -> None:
        key = _norm(raw_key)
        if key not in self._entries:
            return
        self._record(key)
        del self._entries[key]
        self._by_account.get(key[1], set()).discard(key)

    def keys_of(self, account_id: str, kind: str) -> list[StateKey]:
        """Every key of one kind under an account, sorted by `extra`."""
        return sorted((k for k in self._by_account.get(account_id, ()) if k[0] == kind), key=lambda k: k[2])

    def all_of_kind(self, kind: str) -> Iterator[tuple[StateKey, Any]]:
        return ((k, v) for k, v in list(self._entries.items()) if k[0] == kind)

    # ---- journal ----
    def checkpoint(self) -> int:
        return len(self._journal)

    def rollback(self, checkpoint: int) -> None:
        while len(self._journal) > checkpoint:
            key, existed, old = self._journal.pop()
            if existed:
                self._entries[key] = old
                self._by_account.setdefault(key[1], set()).add(key)
            else:
                self._entries.pop(key, None)
                self._by_account.get(key[1], set()).discard(key)

    def undo_log(self) -> dict[StateKey, tuple[bool, Any]]:
        """For each key changed since the last `take_dirty`: (existed, value) before its first change."""
        undo: dict[StateKey, tuple[bool, Any]] = {}
        for key, existed, old in self._journal:
            undo.setdefault(key, (existed, old))
        return undo

    def snapshot(self) -> dict[StateKey, Any]:
        """A shallow copy of every entry (values are immutable or replaced on write, never mutated)."""
        return dict(self._entries)

    def take_dirty(self) -> dict[StateKey, tuple[bool, Any]]:
        """Changed keys since the last call as (present, value); clears the journal."""
        changes = {k: (k in self._entries, self._entries.get(k)) for k in self._dirty}
        self._dirty.clear()
        self._journal.clear()
        return changes

    def _record(self, key: StateKey) -> None:
        existed = key in self._entries
        self._journal.append((key, existed, self._entries.get(key)))
        self._dirty.add(key)
