"""Transfers through each chain adapter: built from the chain's RPC, signed as the MPC network answers (a local
stand-in holding the root secrets), attached, broadcast — and checked by the chain's own code: anvil executes EVM
transactions, libbitcoinkernel verifies Bitcoin/Dogecoin spends, LiteSVM executes Solana transfers, xrpl-py
verifies XRP payments, the SIGN_MODE_DIRECT check verifies Cosmos sends. The e2e twin is tests/e2e/test_chains.py.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import bech32
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from chainsig.chains import TransferOptions, TransferRequest, get_chain, sign_requests
from chainsig.chains.base import SignedTransaction, UnsignedTransaction
from chainsig.chains.bitcoin import BitcoinFamilyChain, UnsignedBitcoinTransaction
from chainsig.chains.cosmos import UnsignedCosmosTransaction, verify_direct_signature
from chainsig.chains.evm import UnsignedEvmTransaction, eip191_hash, eip712_hash, message_signature
from chainsig.errors import ChainRpcError, TransactionError
from chainsig.evm import Eip1559Transaction, LegacyTransaction
from chainsig.kdf import derive_public_key
from chainsig.keys import PublicKey, Secp256k1PublicKey
from chainsig.sign import DomainId, SignRequest
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
from tests.chains.local_mpc import LocalMpc

ACCOUNT = "alice.test.near"
REGTEST_PAYEE = str(bech32.encode("bcrt", 0, list(bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6"))))


@pytest.fixture(scope="module")
def mpc() -> LocalMpc:
    return LocalMpc.random()


def _key(mpc: LocalMpc, chain: str, path: str) -> PublicKey:
    root = mpc.secp_root_public if get_chain(chain).curve.domain_id == 0 else mpc.ed_root_public
    return derive_public_key(root, ACCOUNT, path)


def _sign(mpc: LocalMpc, unsigned: UnsignedTransaction, path: str) -> SignedTransaction:
    return unsigned.attach([mpc.sign(ACCOUNT, r) for r in sign_requests(unsigned, path)])


# ---- Bitcoin family ------------------------------------------------------------------------------------------


@pytest.fixture
def btc_node() -> Iterator[tuple[FakeBitcoinNode, str]]:
    node = FakeBitcoinNode()
    with serving(node.app()) as url:
        yield node, url


@pytest.mark.parametrize("backend", ["esplora", "core"])
def test_bitcoin_multi_input_spend_with_change_passes_bitcoin_core(
        mpc: LocalMpc, btc_node: tuple[FakeBitcoinNode, str], backend: str) -> None:
    node, url = btc_node
    chain = get_chain("bitcoin-regtest")
    assert isinstance(chain, BitcoinFamilyChain)
    key = _key(mpc, "bitcoin-regtest", "btc-1")
    sender = chain.address(key)
    node.fund(sender, chain.script_pubkey(sender), [30_000, 50_000, 20_000])
    rpc = url if backend == "esplora" else "core+" + url.replace("http://", "http://rpcuser:secret@")
    unsigned = asyncio.run(chain.build_transfer(rpc, TransferRequest(key, REGTEST_PAYEE, Decimal("0.0006"))))
    assert isinstance(unsigned, UnsignedBitcoinTransaction)
    spend = unsigned.spend
    assert sorted(i.value_sat for i in spend.inputs) == [30_000, 50_000]  # largest first, two needed
    assert len(unsigned.payloads()) == 2
    assert spend.outputs[0].value_sat == 60_000 and spend.outputs[0].script_pubkey == chain.script_pubkey(
        REGTEST_PAYEE)
    change = spend.outputs[1]
    assert change.script_pubkey == chain.script_pubkey(sender)
    signed = _sign(mpc, unsigned, "btc-1")
    # BIP-141 weight: the non-witness part (version, 2 inputs of 41 bytes, 2 P2WPKH outputs of 31, locktime) counts
    # four times, marker, flag and witnesses once.
    base = 4 + 1 + 2 * 41 + 1 + 2 * 31 + 4
    vsize = (4 * base + len(signed.raw) - base) / 4
    assert spend.fee_sat == 80_000 - 60_000 - change.value_sat
    assert 2 * vsize <= spend.fee_sat <= 2 * (vsize + 2)  # 2 sat/vB; the estimate assumes 72-byte signatures
    txid = asyncio.run(chain.broadcast(rpc, signed))
    assert txid == signed.txid and node.received == [signed.raw.hex()]
    assert (txid, 0) in node.utxos and node.utxos[(txid, 1)][0] == change.value_sat
    if backend == "core":  # credentials in the URL become HTTP basic auth, as bitcoind expects
        assert node.rpc_auth and set(node.rpc_auth) == {"Basic " + base64.b64encode(b"rpcuser:secret").decode()}


def test_dogecoin_p2pkh_legacy_spend_passes_bitcoin_core(mpc: LocalMpc, btc_node: tuple[FakeBitcoinNode, str]) -> None:
    node, url = btc_node
    chain = get_chain("dogecoin")
    assert isinstance(chain, BitcoinFamilyChain)
    key = _key(mpc, "dogecoin", "doge-1")
    sender = chain.address(key)
    assert sender.startswith("D")
    node.fund(sender, chain.script_pubkey(sender), [500_000_000, 300_000_000])
    payee = chain.address(_key(mpc, "dogecoin", "doge-2"))
    unsigned = asyncio.run(chain.build_transfer(url, TransferRequest(key, payee, Decimal("6.5"))))
    signed = _sign(mpc, unsigned, "doge-1")
    assert signed.raw[4] == 2  # two inputs, no segwit marker
    assert isinstance(unsigned, UnsignedBitcoinTransaction)
    fee_rate = unsigned.spend.fee_sat / len(signed.raw)
    assert 1000 <= fee_rate <= 1100  # the Dogecoin floor (1000 koinu/B) is above the node's 2/B estimate
    assert asyncio.run(chain.broadcast(url, signed)) == signed.txid
    assert node.received == [signed.raw.hex()]


def test_bitcoin_bad_signature_or_tampering_is_refused(mpc: LocalMpc, btc_node: tuple[FakeBitcoinNode, str]) -> None:
    node, url = btc_node
    chain = get_chain("bitcoin-regtest")
    assert isinstance(chain, BitcoinFamilyChain)
    key = _key(mpc, "bitcoin-regtest", "btc-2")
    sender = chain.address(key)
    node.fund(sender, chain.script_pubkey(sender), [100_000])
    unsigned = asyncio.run(chain.build_transfer(url, TransferRequest(
        key, REGTEST_PAYEE, Decimal("0.0005"), TransferOptions(fee_rate=Decimal(10)))))
    assert unsigned.spend.fee_sat >= 10 * 110  # the override, not the node's estimate
    wrong = [mpc.sign(ACCOUNT, SignRequest("other-path", p, DomainId(0))) for p in unsigned.payloads()]
    with pytest.raises(TransactionError, match="does not verify"):
        unsigned.attach(wrong)
    signed = _sign(mpc, unsigned, "btc-2")
    tampered = bytearray(signed.raw)
    tampered[-30] ^= 1  # inside the payee/change outputs: the signature no longer covers them
    with pytest.raises(ChainRpcError, match="HTTP 400"):
        asyncio.run(chain.broadcast(url, SignedTransaction(signed.chain, bytes(tampered), "", tampered.hex())))
    assert node.received == []
    with pytest.raises(TransactionError, match="insufficient funds"):
        asyncio.run(chain.build_transfer(url, TransferRequest(key, REGTEST_PAYEE, Decimal("0.01"))))
    with pytest.raises(TransactionError, match="more than 8 decimals"):
        asyncio.run(chain.build_transfer(url, TransferRequest(key, REGTEST_PAYEE, Decimal("0.000000001"))))
    with pytest.raises(TransactionError, match="not a bitcoin-regtest address"):
        asyncio.run(chain.build_transfer(url, TransferRequest(key, "bc" + REGTEST_PAYEE[4:], Decimal("0.0001"))))


# ---- Solana --------------------------------------------------------------------------------------------------


def test_solana_transfer_is_executed_by_litesvm(mpc: LocalMpc) -> None:
    chain = get_chain("solana")
    key = _key(mpc, "solana", "sol-1")
    sender = chain.address(key)
    payee = chain.address(_key(mpc, "solana", "sol-2"))
    bank = LiteSvmRpc()
    bank.airdrop(sender, 2_000_000_000)
    with serving(bank.app()) as url:
        unsigned = asyncio.run(chain.build_transfer(url, TransferRequest(key, payee, Decimal("0.25"))))
        assert unsigned.curve.domain_id == 1
        signed = _sign(mpc, unsigned, "sol-1")
        with pytest.raises(TransactionError, match="does not verify"):
            unsigned.attach([mpc.sign(ACCOUNT, SignRequest("x", unsigned.payloads()[0], DomainId(1)))])
        assert asyncio.run(chain.broadcast(url, signed)) == signed.txid
        assert bank.balance(payee) == 250_000_000
        assert bank.balance(sender) == 2_000_000_000 - 250_000_000 - 5_000
        with pytest.raises(ChainRpcError, match="Transaction failed"):  # replay: LiteSVM refuses it
            asyncio.run(chain.broadcast(url, signed))


# ---- XRP -----------------------------------------------------------------------------------------------------


def test_xrp_payment_is_verified_by_xrpl_py(mpc: LocalMpc) -> None:
    chain = get_chain("xrp")
    key = _key(mpc, "xrp", "xrp-1")
    sender = chain.address(key)
    payee = chain.address(_key(mpc, "xrp", "xrp-2"))
    ledger = FakeRippled(sequences={sender: 7})
    with serving(ledger.app()) as url:
        unsigned = asyncio.run(chain.build_transfer(url, TransferRequest(key, payee, Decimal("1.5"))))
        signed = _sign(mpc, unsigned, "xrp-1")
        assert asyncio.run(chain.broadcast(url, signed)) == signed.txid
        [tx] = ledger.received
        assert (tx["Amount"], tx["Destination"], tx["Sequence"], tx["Fee"]) == ("1500000", payee, 7, "12")
        assert tx["LastLedgerSequence"] == 1020
        with pytest.raises(ChainRpcError, match="tefBAD_SIGNATURE"):  # replay: the sequence moved on
            asyncio.run(chain.broadcast(url, signed))
        with pytest.raises(TransactionError, match="classic XRP address"):
            asyncio.run(chain.build_transfer(url, TransferRequest(key, "rNotAnAddress", Decimal(1))))


# ---- Cosmos --------------------------------------------------------------------------------------------------


def test_cosmos_bank_send_passes_the_sign_mode_direct_check(mpc: LocalMpc) -> None:
    chain = get_chain("cosmos")
    key = _key(mpc, "cosmos", "atom-1")
    assert isinstance(key, Secp256k1PublicKey)
    sender = chain.address(key)
    payee = chain.address(_key(mpc, "cosmos", "atom-2"))
    rest = FakeCosmosRest(accounts={sender: (12, 3)})
    with serving(rest.app()) as url:
        unsigned = asyncio.run(chain.build_transfer(url, TransferRequest(
            key, payee, Decimal("1.5"), TransferOptions(memo="chainsig"))))
        assert isinstance(unsigned, UnsignedCosmosTransaction)
        signed = _sign(mpc, unsigned, "atom-1")
        assert verify_direct_signature(signed.raw, "cosmoshub-test", 12) == key.compressed
        with pytest.raises(TransactionError, match="does not verify"):
            verify_direct_signature(signed.raw, "cosmoshub-test", 13)  # another account number
        assert asyncio.run(chain.broadcast(url, signed)) == signed.txid
        assert rest.accounts[sender] == (12, 4) and len(rest.received) == 1
        _check_msg_send(signed.raw, sender, payee, "1500000")
        with pytest.raises(ChainRpcError, match="sequence mismatch"):
            asyncio.run(chain.broadcast(url, signed))


def _check_msg_send(raw: bytes, sender: str, payee: str, amount: str) -> None:
    from cosmospy_protobuf.cosmos.bank.v1beta1 import tx_pb2 as bank
    from cosmospy_protobuf.cosmos.tx.v1beta1 import tx_pb2

    body = tx_pb2.TxBody.FromString(tx_pb2.TxRaw.FromString(raw).body_bytes)
    [message] = body.messages
    assert message.type_url == "/cosmos.bank.v1beta1.MsgSend" and body.memo == "chainsig"
    send = bank.MsgSend.FromString(message.value)
    assert (send.from_address, send.to_address, send.amount[0].denom, send.amount[0].amount) == (
        sender, payee, "uatom", amount)


def test_aptos_and_sui_refuse_transfers(mpc: LocalMpc) -> None:
    for name in ("aptos", "sui"):
        with pytest.raises(TransactionError, match="addresses only"):
            asyncio.run(get_chain(name).build_transfer("http://127.0.0.1:9", TransferRequest(
                _key(mpc, name, "m"), "0x1", Decimal(1))))


# ---- EVM on anvil --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    binary = anvil_binary()
    if binary is None:
        pytest.skip("anvil is not installed (scripts/setup.sh installs @foundry-rs/anvil into tests/chains)")
    with running_anvil(binary) as node:
        yield node


# PUSH1 0 CALLDATALOAD PUSH1 0 SSTORE STOP: stores the first calldata word in slot 0.
STORE_WORD = "0x60003560005500"


@pytest.mark.parametrize("legacy", [False, True])
def test_evm_transfer_and_contract_call_execute_on_anvil(mpc: LocalMpc, anvil: Anvil, legacy: bool) -> None:
    chain = get_chain("ethereum")
    key = _key(mpc, "ethereum", f"eth-{legacy}")
    sender = chain.address(key)
    anvil.set_balance(sender, 10**18)
    payee = chain.address(_key(mpc, "ethereum", "eth-payee"))
    before = anvil.balance(payee)
    unsigned = asyncio.run(chain.build_transfer(anvil.url, TransferRequest(
        key, payee, Decimal("0.25"), TransferOptions(legacy=legacy))))
    assert isinstance(unsigned, UnsignedEvmTransaction)
    assert isinstance(unsigned.transaction, LegacyTransaction if legacy else Eip1559Transaction)
    signed = _sign(mpc, unsigned, f"eth-{legacy}")
    tx_hash = asyncio.run(chain.broadcast(anvil.url, signed))
    assert tx_hash == signed.txid
    receipt = anvil.receipt(tx_hash)
    assert int(receipt["status"], 16) == 1 and receipt["from"].lower() == sender.lower()
    assert anvil.balance(payee) - before == 25 * 10**16

    contract = "0x" + os.urandom(20).hex()
    anvil.call("anvil_setCode", contract, STORE_WORD)
    word = os.urandom(32)
    unsigned = asyncio.run(chain.build_transfer(anvil.url, TransferRequest(
        key, contract, Decimal(0), TransferOptions(data=word, legacy=legacy))))
    tx_hash = asyncio.run(chain.broadcast(anvil.url, _sign(mpc, unsigned, f"eth-{legacy}")))
    assert int(anvil.receipt(tx_hash)["status"], 16) == 1
    assert anvil.call("eth_getStorageAt", contract, "0x0", "latest") == "0x" + word.hex()


def test_evm_node_errors_are_chain_rpc_errors(mpc: LocalMpc, anvil: Anvil) -> None:
    chain = get_chain("ethereum")
    key = _key(mpc, "ethereum", "eth-poor")  # no balance: the node refuses the transaction
    unsigned = asyncio.run(chain.build_transfer(anvil.url, TransferRequest(key, "0x" + "11" * 20, Decimal(1))))
    with pytest.raises(ChainRpcError, match="(?i)insufficient funds"):
        asyncio.run(chain.broadcast(anvil.url, _sign(mpc, unsigned, "eth-poor")))
    with pytest.raises(ChainRpcError):
        asyncio.run(chain.build_transfer("http://127.0.0.1:9", TransferRequest(key, "0x" + "11" * 20, Decimal(1))))
    with pytest.raises(TransactionError, match="not an Ethereum address"):
        asyncio.run(chain.build_transfer(anvil.url, TransferRequest(key, "0x1234", Decimal(1))))


TYPED: dict[str, Any] = {
    "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
              "Mail": [{"name": "to", "type": "address"}, {"name": "contents", "type": "string"}]},
    "primaryType": "Mail",
    "domain": {"name": "chainsig", "chainId": 1},
    "message": {"to": "0x" + "22" * 20, "contents": "hello"},
}


def test_eip191_and_eip712_signatures_recover_with_eth_account(mpc: LocalMpc) -> None:
    key = _key(mpc, "ethereum", "msg")
    assert isinstance(key, Secp256k1PublicKey)
    address = get_chain("ethereum").address(key)
    for digest, signable in ((eip191_hash(b"hello chainsig"), encode_defunct(text="hello chainsig")),
                             (eip712_hash(TYPED), encode_typed_data(full_message=TYPED))):
        signature = mpc.sign(ACCOUNT, SignRequest("msg", digest, DomainId(0)))
        sig65 = message_signature(signature, digest, key)  # type: ignore[arg-type]
        assert Account.recover_message(signable, signature=sig65) == address
    with pytest.raises(TransactionError, match="EIP-712"):
        eip712_hash({"types": {}, "primaryType": "Nope"})
