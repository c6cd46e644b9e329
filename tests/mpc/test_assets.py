"""Encrypted asset store: take-once semantics, crash safety, concurrency and encryption at rest."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from mpc_service.assets import (
    AssetCorrupted,
    AssetId,
    AssetKind,
    AssetNotFound,
    AssetStore,
    AssetStoreError,
    new_asset_id,
)
from mpc_service.secret import SecretBytes


def test_take_owned_returns_value_once(db_path: Path, storage_secret: SecretBytes) -> None:
    store = AssetStore(db_path, storage_secret)
    aid = new_asset_id(3)
    store.put(AssetKind.TRIPLE, aid, 3, b"triple-secret")
    assert store.count(AssetKind.TRIPLE) == 1
    taken = store.take_owned(AssetKind.TRIPLE, aid)
    assert taken.value.expose() == b"triple-secret" and taken.owner == 3
    assert "triple-secret" not in repr(taken)
    with pytest.raises(AssetNotFound):
        store.take_owned(AssetKind.TRIPLE, aid)
    assert store.count(AssetKind.TRIPLE) == 0


def test_taken_asset_is_gone_after_reopen(db_path: Path, storage_secret: SecretBytes) -> None:
    store = AssetStore(db_path, storage_secret)
    ids = [new_asset_id(1) for _ in range(3)]
    for i, aid in enumerate(ids):
        store.put(AssetKind.PRESIGNATURE, aid, 1, b"p%d" % i)
    store.take_owned(AssetKind.PRESIGNATURE, ids[1])
    # Simulate a crash: the connection is dropped without close().
    del store
    reopened = AssetStore(db_path, storage_secret)
    assert reopened.count(AssetKind.PRESIGNATURE) == 2
    with pytest.raises(AssetNotFound):
        reopened.take_owned(AssetKind.PRESIGNATURE, ids[1])
    assert reopened.take_owned(AssetKind.PRESIGNATURE, ids[2]).value.expose() == b"p2"


def test_no_double_take_across_connections(db_path: Path, storage_secret: SecretBytes) -> None:
    writer = AssetStore(db_path, storage_secret)
    ids = [new_asset_id(0) for _ in range(200)]
    for aid in ids:
        writer.put(AssetKind.TRIPLE, aid, 0, aid.encode())
    stores = [AssetStore(db_path, storage_secret) for _ in range(2)]
    taken: list[list[str]] = [[], []]

    def worker(n: int) -> None:
        for aid in ids:
            try:
                taken[n].append(stores[n].take_owned(AssetKind.TRIPLE, aid).value.expose().decode())
            except AssetNotFound:
                pass

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken[0] + taken[1]) == sorted(ids)
    assert not set(taken[0]) & set(taken[1])


def test_ids_by_owner_oldest_first_and_owner_counts(db_path: Path, storage_secret: SecretBytes) -> None:
    store = AssetStore(db_path, storage_secret)
    first, second, other = new_asset_id(1), new_asset_id(1), new_asset_id(2)
    store.put(AssetKind.PRESIGNATURE, first, 1, b"a")
    store.put(AssetKind.PRESIGNATURE, second, 1, b"b")
    store.put(AssetKind.PRESIGNATURE, other, 2, b"c")
    assert store.owners(AssetKind.PRESIGNATURE) == {1: 2, 2: 1}
    assert store.count(AssetKind.PRESIGNATURE, owner=1) == 2
    assert store.ids(AssetKind.PRESIGNATURE, 1) == [first, second]  # oldest first
    assert store.take_owned(AssetKind.PRESIGNATURE, first).value.expose() == b"a"
    assert store.discard_owned_by(AssetKind.PRESIGNATURE, {2}) == 1
    assert store.counts() == {"triple": 0, "presignature": 1}
    assert store.ids(AssetKind.PRESIGNATURE, 2) == []


def test_values_encrypted_on_disk(db_path: Path, storage_secret: SecretBytes) -> None:
    store = AssetStore(db_path, storage_secret)
    marker = b"PLAINTEXT-MARKER-" + os.urandom(8).hex().encode()
    store.put(AssetKind.TRIPLE, AssetId("t1"), 0, marker * 4)
    store.put_key_share(0, 1, marker + b"-share")
    store.close()
    blob = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.name.startswith(db_path.name))
    assert marker not in blob
    assert storage_secret.expose() not in blob


def test_wrong_secret_or_moved_row_fails_authentication(db_path: Path, storage_secret: SecretBytes) -> None:
    store = AssetStore(db_path, storage_secret)
    store.put(AssetKind.TRIPLE, AssetId("a"), 0, b"x")
    store.put(AssetKind.TRIPLE, AssetId("b"), 0, b"y")
    store.close()
    with pytest.raises(AssetCorrupted, match="does not match"):
        AssetStore(db_path, SecretBytes(os.urandom(32)))
    assert AssetStore(db_path, storage_secret).count(AssetKind.TRIPLE) == 2  # nothing lost
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE assets SET owner = 5 WHERE id = 'b'")
    raw.commit()
    raw.close()
    with pytest.raises(AssetCorrupted):
        AssetStore(db_path, storage_secret).take_owned(AssetKind.TRIPLE, AssetId("b"))


def test_key_shares_latest_epoch_and_duplicates(db_path: Path, storage_secret: SecretBytes) -> None:
    store = AssetStore(db_path, storage_secret)
    with pytest.raises(AssetNotFound):
        store.key_share(0)
    store.put_key_share(0, 1, b"old")
    store.put_key_share(0, 2, b"new")
    epoch, share = store.key_share(0)
    assert epoch == 2 and share.expose() == b"new"
    assert store.key_share(0, 1)[1].expose() == b"old"
    store.put(AssetKind.TRIPLE, AssetId("dup"), 0, b"1")
    with pytest.raises(AssetStoreError, match="already exists"):
        store.put(AssetKind.TRIPLE, AssetId("dup"), 0, b"2")
    assert store.take_owned(AssetKind.TRIPLE, AssetId("dup")).value.expose() == b"1"


def test_put_many_is_one_transaction_all_or_nothing(db_path: Path, storage_secret: SecretBytes) -> None:
    store = AssetStore(db_path, storage_secret)
    ids = [AssetId(f"1-batch-{i}@0.1.2") for i in range(3)]
    store.put_many(AssetKind.TRIPLE, 1, [(aid, f"value {aid}".encode()) for aid in ids])
    assert store.ids(AssetKind.TRIPLE, 1) == ids
    with pytest.raises(AssetStoreError, match="already exists"):
        store.put_many(AssetKind.TRIPLE, 1, [(AssetId("1-new@0.1.2"), b"x"), (ids[0], b"again")])
    assert store.count(AssetKind.TRIPLE) == 3  # the new id was rolled back with the duplicate
    assert store.take_owned(AssetKind.TRIPLE, ids[1]).value.expose() == f"value {ids[1]}".encode()
    store.close()


def test_presignatures_are_per_domain_with_their_participant_set(db_path: Path, storage_secret: SecretBytes) -> None:
    """A presignature is made with one domain's key share and one participant set: both are columns, readable
    before taking (`info`, `available`) and returned with the value."""
    store = AssetStore(db_path, storage_secret)
    a, b = new_asset_id(1), new_asset_id(1)
    store.put(AssetKind.PRESIGNATURE, a, 1, b"for domain 0", participants=[3, 1, 2], domain_id=0)
    store.put(AssetKind.PRESIGNATURE, b, 1, b"for domain 2", participants=[1, 4, 5], domain_id=2)
    assert [x.id for x in store.available(AssetKind.PRESIGNATURE, 1, domain_id=2)] == [b]
    assert store.count(AssetKind.PRESIGNATURE, domain_id=0) == 1
    info = store.info(AssetKind.PRESIGNATURE, a)
    assert info is not None and info.participants == (1, 2, 3) and info.domain_id == 0 and info.owner == 1
    taken = store.take_owned(AssetKind.PRESIGNATURE, b)
    assert (taken.domain_id, taken.participants, taken.value.expose()) == (2, (1, 4, 5), b"for domain 2")
    assert store.info(AssetKind.PRESIGNATURE, b) is None


def test_moving_an_asset_to_another_domain_or_set_fails_to_open(db_path: Path, storage_secret: SecretBytes) -> None:
    """Domain and participants are authenticated (associated data): editing the columns on disk is detected."""
    store = AssetStore(db_path, storage_secret)
    store.put(AssetKind.PRESIGNATURE, AssetId("1-x"), 1, b"v", participants=[1, 2, 3], domain_id=0)
    store.put(AssetKind.PRESIGNATURE, AssetId("1-y"), 1, b"w", participants=[1, 2, 3], domain_id=0)
    db = sqlite3.connect(db_path)
    db.execute("UPDATE assets SET domain_id = 2 WHERE id = '1-x'")
    db.execute("UPDATE assets SET participants = '1.2.4' WHERE id = '1-y'")
    db.commit()
    db.close()
    for aid in ("1-x", "1-y"):
        with pytest.raises(AssetCorrupted):
            store.take_owned(AssetKind.PRESIGNATURE, AssetId(aid))


def test_database_files_are_private(db_path: Path, storage_secret: SecretBytes) -> None:
    os.chmod(db_path.parent, 0o755)
    store = AssetStore(db_path, storage_secret)
    store.put(AssetKind.TRIPLE, AssetId("t"), 0, b"x")
    files = [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)]
    assert files and all(p.stat().st_mode & 0o077 == 0 for p in files), [oct(p.stat().st_mode) for p in files]
    store.close()


def test_version_1_assets_are_dropped_and_key_shares_kept(db_path: Path, storage_secret: SecretBytes) -> None:
    store = AssetStore(db_path, storage_secret)
    store.put_key_share(0, 1, b"share")
    store.close()
    db = sqlite3.connect(db_path)  # make it look like a version-1 database with one asset row
    db.execute("DROP TABLE assets")
    db.execute("CREATE TABLE assets (kind TEXT NOT NULL, id TEXT NOT NULL, owner INTEGER NOT NULL, "
               "created_ns INTEGER NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL, PRIMARY KEY (kind, id))")
    db.execute("INSERT INTO assets VALUES ('triple', '1-a@1.2.3', 1, 0, x'00', x'00')")
    db.execute("PRAGMA user_version = 0")
    db.commit()
    db.close()
    reopened = AssetStore(db_path, storage_secret)
    assert reopened.count(AssetKind.TRIPLE) == 0
    assert reopened.key_share(0, 1)[1].expose() == b"share"
    reopened.put(AssetKind.TRIPLE, AssetId("1-b"), 1, b"t", participants=[1, 2, 3])
    assert reopened.take_owned(AssetKind.TRIPLE, AssetId("1-b")).participants == (1, 2, 3)


def test_discard_oldest_of_one_owner_and_domain(db_path: Path, storage_secret: SecretBytes) -> None:
    store = AssetStore(db_path, storage_secret)
    ids = [new_asset_id(1) for _ in range(5)]
    for aid in ids:
        store.put(AssetKind.PRESIGNATURE, aid, 1, b"v", participants=[1, 2], domain_id=0)
    store.put(AssetKind.PRESIGNATURE, AssetId("1-other-domain"), 1, b"v", participants=[1, 2], domain_id=2)
    store.put(AssetKind.PRESIGNATURE, AssetId("2-other-owner"), 2, b"v", participants=[1, 2], domain_id=0)
    assert store.discard_oldest(AssetKind.PRESIGNATURE, 1, 2, domain_id=0) == 2
    assert store.ids(AssetKind.PRESIGNATURE, 1, domain_id=0) == ids[2:]
    assert store.count(AssetKind.PRESIGNATURE) == 5
