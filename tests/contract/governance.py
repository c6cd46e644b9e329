"""Helpers for the governance tests: calls by participants, their failures and NEP-297 events."""

from __future__ import annotations

import json
from typing import Any

from localnet.workspaces import TGAS, Account, Contract, ExecutionFinalResult
from tests.contract.network import events

GOV_GAS = 300 * TGAS
# Attempts outlive a test's normal flow (20 ms blocks); timeouts are reached with fast_forward.
TIMEOUT_BLOCKS = 100_000


async def call(account: Account, contract_id: str, method: str, args: dict[str, Any] | None = None, *,
               deposit: int = 0) -> ExecutionFinalResult:
    tx = account.call(contract_id, method).args_json(args or {}).gas(GOV_GAS)
    if deposit:
        tx = tx.deposit(deposit)
    return await tx.transact()


async def ok(account: Account, contract_id: str, method: str, args: dict[str, Any] | None = None) -> Any:
    """Call and require success; the decoded return value (None when the method returns nothing)."""
    result = await call(account, contract_id, method, args)
    result.into_result()
    return result.json() if result.status.get("SuccessValue") else None


async def refused(account: Account, contract_id: str, method: str, args: dict[str, Any] | None = None, *,
                  deposit: int = 0) -> str:
    """Call and require failure; the failure as text (contains the panic message)."""
    result = await call(account, contract_id, method, args, deposit=deposit)
    assert result.is_failure, f"{method} by {account.id} unexpectedly succeeded: {result.status}"
    return json.dumps(result.failure)


def emitted(result: ExecutionFinalResult, name: str) -> list[dict[str, Any]]:
    """The data items of the chainsig events `name` that `result` logged."""
    return [item for event in events(result.logs, name) for item in event["data"]]


async def state(contract: Contract) -> dict[str, Any]:
    view: dict[str, Any] = (await contract.view("state")).json()
    return view


def participant_entry(account: Account, pid: int, port: int | None = None) -> list[Any]:
    return [account.id, pid, {"tls_public_key": "ed25519:" + "1" * 32, "url": f"http://127.0.0.1:{port or 3000 + pid}"}]
