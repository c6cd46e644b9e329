"""Every chain of the getting-started guide end to end: derive from the signer contract's root key, build from the
chain's RPC, sign through the real MPC network on the localnet (five node processes), attach, relay — and check the
result with each chain's own code: anvil executes the EVM transactions, libbitcoinkernel verifies the Bitcoin and
Dogecoin spends, LiteSVM executes the Solana transfer, xrpl-py verifies the XRP payment, the SIGN_MODE_DIRECT check
verifies the Cosmos send. Chains without a node here get an in-process RPC server (tests/chains/devnodes.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bech32
import bip_utils
import coincurve
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from nacl.signing import SigningKey

from chainsig.bitcoin import TxOutput, verify_with_bitcoin_kernel
from chainsig.chains import TransferOptions, TransferRequest, get_chain
from chainsig.chains.bitcoin import BitcoinFamilyChain
from chainsig.chains.cosmos import verify_direct_signature
from chainsig.chains.evm import eip191_hash, message_signature
from chainsig.kdf import derive_public_key
from chainsig.keys import Ed25519PublicKey, PublicKey, Secp256k1PublicKey
from chainsig.relay import NearSigner, fetch_root_key, send_transfer, sign_transaction
from chainsig.sign import DomainId, SignRequest, request_signature
from chainsig.signatures import EcdsaSignature
from tests.chains.devnodes import (
    Anvil,
    FakeBitcoinNode,
    FakeCosmosRest,
    FakeRippled,
    LiteSvmRpc,
    anvil_binary,
    running_anvil,
    serving,
)

if TYPE_CHECKING:
    from tests.e2e.conftest import E2ECluster

CONTRACT_ID = "signer.test.near"  # as in conftest
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


class User:
    """A fresh NEAR account on the localnet and how it reaches the signer; keys derived from the contract's roots."""

    def __init__(self, env: E2ECluster) -> None:
        self.env = env
        self.creds = env.new_user()
        self.signer = NearSigner(env.rpc, CONTRACT_ID, self.creds, timeout_s=90)

    @property
    def account(self) -> str:
        return str(self.creds.account_id)

    def key(self, chain: str, path: str) -> PublicKey:
        root = asyncio.run(fetch_root_key(self.env.rpc, CONTRACT_ID, get_chain(chain).curve.domain_id))
        return derive_public_key(root, self.account, path)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CHAINSIG_E2E_KEY": json.dumps({"account_id": self.account,
                                                             "secret_key": self.creds.secret_key.reveal()})}
        return subprocess.run([sys.executable, "-m", "chainsig.cli", *args, "--rpc", self.env.rpc, "--contract",
                               CONTRACT_ID, "--account", self.account, "--key", "CHAINSIG_E2E_KEY"],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=180, check=False)


def _secp_point() -> bytes:
    """A random compressed secp256k1 public key (bip-utils encodes only valid points)."""
    return bytes(coincurve.PrivateKey().public_key.format())


@pytest.fixture(scope="module")
def user(cluster: E2ECluster) -> User:
    return User(cluster)


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    binary = anvil_binary()
    if binary is None:
        pytest.skip("anvil is not installed (scripts/setup.sh installs @foundry-rs/anvil into tests/chains)")
    with running_anvil(binary) as node:
        yield node


def test_ethereum_send_cli_relays_a_transfer_that_anvil_executes(user: User, anvil: Anvil) -> None:
    chain = get_chain("ethereum")
    sender = chain.address(user.key("ethereum", "eth-1"))
    anvil.set_balance(sender, 2 * 10**18)
    payee = "0x" + os.urandom(20).hex()
    out = user.cli("send", "--chain", "ethereum", "--chain-rpc", anvil.url, "--path", "eth-1", "--to", payee,
                   "--amount", "0.125")
    assert out.returncode == 0, out.stderr
    tx_hash = out.stdout.strip()
    assert "requesting 1 signature(s)" in out.stderr and "broadcasting" in out.stderr  # progress lines
    receipt = anvil.receipt(tx_hash)
    assert int(receipt["status"], 16) == 1 and receipt["from"].lower() == sender.lower()
    assert int(receipt["type"], 16) == 2  # EIP-1559 on a London chain
    assert anvil.balance(payee) == 125 * 10**15


def test_ethereum_legacy_contract_call_executes_on_anvil(user: User, anvil: Anvil) -> None:
    chain = get_chain("ethereum")
    key = user.key("ethereum", "eth-2")
    anvil.set_balance(chain.address(key), 10**18)
    contract = "0x" + os.urandom(20).hex()
    anvil.call("anvil_setCode", contract, "0x60003560005500")  # stores the first calldata word in slot 0
    word = os.urandom(32)
    request = TransferRequest(key, contract, Decimal(0), TransferOptions(data=word, legacy=True))
    result = asyncio.run(send_transfer(chain, anvil.url, user.signer, request, "eth-2"))
    assert int(anvil.receipt(str(result.txid))["status"], 16) == 1
    assert anvil.call("eth_getStorageAt", contract, "0x0", "latest") == "0x" + word.hex()


def test_ethereum_eip191_and_eip712_messages(user: User, tmp_path: Path) -> None:
    key = user.key("ethereum", "eth-msg")
    assert isinstance(key, Secp256k1PublicKey)
    address = get_chain("ethereum").address(key)
    digest = eip191_hash(b"sign in to chainsig")
    result = asyncio.run(request_signature(user.env.rpc, CONTRACT_ID, user.creds,
                                           SignRequest("eth-msg", digest, DomainId(0)), timeout_s=90))
    assert isinstance(result.signature, EcdsaSignature)
    sig65 = message_signature(result.signature, digest, key)
    assert Account.recover_message(encode_defunct(text="sign in to chainsig"), signature=sig65) == address

    typed = {"types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
                       "Order": [{"name": "maker", "type": "address"}, {"name": "amount", "type": "uint256"}]},
             "primaryType": "Order", "domain": {"name": "chainsig", "chainId": 31337},
             "message": {"maker": address, "amount": 42}}
    (tmp_path / "order.json").write_text(json.dumps(typed))
    out = user.cli("sign-message", "--path", "eth-msg", "--typed-data", str(tmp_path / "order.json"))
    assert out.returncode == 0, out.stderr
    assert Account.recover_message(encode_typed_data(full_message=typed),
                                   signature=bytes.fromhex(out.stdout.strip()[2:])) == address


def test_bitcoin_two_input_spend_with_change_passes_bitcoin_core(user: User) -> None:
    chain = get_chain("bitcoin-regtest")
    assert isinstance(chain, BitcoinFamilyChain)
    key = user.key("bitcoin-regtest", "btc-1")
    sender = chain.address(key)
    node = FakeBitcoinNode(fee_rate=3.0)
    node.fund(sender, chain.script_pubkey(sender), [40_000, 70_000])
    payee = str(bech32.encode("bcrt", 0, list(os.urandom(20))))
    with serving(node.app()) as url:
        result = asyncio.run(send_transfer(chain, url, user.signer, TransferRequest(key, payee, Decimal("0.001")),
                                           "btc-1"))
    assert result.txid == result.signed.txid and node.received == [result.signed.raw.hex()]  # kernel-verified
    payee_outputs = [v for (txid, _), (v, script, _) in node.utxos.items()
                     if txid == result.txid and script == chain.script_pubkey(payee)]
    change = [v for (txid, _), (v, script, _) in node.utxos.items()
              if txid == result.txid and script == chain.script_pubkey(sender)]
    assert payee_outputs == [100_000] and len(change) == 1 and 0 < 110_000 - 100_000 - change[0] < 1_000


def test_dogecoin_send_dry_run_prints_a_spend_that_bitcoin_core_accepts(user: User) -> None:
    chain = get_chain("dogecoin")
    assert isinstance(chain, BitcoinFamilyChain)
    key = user.key("dogecoin", "doge-1")
    sender = chain.address(key)
    node = FakeBitcoinNode()
    node.fund(sender, chain.script_pubkey(sender), [2_000_000_000])
    spent = {outpoint: (value, script) for outpoint, (value, script, _) in node.utxos.items()}
    payee = bip_utils.P2PKHAddrEncoder.EncodeKey(_secp_point(), net_ver=b"\x1e")
    with serving(node.app()) as url:
        out = user.cli("send", "--chain", "dogecoin", "--chain-rpc", url, "--path", "doge-1", "--to", payee,
                       "--amount", "12.5", "--dry-run", "--json")
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout)
    assert printed["broadcast"] is False and node.received == []  # nothing relayed
    raw = bytes.fromhex(printed["signed"])
    [(value, script)] = spent.values()
    verify_with_bitcoin_kernel(raw, [TxOutput(value, script)])  # Bitcoin Core's script check (Dogecoin's rules)
    assert node.accept(raw) == printed["txid"]


def test_solana_transfer_signed_in_the_ed25519_domain_executes_on_litesvm(user: User) -> None:
    chain = get_chain("solana")
    key = user.key("solana", "sol-1")
    assert isinstance(key, Ed25519PublicKey)
    sender = chain.address(key)
    payee = bip_utils.SolAddrEncoder.EncodeKey(b"\x00" + bytes(SigningKey.generate().verify_key))
    bank = LiteSvmRpc()
    bank.airdrop(sender, 3_000_000_000)
    with serving(bank.app()) as url:
        result = asyncio.run(send_transfer(chain, url, user.signer, TransferRequest(key, payee, Decimal("1.5")),
                                           "sol-1"))
    assert result.txid == result.signed.txid and len(bank.executed) == 1
    assert bank.balance(payee) == 1_500_000_000
    assert bank.balance(sender) == 3_000_000_000 - 1_500_000_000 - 5_000


def test_xrp_payment_is_verified_by_xrpl_py(user: User) -> None:
    chain = get_chain("xrp")
    key = user.key("xrp", "xrp-1")
    sender = chain.address(key)
    payee = bip_utils.XrpAddrEncoder.EncodeKey(_secp_point())
    ledger = FakeRippled(sequences={sender: 1})
    with serving(ledger.app()) as url:
        result = asyncio.run(send_transfer(chain, url, user.signer, TransferRequest(key, payee, Decimal(25)),
                                           "xrp-1"))
    [tx] = ledger.received
    assert result.txid == result.signed.txid
    assert (tx["Account"], tx["Destination"], tx["Amount"]) == (sender, payee, "25000000")


def test_cosmos_bank_send_passes_the_sign_mode_direct_check(user: User) -> None:
    chain = get_chain("cosmos")
    key = user.key("cosmos", "atom-1")
    assert isinstance(key, Secp256k1PublicKey)
    sender = chain.address(key)
    payee = bip_utils.AtomAddrEncoder.EncodeKey(_secp_point(), hrp="cosmos")
    rest = FakeCosmosRest(accounts={sender: (4, 0)})
    with serving(rest.app()) as url:
        unsigned = asyncio.run(chain.build_transfer(url, TransferRequest(key, payee, Decimal("0.75"))))
        signed = asyncio.run(sign_transaction(unsigned, user.signer, "atom-1"))
        assert asyncio.run(chain.broadcast(url, signed)) == signed.txid
    assert verify_direct_signature(signed.raw, "cosmoshub-test", 4) == key.compressed
    assert rest.accounts[sender] == (4, 1)


@pytest.mark.parametrize("chain", ["aptos", "sui"])
def test_move_chain_addresses_from_the_contract_root(user: User, chain: str) -> None:
    key = user.key(chain, f"{chain}-1")
    assert isinstance(key, Ed25519PublicKey)
    root = asyncio.run(fetch_root_key(user.env.rpc, CONTRACT_ID, 1))
    printed = subprocess.run([sys.executable, "-m", "chainsig.cli", "derive", "--root", root, "--account",
                              user.account, "--path", f"{chain}-1", "--chain", chain, "--json"],
                             capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    address = json.loads(printed.stdout)["address"]
    encoder: Any = bip_utils.AptosAddrEncoder if chain == "aptos" else bip_utils.SuiAddrEncoder
    assert int(address, 16) == int(encoder.EncodeKey(b"\x00" + key.data), 16)
    # The network signs for that key: an Ed25519 signature over a message verifies under it.
    message = b"move chain message " + os.urandom(32)
    result = asyncio.run(request_signature(user.env.rpc, CONTRACT_ID, user.creds,
                                           SignRequest(f"{chain}-1", message, DomainId(1)), timeout_s=90))
    assert result.signature.verify(message, key)  # type: ignore[arg-type]

