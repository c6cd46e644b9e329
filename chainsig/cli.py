"""`chainsig` command line: a small argparse dispatcher, one function per subcommand.

chainsig derive --root <key> --account <id> --path <path> --chain ethereum|bitcoin|…|sui
chainsig sign --rpc <url> --contract <id> --account <id> --key <file|ENV> --path <path> --payload <hex>
chainsig send --chain <name> --chain-rpc <url> --rpc <url> --contract <id> --account <id> --key <file|ENV> --path <path>
              --to <address> --amount <decimal> [fee options] [--dry-run]
chainsig sign-message --chain ethereum … (--message <text> | --typed-data <file.json>)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from chainsig.chains import ChainAdapter, TransferOptions, TransferRequest, chain_names, get_chain
from chainsig.credentials import load_credentials, validate_account_id
from chainsig.errors import ClientError, TransactionError
from chainsig.kdf import derive_public_key
from chainsig.sign import (
    DEFAULT_DEPOSIT_YOCTO,
    DEFAULT_GAS_TGAS,
    DomainId,
    PayloadScheme,
    SignRequest,
    request_signature,
)

__all__ = ["main"]


def _chain(args: argparse.Namespace) -> ChainAdapter:
    chain = get_chain(args.chain)
    if getattr(args, "prefix", None):
        if not hasattr(chain, "prefix"):
            raise ClientError(f"--prefix applies to cosmos chains, not {args.chain}")
        chain = replace(chain, prefix=args.prefix)  # type: ignore[type-var]
    return chain


def _derive(args: argparse.Namespace) -> int:
    validate_account_id(args.account)
    key = derive_public_key(args.root, args.account, args.path)
    address = _chain(args).address(key)
    if args.json:
        print(json.dumps({"chain": args.chain, "address": address, "public_key": str(key)}))
    else:
        print(f"address: {address}")
        print(f"public_key: {key}")
    return 0


def _sign(args: argparse.Namespace) -> int:
    payload_hex = args.payload[2:] if args.payload.lower().startswith("0x") else args.payload
    try:
        payload = bytes.fromhex(payload_hex)
    except ValueError:
        raise ClientError(f"--payload is not hex: {args.payload!r}") from None
    scheme = PayloadScheme(args.scheme) if args.scheme else None
    request = SignRequest(path=args.path, payload=payload, domain_id=DomainId(args.domain), scheme=scheme)
    credentials = load_credentials(args.key, args.account)
    result = asyncio.run(
        request_signature(
            args.rpc,
            args.contract,
            credentials,
            request,
            deposit_yocto=args.deposit,
            gas_tgas=args.gas,
            timeout_s=args.timeout,
        )
    )
    print(json.dumps(result.response))
    return 0


def _decimal(text: str | None, name: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ClientError(f"{name} is not a decimal number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise ClientError(f"{name} must be a non-negative number, got {text!r}")
    return value


def _hex(text: str, name: str) -> bytes:
    body = text[2:] if text.lower().startswith("0x") else text
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise ClientError(f"{name} is not hex: {text!r}") from None


def _progress(line: str) -> None:
    print(f"… {line}", file=sys.stderr, flush=True)


def _signer(args: argparse.Namespace) -> Any:
    from chainsig.relay import NearSigner

    return NearSigner(args.rpc, args.contract, load_credentials(args.key, args.account), args.timeout)


async def _sender_key(args: argparse.Namespace, chain: ChainAdapter) -> Any:
    from chainsig.relay import fetch_root_key

    root = args.root or await fetch_root_key(args.rpc, args.contract, chain.curve.domain_id)
    return derive_public_key(root, args.account, args.path)


def _send(args: argparse.Namespace) -> int:
    from chainsig.relay import send_transfer

    chain = _chain(args)
    amount = _decimal(args.amount, "--amount")
    assert amount is not None
    options = TransferOptions(
        fee_rate=_decimal(args.fee_rate, "--fee-rate"), priority_fee=_decimal(args.priority_fee, "--priority-fee"),
        gas_limit=args.gas_limit, data=_hex(args.data, "--data") if args.data else b"", legacy=args.legacy,
        memo=args.memo, denom=args.denom,
    )
    signer = _signer(args)

    async def go() -> Any:
        key = await _sender_key(args, chain)
        return await send_transfer(chain, args.chain_rpc, signer, TransferRequest(key, args.to, amount, options),
                                   args.path, dry_run=args.dry_run, progress=_progress)

    result = asyncio.run(go())
    if args.json:
        print(json.dumps({"chain": chain.name, "txid": result.txid or result.signed.txid,
                          "broadcast": not args.dry_run, "signed": result.signed.wire}))
    elif args.dry_run:
        print(f"txid: {result.signed.txid}")
        print(f"signed: {result.signed.wire}")
    else:
        print(result.txid)
    return 0


def _sign_message(args: argparse.Namespace) -> int:
    from chainsig.chains.evm import eip191_hash, eip712_hash, message_signature
    from chainsig.signatures import EcdsaSignature

    if args.chain != "ethereum":
        raise ClientError("sign-message supports --chain ethereum (EIP-191 / EIP-712)")
    if (args.message is None) == (args.typed_data is None):
        raise ClientError("give exactly one of --message or --typed-data")
    if args.message is not None:
        digest = eip191_hash(args.message.encode())
    else:
        try:
            typed = json.loads(Path(args.typed_data).read_text())
        except (OSError, ValueError) as exc:
            raise TransactionError(f"cannot read EIP-712 typed data from {args.typed_data}: {exc}") from exc
        digest = eip712_hash(typed)
    chain = get_chain("ethereum")
    signer = _signer(args)

    async def go() -> tuple[Any, Any]:
        key = await _sender_key(args, chain)
        _progress(f"requesting a signature for {chain.address(key)}")
        result = await request_signature(signer.rpc_url, signer.contract_id, signer.credentials,
                                         SignRequest(args.path, digest, DomainId(0)), timeout_s=signer.timeout_s)
        return key, result.signature

    key, signature = asyncio.run(go())
    assert isinstance(signature, EcdsaSignature)
    print("0x" + message_signature(signature, digest, key).hex())
    return 0


def _near_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rpc", required=True, help="NEAR JSON-RPC URL")
    parser.add_argument("--contract", required=True, help="signer contract account id")
    parser.add_argument("--account", required=True, help="the NEAR account that calls `sign` (the predecessor)")
    parser.add_argument("--key", required=True, help="credentials JSON file, or the name of an env var holding it")
    parser.add_argument("--path", required=True, help="derivation path")
    parser.add_argument("--root", help="root public key (default: the contract's `public_key` for the chain's domain)")
    parser.add_argument("--timeout", type=float, default=None, help="give up on a signature after this many seconds")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chainsig", description="Chain Signatures client")
    commands = parser.add_subparsers(dest="command", required=True)

    derive = commands.add_parser("derive", help="derive a foreign-chain address from the MPC root key")
    derive.add_argument("--root", required=True, help='root public key, e.g. "secp256k1:…" or "ed25519:…"')
    derive.add_argument("--account", required=True, help="the NEAR account that will call `sign` (the predecessor)")
    derive.add_argument("--path", required=True, help="derivation path, e.g. ethereum-1")
    derive.add_argument("--chain", required=True, choices=chain_names())
    derive.add_argument("--prefix", help="bech32 prefix for cosmos chains (default cosmos)")
    derive.add_argument("--json", action="store_true", help="print one JSON object")
    derive.set_defaults(handler=_derive)

    sign = commands.add_parser("sign", help="request a signature from the signer contract")
    sign.add_argument("--rpc", required=True, help="NEAR JSON-RPC URL")
    sign.add_argument("--contract", required=True, help="signer contract account id")
    sign.add_argument("--account", required=True, help="the NEAR account that signs the transaction")
    sign.add_argument("--key", required=True, help="credentials JSON file, or the name of an env var holding it")
    sign.add_argument("--path", required=True, help="derivation path")
    sign.add_argument("--payload", required=True, help="hex payload (32-byte hash for ECDSA)")
    sign.add_argument("--domain", type=int, default=0, help="domain id (0 = secp256k1, 1 = ed25519)")
    sign.add_argument(
        "--scheme", choices=[s.value for s in PayloadScheme], help="payload_v2 variant (default by domain)"
    )
    sign.add_argument("--deposit", type=int, default=DEFAULT_DEPOSIT_YOCTO, help="attached deposit in yoctoNEAR")
    sign.add_argument("--gas", type=int, default=DEFAULT_GAS_TGAS, help="attached gas in Tgas")
    sign.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    sign.set_defaults(handler=_sign)

    send = commands.add_parser("send", help="build a transfer, sign it through the MPC network and relay it")
    send.add_argument("--chain", required=True, choices=chain_names())
    send.add_argument("--chain-rpc", required=True,
                      help="the chain's RPC: Ethereum JSON-RPC, Esplora REST base (or core+http://user:pass@host:port "
                           "for Bitcoin Core), Solana JSON-RPC, rippled JSON-RPC, Cosmos REST (LCD)")
    _near_args(send)
    send.add_argument("--to", required=True, help="recipient address on the chain")
    send.add_argument("--amount", required=True, help="amount in the chain's usual unit (ETH, BTC, DOGE, XRP, SOL, ATOM)")
    send.add_argument("--fee-rate", help="override the fee estimate: gwei/gas max fee (EVM; gas price with --legacy), "
                                         "sat/vB (Bitcoin), koinu/B (Dogecoin), drops (XRP), denom/gas (Cosmos)")
    send.add_argument("--priority-fee", help="EVM max priority fee per gas, gwei")
    send.add_argument("--gas-limit", type=int, help="EVM / Cosmos gas limit (default: estimated / 200000)")
    send.add_argument("--data", help="EVM calldata hex (a contract call)")
    send.add_argument("--legacy", action="store_true", help="EVM legacy (EIP-155) transaction instead of EIP-1559")
    send.add_argument("--memo", default="", help="Cosmos memo")
    send.add_argument("--denom", help="Cosmos coin denom to send (default the chain's fee denom)")
    send.add_argument("--prefix", help="Cosmos bech32 prefix (default cosmos)")
    send.add_argument("--dry-run", action="store_true", help="print the signed transaction instead of broadcasting")
    send.add_argument("--json", action="store_true", help="print one JSON object")
    send.set_defaults(handler=_send)

    message = commands.add_parser("sign-message", help="EIP-191 / EIP-712 message signature (65-byte r||s||v hex)")
    message.add_argument("--chain", default="ethereum", choices=["ethereum"])
    _near_args(message)
    message.add_argument("--message", help="text to sign as personal_sign (EIP-191 version 0x45)")
    message.add_argument("--typed-data", help="JSON file with an EIP-712 message (types, primaryType, domain, message)")
    message.set_defaults(handler=_sign_message)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
