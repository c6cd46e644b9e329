"""The four steps of a cross-chain transfer in one call: build from the chain's RPC → one `sign` request per payload
through the MPC network → attach → broadcast (or stop before it: a dry run).

result = await send_transfer(get_chain("bitcoin"), btc_rpc, near, TransferRequest(key, to, Decimal("0.001")),
                             path="bitcoin-1")
result.txid
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from chainsig.chains.base import ChainAdapter, SignedTransaction, TransferRequest, UnsignedTransaction, sign_requests
from chainsig.credentials import NearCredentials
from chainsig.sign import request_signature

__all__ = ["NearSigner", "SendResult", "fetch_root_key", "send_transfer", "sign_transaction"]


@dataclass(frozen=True)
class NearSigner:
    """Where and as whom `sign` is called: the NEAR RPC, the signer contract, the caller's credentials."""

    rpc_url: str
    contract_id: str
    credentials: NearCredentials
    timeout_s: float | None = None


@dataclass(frozen=True)
class SendResult:
    signed: SignedTransaction
    txid: str | None  # as the chain's RPC reported it; None for a dry run


def _quiet(_: str) -> None:
    pass


async def sign_transaction(unsigned: UnsignedTransaction, signer: NearSigner, path: str,
                           progress: Callable[[str], None] = _quiet) -> SignedTransaction:
    """Request every payload's signature (concurrently: one NEAR transaction each) and attach them in order."""
    requests = sign_requests(unsigned, path)
    progress(f"requesting {len(requests)} signature(s) from {signer.contract_id} (path {path!r}, "
             f"domain {unsigned.curve.domain_id})")
    results = await asyncio.gather(*(
        request_signature(signer.rpc_url, signer.contract_id, signer.credentials, request, timeout_s=signer.timeout_s)
        for request in requests))
    progress("signatures received; attaching")
    return unsigned.attach([result.signature for result in results])


async def send_transfer(chain: ChainAdapter, chain_rpc: str, signer: NearSigner, request: TransferRequest, path: str,
                        *, dry_run: bool = False, progress: Callable[[str], None] = _quiet) -> SendResult:
    """Build, sign through the MPC network, attach and (unless `dry_run`) broadcast a transfer on `chain`."""
    progress(f"building the {chain.name} transfer from {chain.address(request.sender)} via {chain_rpc}")
    unsigned = await chain.build_transfer(chain_rpc, request)
    signed = await sign_transaction(unsigned, signer, path, progress)
    if dry_run:
        return SendResult(signed, None)
    progress(f"broadcasting {signed.txid}")
    txid = await chain.broadcast(chain_rpc, signed)
    return SendResult(signed, txid)


async def fetch_root_key(near_rpc: str, contract_id: str, domain_id: int) -> str:
    """The signer contract's root public key of a domain (view `public_key {"domain_id": …}`), as a NEAR key string."""
    import base64
    import json

    from chainsig.chains.http import json_rpc
    from chainsig.errors import ChainRpcError

    args = base64.b64encode(json.dumps({"domain_id": domain_id}).encode()).decode()
    result = await json_rpc(near_rpc, "query", {"request_type": "call_function", "finality": "final",
                                                "account_id": contract_id, "method_name": "public_key",
                                                "args_base64": args})
    try:
        key = json.loads(bytes(result["result"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ChainRpcError(f"public_key view of {contract_id} returned {result!r:.300}") from exc
    if not isinstance(key, str):
        raise ChainRpcError(f"public_key view of {contract_id} returned {key!r}, not a key string")
    return key
