"""`chainsig` command line: a small argparse dispatcher, one function per subcommand.

chainsig derive --root <key> --account <id> --path <path> --chain ethereum|bitcoin|…|solana
chainsig sign --rpc <url> --contract <id> --account <id> --key <file|ENV> --path <path> --payload <hex>
chainsig sign --network testnet …   (RPC and signer contract from near.toml; --rpc / --contract override)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence

from chainsig.addresses import Chain, address_for
from chainsig.credentials import load_credentials, validate_account_id
from chainsig.errors import ClientError
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


def _derive(args: argparse.Namespace) -> int:
    validate_account_id(args.account)
    key = derive_public_key(args.root, args.account, args.path)
    address = address_for(args.chain, key)
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
    derive.add_argument("--chain", required=True, choices=[c.value for c in Chain])
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
