"""The indexer: follows blocks over JSON-RPC from a persisted height and turns each block into one `BlockUpdate`.

Like near/mpc's indexer it reads *receipts*, not logs: a `sign` request is a receipt in the block's chunk with
receiver = the signer contract and one FunctionCall `sign`; its request (tweak, payload, domain) is computed from the
call's arguments and the predecessor, exactly as the contract does, and its entropy is the block's `random_value`
(the block in which the receipt executed). A `request_app_private_key` receipt is a CKD request
(`PendingCkdRequest`: app id from the predecessor and path, the requester's one-time key). `respond`/`respond_ckd`
receipts are reported as hints that a request may be done; the
request queue confirms with the contract's `get_pending_request` view (a respond may also fail).

The processed height is stored in SQLite after each block is handed over. On start the indexer re-reads the last
`rescan_blocks` (the request lifetime, 200) blocks, so requests that were pending in memory before a restart are seen
again; the queue drops the ones the contract no longer holds. Nothing is double-signed: the contract resumes a request
once, and the queue asks the contract before each attempt.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import base58

from chainsig.ckd import parse_g1, parse_g2
from chainsig.errors import CkdError
from chainsig.kdf import derive_app_id, derive_tweak
from chainsig.types import PayloadScheme
from mpc_service.assets import private_file
from mpc_service.chain.events import (
    PendingCkdRequest,
    PendingRequest,
    PendingSignRequest,
    ckd_request_id_of,
    request_id_of,
)
from mpc_service.chain.rpc import ChainError, ReadChain, UnknownBlock
from mpc_service.checks import TaskRefused, check_payload
from mpc_service.jsonsafe import loads_bounded
from mpc_service.types import DomainId, RequestId

__all__ = ["BlockUpdate", "Indexer", "parse_ckd_args", "parse_respond_args", "parse_respond_ckd_args", "parse_sign_args"]

log = logging.getLogger("mpc_service.indexer")

MAX_ARGS_BYTES = 64 * 1024  # a `sign`/`respond` call's arguments; anything larger is not a request the contract takes
MAX_ARGS_NESTING = 8
FAST_RETRIES = 4  # quick asks once the next block is due
FAST_RETRY_S = 0.015
PREFETCH_BLOCKS = 16  # heights read ahead concurrently while the indexer is behind the chain
BEHIND_S = 1.0  # the last block read is older than this: the indexer is behind
# A block is readable some time after its timestamp (the producer executes its receipts first). The indexer learns
# that lag: a first ask that misses adds LAG_UP_S, one that hits takes LAG_DOWN_S off, so about one first ask in
# ten misses. Asking at the bare timestamp missed every block, which doubled the indexer's RPC calls.
LAG_UP_S = 0.004
LAG_DOWN_S = 0.0005
MAX_LAG_S = 0.1


@dataclass(frozen=True)
class BlockUpdate:
    """Everything the node needs from one block."""

    height: int
    block_hash: str
    random_value: bytes = field(repr=False)
    requests: tuple[PendingRequest, ...] = ()
    responded: tuple[RequestId, ...] = ()
    catching_up: bool = False
    timestamp_s: float | None = None  # the block's timestamp (chain time)


def _payload(req: dict[str, Any]) -> tuple[str, bytes]:
    if "payload_v2" in req:
        obj = req["payload_v2"]
        if not isinstance(obj, dict) or len(obj) != 1:
            raise ValueError("payload_v2 must have one variant")
        ((kind, value),) = obj.items()
        if kind not in ("Ecdsa", "Eddsa") or not isinstance(value, str):
            raise ValueError("bad payload_v2")
        return kind, bytes.fromhex(value)
    legacy = req.get("payload")
    if isinstance(legacy, list) and all(isinstance(b, int) and 0 <= b < 256 for b in legacy):
        return "Ecdsa", bytes(legacy)
    raise ValueError("no payload")


def parse_sign_args(args: bytes, predecessor: str) -> tuple[DomainId, bytes, PayloadScheme, bytes]:
    """(domain, tweak, payload kind, payload) of a `sign` call; ValueError when the contract would reject it."""
    data = loads_bounded(args, max_bytes=MAX_ARGS_BYTES, max_depth=MAX_ARGS_NESTING)
    req = data["request"]
    domain = req.get("domain_id", req.get("key_version", 0))
    path = req.get("path")
    if not isinstance(domain, int) or isinstance(domain, bool) or not isinstance(path, str):
        raise ValueError("bad domain_id or path")  # noqa: TRY004 - one error type: "the contract rejects it"
    kind, payload = _payload(req)
    try:
        check_payload(kind, payload)  # the contract refuses what fails these rules
    except TaskRefused as exc:
        raise ValueError(str(exc)) from None
    return DomainId(domain), derive_tweak(predecessor, path), PayloadScheme(kind), payload


def parse_respond_args(args: bytes) -> RequestId:
    """The request id a `respond` call answers."""
    req = loads_bounded(args, max_bytes=MAX_ARGS_BYTES, max_depth=MAX_ARGS_NESTING)["request"]
    tweak = req["tweak"]
    tweak_bytes = bytes.fromhex(tweak) if isinstance(tweak, str) else bytes(tweak)
    ((kind, value),) = req["payload"].items()
    payload = bytes.fromhex(value) if isinstance(value, str) else bytes(value)
    return request_id_of(int(req["domain_id"]), tweak_bytes, kind, payload)


def _app_public_key(value: Any) -> tuple[bytes, bytes | None, str]:
    """(pk1, pk2 or None, canonical JSON) of a CKD request's `app_public_key`: "bls12381g1:…" or {"pk1", "pk2"}."""
    try:
        if isinstance(value, str):
            return parse_g1(value, "app_public_key"), None, json.dumps(value)
        if isinstance(value, dict) and set(value) == {"pk1", "pk2"}:
            return (parse_g1(value["pk1"], "pk1"), parse_g2(value["pk2"], "pk2"),
                    json.dumps(value, sort_keys=True, separators=(",", ":")))
    except CkdError as exc:
        raise ValueError(str(exc)) from None
    raise ValueError('app_public_key: expected "bls12381g1:…" or {"pk1", "pk2"}')


def parse_ckd_args(args: bytes, predecessor: str) -> tuple[DomainId, bytes, bytes, bytes | None, str]:
    """(domain, app id, pk1, pk2, app_public_key JSON) of a `request_app_private_key` call; ValueError when the
    contract would reject it."""
    req = loads_bounded(args, max_bytes=MAX_ARGS_BYTES, max_depth=MAX_ARGS_NESTING)["request"]
    domain, path = req.get("domain_id"), req.get("derivation_path")
    if not isinstance(domain, int) or isinstance(domain, bool) or not 0 <= domain < 2**32 or not isinstance(path, str):
        raise ValueError("bad domain_id or derivation_path")
    pk1, pk2, app_public_key = _app_public_key(req.get("app_public_key"))
    return DomainId(domain), derive_app_id(predecessor, path), pk1, pk2, app_public_key


def parse_respond_ckd_args(args: bytes) -> RequestId:
    """The request id a `respond_ckd` call answers."""
    req = loads_bounded(args, max_bytes=MAX_ARGS_BYTES, max_depth=MAX_ARGS_NESTING)["request"]
    pk1, pk2, _ = _app_public_key(req["app_public_key"])
    return ckd_request_id_of(int(req["domain_id"]), bytes.fromhex(req["app_id"]), pk1, pk2)


def _function_calls(receipt: dict[str, Any]) -> list[dict[str, Any]]:
    action = (receipt.get("receipt") or {}).get("Action")
    if not isinstance(action, dict):
        return []
    return [a["FunctionCall"] for a in action.get("actions", []) if isinstance(a, dict) and "FunctionCall" in a]


class _HeightStore:
    """The last processed height, in SQLite."""

    def __init__(self, path: Path) -> None:
        private_file(path)
        self._db = sqlite3.connect(path, isolation_level=None)
        # Written every block. Losing the last writes on a power cut only re-reads blocks (the start rescans
        # `rescan_blocks` anyway), so commits need not wait for fsync.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS indexer (name TEXT PRIMARY KEY, height INTEGER NOT NULL)")

    def get(self) -> int | None:
        row = self._db.execute("SELECT height FROM indexer WHERE name = 'processed'").fetchone()
        return int(row[0]) if row else None

    def set(self, height: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO indexer VALUES ('processed', ?)", (height,))

    def close(self) -> None:
        self._db.close()


class Indexer:
    """Follows the chain and puts one `BlockUpdate` per block on `updates`."""

    def __init__(self, chain: ReadChain, contract_id: str, db_path: Path, *, start_height: int | None,
                 poll_interval_s: float = 0.1, rescan_blocks: int = 200, status_after_misses: int = 6) -> None:
        self.chain = chain
        self.contract_id = contract_id
        self._store = _HeightStore(db_path)
        self._start_height = start_height
        self.poll_interval_s = poll_interval_s
        self.rescan_blocks = rescan_blocks
        self.updates: asyncio.Queue[BlockUpdate] = asyncio.Queue(maxsize=1000)
        self.processed_height = -1
        self.latest_height = -1
        self.requests_seen = 0
        self.status_after_misses = status_after_misses
        self._poke = asyncio.Event()
        self._last_block_ts: float | None = None  # chain timestamp (s) of the last block read
        self._block_interval: float | None = None  # moving average of the gap between blocks
        self._prefetched: dict[int, asyncio.Task[BlockUpdate]] = {}
        self._lag_s = 0.0  # learnt delay between a block's timestamp and the moment it can be read

    def poke(self) -> None:
        """Ask for the next block now instead of after the poll interval (e.g. a peer mentions a new request)."""
        self._poke.set()

    def _delay(self, misses: int) -> float:
        """How long to wait after the `misses`-th failed ask for the next block. Blocks come at a steady pace, so
        the first wait lasts until the next block is due (last block's timestamp + the recent interval), then a
        few quick asks while it is being produced, then the poll interval. Without timestamps: the poll interval."""
        if self._last_block_ts is None or self._block_interval is None:
            return self.poll_interval_s
        if misses == 1:
            due = self._due_in()
            if due > 0:
                return min(due + FAST_RETRY_S / 3, 5.0)
        if misses <= FAST_RETRIES:
            return min(self.poll_interval_s, FAST_RETRY_S)
        return self.poll_interval_s

    def _due_in(self) -> float:
        """Seconds until the next block is expected to be readable (≤ 0: now; 0 without timestamps)."""
        if self._last_block_ts is None or self._block_interval is None:
            return 0.0
        return self._last_block_ts + self._block_interval + self._lag_s - time.time()

    def _note_timestamp(self, ts: float | None) -> None:
        if ts is None:
            self._last_block_ts = None
            return
        if self._last_block_ts is not None and 0 < ts - self._last_block_ts < 10.0:
            gap = ts - self._last_block_ts
            self._block_interval = gap if self._block_interval is None else 0.8 * self._block_interval + 0.2 * gap
        self._last_block_ts = ts

    async def _pause(self, misses: int = 0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._poke.wait(), self._delay(misses) if misses else self.poll_interval_s)
        self._poke.clear()

    def close(self) -> None:
        self._store.close()

    def _behind(self) -> bool:
        return self._last_block_ts is not None and time.time() - self._last_block_ts > BEHIND_S

    def _prefetch(self, next_height: int, saved: int | None) -> None:
        """While behind, read the next heights concurrently (one block + chunk round trip each would otherwise cap
        the indexer at 1 / (2 × RPC latency) blocks per second, which a loaded machine pushes below the chain's
        rate). Results are consumed in height order; a height not produced yet is simply asked again later."""
        for height in range(next_height + 1, next_height + PREFETCH_BLOCKS):
            if height not in self._prefetched:
                self._prefetched[height] = asyncio.ensure_future(
                    self._read_block(height, catching_up=saved is not None and height <= saved))

    async def _next_block(self, height: int, saved: int | None) -> BlockUpdate:
        task = self._prefetched.pop(height, None)
        if task is not None:
            return await task
        return await self._read_block(height, catching_up=saved is not None and height <= saved)

    async def _first_height(self) -> int:
        saved = self._store.get()
        if saved is not None:
            return max(0, saved + 1 - self.rescan_blocks)
        if self._start_height is not None:
            return self._start_height
        return await self.chain.latest_height()

    async def run(self) -> None:
        """Follow blocks forever (cancel to stop). RPC failures are retried with backoff.

        The next block is asked for directly; only when it has not appeared after `status_after_misses` polls is
        `status` consulted, to tell a height that is not produced yet from a skipped one (a block is normally
        missed once or twice while the chain produces it, and a `status` per miss doubled the polling load)."""
        next_height = await self._retrying(self._first_height)
        saved = self._store.get()
        try:
            await self._follow(next_height, saved)
        finally:
            for task in self._prefetched.values():
                task.cancel()
            self._prefetched.clear()

    async def _follow(self, next_height: int, saved: int | None) -> None:
        backoff = self.poll_interval_s
        misses = 0
        while True:
            try:
                if self._behind() or saved is not None and next_height < saved:
                    self._prefetch(next_height, saved)
                elif misses == 0 and self._due_in() > 0:
                    misses = 1  # not produced yet: wait until it is due rather than ask now and miss
                    await self._pause(misses)
                try:
                    update = await self._next_block(next_height, saved)
                except UnknownBlock:
                    misses += 1
                    if misses == 2:  # the first ask, made when the block was due, missed
                        self._lag_s = min(MAX_LAG_S, self._lag_s + LAG_UP_S)
                    if misses < self.status_after_misses:
                        await self._pause(misses)
                        continue
                    self.latest_height = await self.chain.latest_height()
                    if self.latest_height <= next_height:
                        await self._pause(misses)
                        continue
                    # Later blocks exist. Ask again: the block may have been produced since the first ask; only a
                    # height that is still unknown now is really skipped (e.g. after a fast-forward).
                    try:
                        update = await self._read_block(next_height, catching_up=saved is not None
                                                        and next_height <= saved)
                    except UnknownBlock:
                        update = None
                if update is not None:
                    if misses == 1:  # the first ask, made when the block was due, hit
                        self._lag_s = max(0.0, self._lag_s - LAG_DOWN_S)
                    self._note_timestamp(update.timestamp_s)
                    await self.updates.put(update)
                    self.latest_height = max(self.latest_height, update.height)
                self.processed_height = next_height
                self._store.set(next_height)
                next_height += 1
                misses = 0
                backoff = self.poll_interval_s
            except ChainError as exc:
                log.warning("indexer: RPC failed, retrying", extra={"error": str(exc), "height": next_height})
                backoff = min(backoff * 2, 5.0)
                await asyncio.sleep(backoff)

    async def _retrying(self, fn: Any) -> Any:
        delay = 0.2
        while True:
            try:
                return await fn()
            except ChainError as exc:
                log.warning("indexer: RPC failed at start, retrying", extra={"error": str(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _read_block(self, height: int, *, catching_up: bool) -> BlockUpdate:
        block = await self.chain.block(height)  # UnknownBlock propagates
        header = block["header"]
        block_hash = header["hash"]
        try:
            timestamp_s: float | None = int(header["timestamp_nanosec"]) / 1e9
        except (KeyError, TypeError, ValueError):
            timestamp_s = None
        random_value = base58.b58decode(header.get("random_value") or base58.b58encode(bytes(32)))
        chunk = await self.chain.chunk(block_hash)
        requests: list[PendingRequest] = []
        responded: list[RequestId] = []
        for receipt in chunk.get("receipts", []):
            if receipt.get("receiver_id") != self.contract_id:
                continue
            for call in _function_calls(receipt):
                method = call.get("method_name")
                try:
                    args = base64.b64decode(call.get("args", ""))
                    if method == "sign":
                        domain, tweak, kind, payload = parse_sign_args(args, receipt["predecessor_id"])
                        rid = request_id_of(domain, tweak, kind, payload)
                        requests.append(PendingSignRequest(rid, domain, tweak, kind, payload,
                                                    receipt["predecessor_id"], receipt["receipt_id"], height,
                                                    block_hash, random_value))
                    elif method == "request_app_private_key":
                        domain, app_id, pk1, pk2, app_key = parse_ckd_args(args, receipt["predecessor_id"])
                        requests.append(PendingCkdRequest(ckd_request_id_of(domain, app_id, pk1, pk2), domain, app_id,
                                                          pk1, pk2, app_key, receipt["predecessor_id"],
                                                          receipt["receipt_id"], height, block_hash, random_value))
                    elif method == "respond":
                        responded.append(parse_respond_args(args))
                    elif method == "respond_ckd":
                        responded.append(parse_respond_ckd_args(args))
                except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
                    log.info("ignoring malformed call (the contract rejects it)",
                             extra={"method": method, "receipt": receipt.get("receipt_id"), "error": str(exc)[:200]})
                except Exception as exc:  # noqa: BLE001 - one user's receipt must never stop the indexer
                    log.warning("ignoring a call that could not be parsed",
                                extra={"method": method, "receipt": receipt.get("receipt_id"), "error": repr(exc)[:200]})
        self.requests_seen += len(requests)
        return BlockUpdate(height, block_hash, random_value, tuple(requests), tuple(responded), catching_up,
                           timestamp_s)
