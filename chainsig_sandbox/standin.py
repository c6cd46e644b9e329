"""A stand-in for the MPC network in contract-only tests and benchmarks: it holds the root secrets itself and builds
`respond` arguments the way the nodes do, so the signer's `sign` → `respond` → callback path runs without node
processes (a trusted dealer: for tests of the contract and of contracts that call it, never for real keys).

    keys = StandInKeys.generate()
    d = await deploy_running_signer(worker, wasm, keys)        # init_running with keys' public keys
    pending = await submit_sign(user, d.contract.id, {"path": "p", "payload_v2": {"Ecdsa": "11" * 32}})
    item = await wait_event(pending)                           # the sign_request event's data
    await d.participants[0].call(d.contract.id, "respond").args_json(
        {"request": item["request"], "response": keys.respond(item["request"])}).gas(300 * TGAS).transact()
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import base58
import coincurve
from nacl import bindings as sodium

if TYPE_CHECKING:
    from localnet.workspaces import Account, Contract, PendingTransaction, Worker

__all__ = ["Deployment", "StandInKeys", "deploy_running_signer", "events", "participant_parameters", "submit_sign",
           "wait_event"]

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ED25519_L = 2**252 + 27742317777372353535851937790883648493
EVENT_PREFIX = "EVENT_JSON:"


@dataclass(frozen=True)
class StandInKeys:
    """Root secrets of domain 0 (secp256k1) and domain 1 (Ed25519)."""

    secp_secret: int = field(repr=False)
    ed_secret: int = field(repr=False)

    @classmethod
    def generate(cls) -> StandInKeys:
        return cls(int.from_bytes(os.urandom(32), "big") % (SECP256K1_N - 1) + 1,
                   int.from_bytes(os.urandom(64), "little") % (ED25519_L - 1) + 1)

    @property
    def secp_public(self) -> bytes:
        return coincurve.PrivateKey(self.secp_secret.to_bytes(32, "big")).public_key.format(compressed=False)[1:]

    @property
    def ed_public(self) -> bytes:
        return bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(self.ed_secret.to_bytes(32, "little")))

    def domains(self) -> list[dict[str, Any]]:
        return [
            {"id": 0, "scheme": "Secp256k1", "public_key": "secp256k1:" + base58.b58encode(self.secp_public).decode()},
            {"id": 1, "scheme": "Ed25519", "public_key": "ed25519:" + base58.b58encode(self.ed_public).decode()},
        ]

    def respond(self, request: dict[str, Any], *, corrupt: bool = False) -> dict[str, Any]:
        """The `response` for a request object (as the contract's event carries it)."""
        tweak = bytes.fromhex(request["tweak"])
        ((kind, payload_hex),) = request["payload"].items()
        payload = bytes.fromhex(payload_hex)
        if kind == "Ecdsa":
            secret = (self.secp_secret + int.from_bytes(tweak, "big")) % SECP256K1_N
            rsv = coincurve.PrivateKey(secret.to_bytes(32, "big")).sign_recoverable(payload, hasher=None)
            r, s, v = rsv[:32], bytearray(rsv[32:64]), rsv[64]
            assert v < 2
            if corrupt:
                s[-1] ^= 1
            return {"scheme": "Secp256k1", "big_r": {"affine_point": (bytes([2 + v]) + r).hex()},
                    "s": {"scalar": bytes(s).hex()}, "recovery_id": v}
        scalar = (self.ed_secret + int.from_bytes(tweak, "little")) % ED25519_L
        signature = bytearray(ed25519_sign(scalar, payload))
        if corrupt:
            signature[40] ^= 1
        return {"scheme": "Ed25519", "signature": list(signature)}


def ed25519_sign(scalar: int, message: bytes) -> bytes:
    """RFC 8032 signing with a raw secret scalar (no seed): what FROST's aggregate looks like."""
    public = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(scalar.to_bytes(32, "little")))
    nonce = int.from_bytes(hashlib.sha512(os.urandom(32) + message).digest(), "little") % ED25519_L
    big_r = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(nonce.to_bytes(32, "little")))
    k = int.from_bytes(hashlib.sha512(big_r + public + message).digest(), "little") % ED25519_L
    return big_r + ((nonce + k * scalar) % ED25519_L).to_bytes(32, "little")


def events(logs: list[str] | tuple[str, ...], name: str | None = None) -> list[dict[str, Any]]:
    """The chainsig NEP-297 events among `logs` (optionally only those named `name`)."""
    found = []
    for line in logs:
        if line.startswith(EVENT_PREFIX):
            event = json.loads(line[len(EVENT_PREFIX):])
            if event.get("standard") == "chainsig" and (name is None or event["event"] == name):
                found.append(event)
    return found


def participant_parameters(accounts: list[Account], threshold: int | None = None) -> dict[str, Any]:
    """`init` parameters naming `accounts` as participants (placeholder TLS keys and URLs: no node connects)."""
    entries = [[a.id, i, {"tls_public_key": "ed25519:" + "1" * 32, "url": f"http://127.0.0.1:{3000 + i}"}]
               for i, a in enumerate(accounts)]
    n = len(accounts)
    return {"threshold": threshold if threshold is not None else max(2, -(-6 * n // 10)),
            "participants": {"next_id": n, "participants": entries}}


@dataclass
class Deployment:
    """A deployed signer, its participant accounts, and the stand-in keys it runs with (None: not initialised)."""

    contract: Contract
    participants: list[Account]
    keys: StandInKeys | None


async def deploy_running_signer(worker: Worker, wasm: bytes, keys: StandInKeys | None, n: int = 3) -> Deployment:
    """Deploy the signer to a dev account with `n` participant accounts; with `keys`, `init_running` with their
    public keys (Running at once, no DKG)."""
    import asyncio

    contract = await worker.dev_deploy(wasm)
    participants = list(await asyncio.gather(*(worker.dev_create_account() for _ in range(n))))
    if keys is not None:
        args = {"parameters": participant_parameters(participants), "domains": keys.domains()}
        (await contract.call("init_running").args_json(args).gas(300 * 10**12).transact()).into_result()
    return Deployment(contract, participants, keys)


async def submit_sign(account: Account, contract_id: str, request: dict[str, Any], *, deposit: int = 1,
                      gas: int = 50 * 10**12) -> PendingTransaction:
    """Send `sign(request)` without waiting (the call yields until a `respond`)."""
    return await account.call(contract_id, "sign").args_json({"request": request}).deposit(deposit).gas(gas) \
        .transact_async()


async def wait_event(pending: PendingTransaction, name: str = "sign_request", timeout_s: float = 30.0) -> dict[str, Any]:
    """Poll the transaction until its outcomes carry the event `name`; return the event's single data item."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        view = await pending.status()
        logs = [line for o in view.get("receipts_outcome", ()) for line in o["outcome"].get("logs", ())]
        found = events(logs, name)
        if found:
            (item,) = found[0]["data"]
            return dict(item)
        if isinstance(view.get("status"), dict):
            raise RuntimeError(f"transaction finished without {name}: {json.dumps(view.get('receipts_outcome'))}")  # noqa: TRY004
        if loop.time() > deadline:
            raise TimeoutError(f"no {name} event within {timeout_s}s")
        await asyncio.sleep(0.05)
