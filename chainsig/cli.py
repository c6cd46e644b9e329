"""`chainsig` command line: a small argparse dispatcher, one function per subcommand.

chainsig derive --root <key> --account <id> --path <path> --chain ethereum|bitcoin|…|sui
chainsig sign --rpc <url> --contract <id> --account <id> --key <file|ENV> --path <path> --payload <hex>
chainsig send --chain <name> --chain-rpc <url> --rpc <url> --contract <id> --account <id> --key <file|ENV> --path <path>
              --to <address> --amount <decimal> [fee options] [--dry-run]
chainsig sign-message --chain ethereum … (--message <text> | --typed-data <file.json>)
chainsig sign|send|sign-message --network testnet …   (RPC and signer contract from near.toml; --rpc / --contract
                                                       override)
chainsig ckd --rpc <url> --contract <id> --account <id> --key <file|ENV> --path <path> [--domain-id 2] --out <key file>
             [--via <gate contract> [--method <name>]] [--print-secret] [--json]
chainsig encrypt|decrypt --key <key file> --in <file|-> --out <file|-> [--aad <text>]
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
from chainsig.ckd import CKD_DEPOSIT_YOCTO, DEFAULT_CKD_DOMAIN_ID, REQUEST_METHOD
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
    rpc, contract = _endpoint(args)
    result = asyncio.run(
        request_signature(
            rpc,
            contract,
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

    rpc, contract = _endpoint(args)
    return NearSigner(rpc, contract, load_credentials(args.key, args.account), args.timeout)


async def _sender_key(args: argparse.Namespace, chain: ChainAdapter) -> Any:
    from chainsig.relay import fetch_root_key

    rpc, contract = _endpoint(args)
    root = args.root or await fetch_root_key(rpc, contract, chain.curve.domain_id)
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


def _ckd(args: argparse.Namespace) -> int:
    from chainsig.ckd import fetch_master_public_key, parse_g2, request_app_secret, write_key_file

    if args.out is None and not args.print_secret:
        raise ClientError("pass --out FILE to keep the derived key (or --print-secret to show it)")
    out = Path(args.out) if args.out is not None else None
    if out is not None and out.exists() and not args.force:
        raise ClientError(f"{out} exists; remove it or pass --force to replace it")
    credentials = load_credentials(args.key, args.account)
    rpc, contract = _endpoint(args)
    domain = DomainId(args.domain_id)

    async def go() -> Any:
        mvk = (parse_g2(args.master_key, "--master-key") if args.master_key
               else await fetch_master_public_key(rpc, contract, domain))
        app = args.via or credentials.account_id
        _progress(f"requesting the app secret of ({app}, {args.path!r}) through {args.via or contract} "
                  f"(domain {domain})")
        return await request_app_secret(rpc, contract, credentials, args.path, domain_id=domain,
                                        master_public_key=mvk, via_contract=args.via, method=args.method,
                                        deposit_yocto=args.deposit, gas_tgas=args.gas, timeout_s=args.timeout)

    result = asyncio.run(go())
    key = result.secret.symmetric_key()
    if out is not None:
        write_key_file(out, key, overwrite=args.force)
    report = {"app_account_id": result.secret.account_id, "path": result.secret.path,
              "app_id": result.secret.app_id.hex(), "domain_id": int(domain),
              "key_file": str(out) if out is not None else None, "transaction": result.transaction_hash}
    if args.print_secret:
        report["app_secret"] = result.secret.secret.reveal().hex()
        report["key"] = key.key.reveal().hex()
    if args.json:
        print(json.dumps(report))
    else:
        for name, value in report.items():
            if value is not None:
                print(f"{name}: {value}")
    return 0


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise ClientError(f"cannot read {name}: {exc.strerror}") from exc


def _write_output(name: str, data: bytes) -> None:
    if name == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        Path(name).write_bytes(data)
    except OSError as exc:
        raise ClientError(f"cannot write {name}: {exc.strerror}") from exc


def _encrypt(args: argparse.Namespace) -> int:
    from chainsig.ckd import encrypt, read_key_file

    key = read_key_file(Path(args.key))
    _write_output(args.out, encrypt(key, _read_input(args.input), args.aad.encode()))
    return 0


def _decrypt(args: argparse.Namespace) -> int:
    from chainsig.ckd import decrypt, read_key_file

    key = read_key_file(Path(args.key))
    _write_output(args.out, decrypt(key, _read_input(args.input), args.aad.encode()))
    return 0


def _near_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--network", help="a network of near.toml (localnet, testnet, mainnet): its RPC and signer")
    parser.add_argument("--rpc", help="NEAR JSON-RPC URL")
    parser.add_argument("--contract", help="signer contract account id")
    parser.add_argument("--account", required=True, help="the NEAR account that calls `sign` (the predecessor)")
    parser.add_argument("--key", required=True, help="credentials JSON file, or the name of an env var holding it")
    parser.add_argument("--path", required=True, help="derivation path")
    parser.add_argument("--root", help="root public key (default: the contract's `public_key` for the chain's domain)")
    parser.add_argument("--timeout", type=float, default=None, help="give up on a signature after this many seconds")
def _endpoint(args: argparse.Namespace) -> tuple[str, str]:
    """--rpc / --contract, filled in from near.toml's `--network` table when omitted."""
    rpc, contract = args.rpc, args.contract
    if args.network is not None:
        from chainsig.networks import load_network

        settings = load_network(args.network)
        rpc = rpc or settings.rpc_url
        contract = contract or settings.signer_contract_id
    if not rpc or not contract:
        raise ClientError("pass --network NAME (near.toml) or both --rpc and --contract")
    return rpc, contract


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
    sign.add_argument("--network", help="a network of near.toml (localnet, testnet, mainnet): its RPC and signer")
    sign.add_argument("--rpc", help="NEAR JSON-RPC URL")
    sign.add_argument("--contract", help="signer contract account id")
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

    ckd = commands.add_parser("ckd", help="derive this account's confidential app key for a path (request_app_private_key)")
    ckd.add_argument("--network", help="a network of near.toml (localnet, testnet, mainnet): its RPC and signer")
    ckd.add_argument("--rpc", help="NEAR JSON-RPC URL")
    ckd.add_argument("--contract", help="signer contract account id")
    ckd.add_argument("--account", required=True, help="the NEAR account that calls request_app_private_key (with "
                                                      "--path it names the app)")
    ckd.add_argument("--key", required=True, help="credentials JSON file, or the name of an env var holding it")
    ckd.add_argument("--path", required=True, help="derivation path: one app secret per (account, path)")
    ckd.add_argument("--domain-id", type=int, default=DEFAULT_CKD_DOMAIN_ID,
                     help=f"the BLS12-381 domain (default {DEFAULT_CKD_DOMAIN_ID})")
    ckd.add_argument("--via", help="call this contract instead (a gate that calls the signer itself, e.g. only for "
                                   "token holders); the app is then (VIA, path)")
    ckd.add_argument("--method", default=REQUEST_METHOD, help=f"the method to call (default {REQUEST_METHOD})")
    ckd.add_argument("--master-key", help="the domain's bls12381g2: public key (default: the contract's `public_key`)")
    ckd.add_argument("--out", help="write the derived AES-256-GCM key here (JSON, mode 0600)")
    ckd.add_argument("--force", action="store_true", help="replace an existing --out file")
    ckd.add_argument("--print-secret", action="store_true", help="also print the app secret and the key (hex)")
    ckd.add_argument("--deposit", type=int, default=CKD_DEPOSIT_YOCTO,
                     help=f"attached deposit in yoctoNEAR (the signer wants {CKD_DEPOSIT_YOCTO})")
    ckd.add_argument("--gas", type=int, default=DEFAULT_GAS_TGAS, help="attached gas in Tgas")
    ckd.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    ckd.add_argument("--json", action="store_true", help="print one JSON object")
    ckd.set_defaults(handler=_ckd)

    for name, handler, verb in (("encrypt", _encrypt, "encrypt"), ("decrypt", _decrypt, "decrypt")):
        sub = commands.add_parser(name, help=f"{verb} a file with a key from `chainsig ckd` (AES-256-GCM)")
        sub.add_argument("--key", required=True, help="key file written by `chainsig ckd --out`")
        sub.add_argument("--in", dest="input", required=True, help="input file (- for stdin)")
        sub.add_argument("--out", required=True, help="output file (- for stdout)")
        sub.add_argument("--aad", default="", help="associated data: authenticated, not encrypted; the same text "
                                                   "must be given to decrypt")
        sub.set_defaults(handler=handler)
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
