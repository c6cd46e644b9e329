"""`python3 -m scripts.demo`: the whole flow on one machine, with real processes.

1. start the localnet (`python -m localnet`), 2. build and deploy the signer contract and `init` it with 5 participants
(threshold 3) through the deploy script's code path, 3. start 5 MPC node processes; every participant votes to add the
secp256k1 and ed25519 domains and the nodes run the DKG and `vote_pk` (1-3 are `chainsig_sandbox.SignerNetwork`, the
fixture dApp tests use), 4. as a user, derive the Ethereum address of `alice.test.near` + `ethereum-1`,
5. request a signature over an EIP-1559 transaction hash with `chainsig sign` (py-near underneath), 6. show that the
signed transaction recovers to the derived address, 7. relay it to a real EVM (py-evm through eth-tester, in process) where
the derived address was funded, and check that it executes. Everything is stopped at the end; `--keep` leaves the directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_ID = "signer.test.near"
USER = "alice.test.near"
PATH = "ethereum-1"
RECIPIENT = "0x000000000000000000000000000000000000dEaD"


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


async def demo(work: Path) -> None:
    from eth_tester import EthereumTester, PyEVMBackend

    from chainsig.addresses import ethereum_address
    from chainsig.evm import Eip1559Transaction
    from chainsig.kdf import derive_public_key
    from chainsig.keys import Secp256k1PublicKey
    from chainsig.signatures import EcdsaSignature
    from chainsig_sandbox import NetworkOptions, SignerNetwork
    from localnet.chain.keys import SecretKey
    from localnet.workspaces import NEAR

    step("1-3. localnet, signer contract (deployed and `init`ed through scripts/deploy's code), 5 MPC nodes")
    if not (ROOT / "contract" / "signer" / "contract.py").exists():
        raise SystemExit("contract/signer/contract.py does not exist yet: the signer contract is not written")
    print("starting the localnet, building signer.wasm (cached), creating 5 node accounts, deploying the signer;")
    print("then every participant votes to add domains 0 (Secp256k1) and 1 (Ed25519) and the nodes run the DKG")
    started = time.monotonic()
    net = await SignerNetwork.start(NetworkOptions(nodes=5, threshold=3, contract_id=CONTRACT_ID), work)
    rpc = net.rpc
    try:
        for line in net.deploy_report.lines():
            print(line)
        print(f"localnet RPC at {rpc}; nodes: {', '.join(n.account_id for n in net.spec.nodes)}")
        worker = net.connect()
        root_pk = (await worker.view(CONTRACT_ID, "public_key", {"domain_id": 0})).json()
        state = (await worker.view(CONTRACT_ID, "state", {})).json()
        print(f"ready (DKG done) {time.monotonic() - started:.1f} s after start; contract state "
              f"{state['protocol_state']}")
        print(f"root secp256k1 key: {root_pk}")

        step(f"4. deriving the Ethereum address of {USER} + {PATH}")
        alice_key = SecretKey.generate()
        await worker.root_account().create_subaccount("alice").initial_balance(10 * NEAR).keys(alice_key).transact()
        key_file = work / "alice.json"
        key_file.write_text(json.dumps({"account_id": USER, "public_key": str(alice_key.public_key),
                                        "secret_key": alice_key.to_near_string()}))
        derived = derive_public_key(root_pk, USER, PATH)
        assert isinstance(derived, Secp256k1PublicKey)
        address = ethereum_address(derived)
        contract_view = (await worker.view(CONTRACT_ID, "derived_public_key",
                                           {"path": PATH, "predecessor": USER, "domain_id": 0})).json()
        await worker.close()
        print(f"address {address} (contract's derived_public_key agrees: {contract_view == str(derived)})")

        step("5. requesting a signature over an EIP-1559 transaction hash with `chainsig sign`")
        evm = EthereumTester(PyEVMBackend())  # the foreign chain: a real EVM, in process
        evm.send_transaction({"from": evm.get_accounts()[0], "to": address, "value": 10**18, "gas": 21_000,
                              "gas_price": 10**10})
        base_fee = evm.get_block_by_number("latest")["base_fee_per_gas"]
        tx = Eip1559Transaction(chain_id=evm.backend.chain.chain_id, nonce=evm.get_nonce(address),
                                max_priority_fee_per_gas_wei=10**9, max_fee_per_gas_wei=4 * base_fee,
                                gas_limit=21000, to=RECIPIENT, value_wei=10**15)
        print(f"funded {address} with 1 ETH on the EVM (chain id {tx.chain_id}); transaction: 0.001 ETH to {RECIPIENT}")
        payload = tx.hash_to_sign()
        cmd = [sys.executable, "-m", "chainsig.cli", "sign", "--rpc", rpc, "--contract", CONTRACT_ID, "--account", USER,
               "--key", str(key_file), "--path", PATH, "--payload", payload.hex(), "--domain", "0"]
        print("$ chainsig sign --rpc", rpc, "--contract", CONTRACT_ID, "--account", USER, "--key alice.json --path",
              PATH, "--payload", payload.hex())
        t0 = time.monotonic()
        out = await asyncio.to_thread(subprocess.run, cmd, capture_output=True, text=True, cwd=ROOT, timeout=120,
                                      check=False)
        if out.returncode != 0:
            raise SystemExit(f"chainsig sign failed: {out.stderr.strip()}")
        response = json.loads(out.stdout)
        print(json.dumps(response))
        print(f"answered in {time.monotonic() - t0:.2f} s")

        step("6. checking the signature")
        signature = EcdsaSignature.from_response(response)
        recovered = ethereum_address(signature.recover(payload))
        signed = tx.attach_signature(signature, expected_sender=address)
        print(f"recovered signer {recovered}; signed tx sender {signed.sender}")
        if recovered != address:
            raise SystemExit("FAILED: the signature does not recover to the derived address")
        print("OK: the MPC signature recovers to the derived address")

        step("7. relaying the signed transaction to the EVM")
        recipient_before = evm.get_balance(RECIPIENT)
        receipt = evm.get_transaction_receipt(evm.send_raw_transaction(signed.raw_hex))
        received = evm.get_balance(RECIPIENT) - recipient_before
        print(f"receipt status {receipt['status']}, gas used {receipt['gas_used']}; {RECIPIENT} received {received} wei")
        if receipt["status"] != 1 or received != tx.value_wei:
            raise SystemExit("FAILED: the relayed transaction did not execute as signed")
        print("OK: the transaction signed by the MPC network executed on the EVM")
    finally:
        net.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts.demo")
    parser.add_argument("--dir", type=Path, help="working directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="chainsig-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"working directory: {work}")
    try:
        asyncio.run(demo(work))
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work} (node logs in cluster/node*/node.log)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
