"""`python -m scripts.deploy --network NAME`: deploy the signer contract to a network of near.toml, idempotently.

    python -m scripts.deploy --network testnet --account alice.testnet --participants participants.json
    python -m scripts.deploy --network localnet --rpc http://127.0.0.1:3030 --key-file .localnet/validator_key.json \
        --contract-id signer.test.near --participants participants.json [--with-caller] [--dry-run] [--upgrade]

Credentials: `--key-file PATH` (a NEAR key file {"account_id", "public_key", "secret_key"|"private_key"}), or
NEAR CLI's `~/.near-credentials/<network>/<account>.json` for `--account`. The contract id defaults to near.toml's
`signer_contract_id`; a missing sub-account of the paying account is created. The Wasm is built from
contract/signer (cached) unless `--wasm` names one. A second run reports what is deployed and exits 0;
`--upgrade` redeploys the code (state kept); `--dry-run` checks everything and sends nothing. Any refusal exits 1
with one line `deploy: error: <reason>`. Every network goes through the same code (chainsig_sandbox.deploy); only the
RPC URL and the key differ.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

NEAR = 10**24


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", required=True, help="a network of near.toml: localnet, sandbox, testnet, mainnet")
    parser.add_argument("--near-toml", type=Path, help="the networks file (default ./near.toml, then the project's)")
    parser.add_argument("--rpc", help="JSON-RPC URL (overrides near.toml)")
    parser.add_argument("--key-file", type=Path, help="key file of the account that creates and pays")
    parser.add_argument("--account", help="the paying account; its key is read from ~/.near-credentials/<network>/")
    parser.add_argument("--contract-id", help="the signer's account (default: near.toml's signer_contract_id)")
    parser.add_argument("--participants", type=Path,
                        help='JSON: init\'s parameters {"threshold", "participants": {"next_id", "participants"}}')
    parser.add_argument("--wasm", type=Path, help="a built signer.wasm (default: build contract/signer)")
    parser.add_argument("--initial-balance", type=float, metavar="NEAR",
                        help="balance of a newly created contract account (default: code storage + 10%% + 2 NEAR)")
    parser.add_argument("--with-caller", action="store_true", help="also deploy the example caller contract")
    parser.add_argument("--caller-id", help="the caller's account (default: near.toml's caller_contract_id when it "
                                            "is a sub-account of the paying account, else caller.<paying account>)")
    parser.add_argument("--upgrade", action="store_true", help="redeploy the code even if a contract is deployed")
    parser.add_argument("--dry-run", action="store_true", help="check and report, send no transaction")
    parser.add_argument("--json", action="store_true", help="also print the report as one JSON line")
    return parser


def _build(name: str, path: Path | None) -> bytes:
    from chainsig_sandbox.deploy import DeployError

    if path is not None:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise DeployError(f"cannot read {path}: {exc.strerror}") from None
    from contract.build import PROJECT_CONTRACTS, build_contract
    from contract.errors import ContractBuildError

    try:
        return build_contract(PROJECT_CONTRACTS[name], name).read_bytes()
    except ContractBuildError as exc:
        raise DeployError(f"building {name}.wasm failed: {' '.join(str(exc).split())[:300]}") from None


def run(args: argparse.Namespace) -> int:
    from chainsig.errors import ClientError
    from chainsig.networks import load_network
    from chainsig_sandbox.deploy import CallerPlan, DeployError, DeployPlan, deploy, load_key_file, load_participants

    try:
        try:
            network = load_network(args.network, args.near_toml)
        except ClientError as exc:
            raise DeployError(str(exc)) from None
        rpc_url = args.rpc or network.rpc_url
        credentials_dir = Path.home() / ".near-credentials" / args.network
        if args.key_file is not None:
            payer = load_key_file(args.key_file, args.account)
        elif args.account:
            payer = load_key_file(credentials_dir / f"{args.account}.json", args.account)
        else:
            raise DeployError("no credentials: pass --key-file PATH or --account ID "
                              f"(reads {credentials_dir}/<ID>.json)")
        contract_id = args.contract_id or network.signer_contract_id
        if not contract_id:
            raise DeployError(f"no --contract-id and near.toml names no signer_contract_id for {args.network}")
        parameters = load_participants(args.participants) if args.participants is not None else None
        if args.initial_balance is not None and args.initial_balance <= 0:
            raise DeployError("--initial-balance must be positive")
        wasm = _build("signer", args.wasm)
        caller = None
        if args.with_caller:
            caller_id = args.caller_id or f"caller.{payer.account_id}"
            configured = network.caller_contract_id
            if args.caller_id is None and configured and configured.endswith("." + payer.account_id):
                caller_id = configured
            caller = CallerPlan(caller_id, _build("caller", None))
        plan = DeployPlan(network=network, rpc_url=rpc_url, payer=payer, contract_id=contract_id, wasm=wasm,
                          parameters=parameters,
                          initial_balance_yocto=int(args.initial_balance * NEAR) if args.initial_balance else None,
                          upgrade=args.upgrade, dry_run=args.dry_run, caller=caller, credentials_dir=credentials_dir)
        report = asyncio.run(deploy(plan))
    except DeployError as exc:
        print(f"deploy: error: {exc}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    if args.json:
        print(json.dumps(report.to_json()))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
