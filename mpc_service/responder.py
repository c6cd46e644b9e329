"""The responder: submits `respond` transactions for finished signatures, off the indexer's path.

Transactions go through py-near's `Account` holding every configured access key of the node's account; py-near hands
the keys out round-robin and tracks a nonce per key, so concurrent responds do not collide on one nonce. A failed
submission (RPC error, nonce race) is retried with exponential backoff up to `max_attempts`; a response the contract
rejects is logged with the contract's message and not retried (the request queue retries the whole request later).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from mpc_service.keys import Ed25519KeyPair

__all__ = ["RespondOutcome", "Responder"]

log = logging.getLogger("mpc_service.responder")

BLOCK_HASH_MAX_AGE_S = 3.0


@dataclass(frozen=True)
class RespondOutcome:
    ok: bool
    detail: str
    tx_hash: str | None = None


def _failure_text(status: Any) -> str:
    return json.dumps(status)[:400]


class Responder:
    """`SubmitTransaction` for `respond`, rotating over several access keys."""

    def __init__(self, rpc_url: str, account_id: str, contract_id: str, keys: list[Ed25519KeyPair], *,
                 gas_tgas: int = 50, max_attempts: int = 5) -> None:
        if not keys:
            raise ValueError("the responder needs at least one access key")
        self.rpc_url, self.account_id, self.contract_id = rpc_url, account_id, contract_id
        self._keys = keys
        self.gas_tgas, self.max_attempts = gas_tgas, max_attempts
        self._account: Any = None
        self._lock = asyncio.Lock()
        self.submitted = 0
        self.failed = 0

    async def _get_account(self) -> Any:
        async with self._lock:
            if self._account is None:
                from py_near.account import Account  # deferred: py-near pulls in loguru and friends

                secrets = [k.secret_key_str() for k in self._keys]
                account = Account(self.account_id, secrets, self.rpc_url)
                await account.startup()
                self._account = account
            return self._account

    async def close(self) -> None:
        if self._account is not None:
            with contextlib.suppress(Exception):
                await self._account.shutdown()
            self._account = None

    async def respond(self, request: dict[str, Any], response: dict[str, Any]) -> RespondOutcome:
        """Submit `respond(request, response)` and wait for its outcome (retrying transport failures)."""
        return await self.call("respond", {"request": request, "response": response})

    async def call(self, method: str, args: dict[str, Any]) -> RespondOutcome:
        """Call `method` on the contract as this node's account; retries transport failures with backoff."""
        delay = 0.2
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                account = await self._get_account()
                if time.time() - account._latest_block_hash_ts > BLOCK_HASH_MAX_AGE_S or "Expired" in last:
                    account._latest_block_hash_ts = 0  # py-near caches it for 50 s; chains expire txs sooner
                result = await account.function_call(self.contract_id, method, args,
                                                     gas=self.gas_tgas * 10**12, amount=0)
            except Exception as exc:  # noqa: BLE001 - py-near raises many unrelated types; retry them all
                last = f"{type(exc).__name__}: {exc}"
                log.warning("transaction submission failed", extra={"method": method, "attempt": attempt, "error": last[:300]})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.submitted += 1
            status = getattr(result, "status", None)
            tx_hash = getattr(getattr(result, "transaction", None), "hash", None)
            if isinstance(status, dict) and "SuccessValue" in status:
                return RespondOutcome(True, base64.b64decode(status["SuccessValue"] or "").decode(errors="replace"),
                                      tx_hash)
            self.failed += 1
            return RespondOutcome(False, _failure_text(status), tx_hash)
        self.failed += 1
        return RespondOutcome(False, f"gave up after {self.max_attempts} attempts: {last}")
