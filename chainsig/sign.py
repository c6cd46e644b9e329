"""Ask the signer contract for a signature through a NEAR account (py-near), and read the final outcome.

request = SignRequest(path="ethereum-1", payload=hash32, domain_id=DomainId(0))
result = await request_signature(rpc_url, "v1.signer.test.near", credentials, request)
result.signature  # EcdsaSignature | Ed25519Signature
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from chainsig.credentials import NearCredentials, validate_account_id
from chainsig.errors import (
    ClientError,
    ContractFailureError,
    RequestTimedOutError,
    RpcError,
    SignatureFormatError,
    SignatureRequestError,
)
from chainsig.kdf import SECP256K1_ORDER
from chainsig.signatures import Signature, parse_signature_response
from chainsig.types import DomainId, PayloadScheme

__all__ = [
    "DEFAULT_DEPOSIT_YOCTO",
    "DEFAULT_GAS_TGAS",
    "DomainId",
    "PayloadScheme",
    "SignRequest",
    "SignatureResult",
    "call_and_wait",
    "parse_outcome_json",
    "parse_sign_outcome",
    "request_signature",
]

DEFAULT_DEPOSIT_YOCTO = 1
DEFAULT_GAS_TGAS = 300
MIN_EDDSA_PAYLOAD_BYTES = 0  # near/mpc's current bounds (0..1232 since its July 2026 change), as the signer contract
MAX_EDDSA_PAYLOAD_BYTES = 1232
_MAX_GAS_TGAS = 300  # nearcore's max_total_prepaid_gas per transaction
_TIMEOUT_MARKERS = ("has timed out",)  # "Request has timed out." and the older "Signature request has timed out."


@dataclass(frozen=True)
class SignRequest:
    """One `sign` call; validated so that a bad request fails here, before any deposit is attached."""

    path: str
    payload: bytes
    domain_id: DomainId = DomainId(0)  # noqa: RUF009 - a NewType call is the identity
    scheme: PayloadScheme | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.path, str):
            raise SignatureRequestError("path must be a string")
        if isinstance(self.domain_id, bool) or not isinstance(self.domain_id, int) or self.domain_id < 0:
            raise SignatureRequestError(f"domain_id must be a non-negative integer, got {self.domain_id!r}")
        scheme = self.effective_scheme
        if scheme is PayloadScheme.ECDSA:
            if len(self.payload) != 32:
                raise SignatureRequestError(f"an ECDSA payload must be a 32-byte hash, got {len(self.payload)} bytes")
            if not 0 < int.from_bytes(self.payload, "big") < SECP256K1_ORDER:
                raise SignatureRequestError("an ECDSA payload must be a non-zero scalar below the secp256k1 group "
                                            "order (a zero hash makes ECDSA forgeable)")
        elif not MIN_EDDSA_PAYLOAD_BYTES <= len(self.payload) <= MAX_EDDSA_PAYLOAD_BYTES:
            raise SignatureRequestError(
                f"an EdDSA payload must be {MIN_EDDSA_PAYLOAD_BYTES}..{MAX_EDDSA_PAYLOAD_BYTES} bytes, got {len(self.payload)}"
            )

    @property
    def effective_scheme(self) -> PayloadScheme:
        return self.scheme if self.scheme is not None else PayloadScheme.for_domain(self.domain_id)

    def to_args(self) -> dict[str, Any]:
        """The JSON arguments of the contract's `sign` method."""
        return {
            "request": {
                "path": self.path,
                "payload_v2": {self.effective_scheme.value: self.payload.hex()},
                "domain_id": self.domain_id,
            }
        }


@dataclass(frozen=True)
class SignatureResult:
    """The contract's response JSON, the parsed signature, and the NEAR transaction hash."""

    response: dict[str, Any]
    signature: Signature
    transaction_hash: str | None


def parse_sign_outcome(status: object) -> tuple[dict[str, Any], Signature]:
    """Turn a final transaction `status` ({"SuccessValue": b64} / {"Failure": …}) into (response JSON, signature)."""
    response = parse_outcome_json(status, "a signature object", SignatureFormatError)
    return response, parse_signature_response(response)


def parse_outcome_json(status: object, what: str, format_error: type[ClientError]) -> dict[str, Any]:
    """The JSON object a final transaction `status` returned (the yield callback's value); a failure raises
    `RequestTimedOutError` / `ContractFailureError`, a result that is not a JSON object `format_error`."""
    if not isinstance(status, dict):
        raise SignatureRequestError(f"transaction status is not an object: {status!r}")
    if "Failure" in status:
        message = _failure_message(status["Failure"])
        if any(marker in message for marker in _TIMEOUT_MARKERS):
            raise RequestTimedOutError(message)
        raise ContractFailureError(message, failure=status["Failure"])
    if "SuccessValue" not in status:
        raise SignatureRequestError(f"transaction has not finished: {status!r}")
    try:
        response = json.loads(base64.b64decode(status["SuccessValue"], validate=True))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise format_error(f"the contract returned no JSON: {exc}") from exc
    if not isinstance(response, dict):
        raise format_error(f"the contract returned {response!r}, not {what}")
    return response


def _failure_message(failure: object) -> str:
    """The deepest human-readable text in a nearcore TxExecutionError (ExecutionError string, or the error's name)."""
    node = failure
    while isinstance(node, dict) and len(node) == 1:
        key, value = next(iter(node.items()))
        if isinstance(value, str):
            return value
        if value is None or value == {}:
            return str(key)
        node = value
    if isinstance(node, dict) and isinstance(node.get("kind"), (dict, str)):
        return _failure_message(node["kind"])
    return json.dumps(failure, sort_keys=True)


async def request_signature(
    rpc_url: str,
    contract_id: str,
    credentials: NearCredentials,
    request: SignRequest,
    *,
    deposit_yocto: int = DEFAULT_DEPOSIT_YOCTO,
    gas_tgas: int = DEFAULT_GAS_TGAS,
    timeout_s: float | None = None,
) -> SignatureResult:
    """Call `contract_id.sign(request)` as `credentials.account_id` and wait for the final outcome.

    Raises `RequestTimedOutError`, `ContractFailureError`, `RpcError` (all `SignatureRequestError`, a `ClientError`).
    """
    status, tx_hash = await call_and_wait(rpc_url, contract_id, credentials, "sign", request.to_args(),
                                          deposit_yocto=deposit_yocto, gas_tgas=gas_tgas, timeout_s=timeout_s)
    response, signature = parse_sign_outcome(status)
    return SignatureResult(response, signature, tx_hash)


async def call_and_wait(
    rpc_url: str,
    contract_id: str,
    credentials: NearCredentials,
    method: str,
    args: dict[str, Any],
    *,
    deposit_yocto: int,
    gas_tgas: int,
    timeout_s: float | None,
) -> tuple[object, str | None]:
    """Call `contract_id.method(args)` as `credentials.account_id` and wait (polling past RPC timeouts, since a
    yield can take many blocks) for the final status; returns (status, transaction hash). Parse the status with
    `parse_outcome_json`. Raises `RequestTimedOutError` or `RpcError`."""
    validate_account_id(contract_id, "contract id")
    if deposit_yocto < 0:
        raise SignatureRequestError("deposit_yocto must not be negative")
    if not 1 <= gas_tgas <= _MAX_GAS_TGAS:
        raise SignatureRequestError(f"gas_tgas must be 1..{_MAX_GAS_TGAS}, got {gas_tgas}")
    from py_near.account import Account  # deferred: py-near pulls in loguru and friends

    account = Account(credentials.account_id, credentials.secret_key.reveal(), rpc_url)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (timeout_s if timeout_s is not None else 600.0)
    try:
        call = _submit(account, contract_id, method, args, deposit_yocto, gas_tgas)
        outcome = await (asyncio.wait_for(call, timeout_s) if timeout_s is not None else call)
        status = getattr(outcome, "status", None)
        tx_hash = getattr(getattr(outcome, "transaction", None), "hash", None)
    except ClientError:
        raise
    except TimeoutError as exc:
        raise RequestTimedOutError("Request has timed out. (no final outcome from the RPC in time)") from exc
    except Exception as exc:  # py-near and aiohttp raise many unrelated types; map them at this boundary
        tx_hash = getattr(exc, "trx_hash", None)
        if not (tx_hash and "TIMEOUT" in str(exc).upper()):
            raise _rpc_error(exc) from exc
        # The RPC gave up waiting while the request is still pending (a yield can take many blocks): poll.
        status = await _poll_final_status(rpc_url, str(tx_hash), credentials.account_id, deadline)
    finally:
        await _close(account)
    return status, tx_hash


async def _poll_final_status(rpc_url: str, tx_hash: str, sender: str, deadline: float) -> object:
    """Ask `tx` (wait_until FINAL) again until the transaction has a final status or `deadline` passes."""
    loop = asyncio.get_running_loop()
    body = {"jsonrpc": "2.0", "id": "chainsig", "method": "tx",
            "params": {"tx_hash": tx_hash, "sender_account_id": sender, "wait_until": "FINAL"}}
    async with aiohttp.ClientSession() as session:
        while loop.time() < deadline:
            try:
                async with session.post(rpc_url, json=body) as resp:
                    data = await resp.json(content_type=None)
            except (aiohttp.ClientError, ValueError) as exc:
                raise RpcError(f"RPC call failed while waiting for {tx_hash}: {exc}") from exc
            result = data.get("result") if isinstance(data, dict) else None
            if isinstance(result, dict) and isinstance(result.get("status"), dict) and (
                "SuccessValue" in result["status"] or "Failure" in result["status"]
            ):
                return result["status"]
            await asyncio.sleep(0.5)
    raise RequestTimedOutError(f"Request has timed out. (transaction {tx_hash} has no final outcome yet)")


async def _submit(account: Any, contract_id: str, method: str, args: dict[str, Any], deposit_yocto: int,
                  gas_tgas: int) -> Any:
    await account.startup()
    return await account.function_call(contract_id, method, args, gas=gas_tgas * 10**12, amount=deposit_yocto)


async def _close(account: Any) -> None:
    with contextlib.suppress(OSError, RuntimeError, aiohttp.ClientError):  # must not hide the real error
        await account.shutdown()


def _rpc_error(exc: Exception) -> SignatureRequestError:
    name = type(exc).__name__
    detail = getattr(exc, "error_json", None) or str(exc) or name
    if "Timeout" in name or "timed out" in str(detail).lower():
        return RequestTimedOutError(f"Request has timed out. (RPC: {name}: {detail})")
    return RpcError(f"RPC call failed: {name}: {detail}")
