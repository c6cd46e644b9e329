"""EVM adapter: hashes and signed bytes match eth-account; the signed transaction executes on py-evm (eth-tester)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_tester import EthereumTester, PyEVMBackend

from chainsig.addresses import ethereum_address
from chainsig.errors import TransactionError
from chainsig.evm import AccessListEntry, Eip1559Transaction, LegacyTransaction, recover_sender
from chainsig.kdf import derive_secp256k1_public_key, derive_secp256k1_secret
from chainsig.local_signer import public_key_of, unsafe_sign_hash
from chainsig.redacted import SecretScalar

PREDECESSOR, PATH = "alice.test.near", "ethereum-1"
RECIPIENT = "0x0513cb2E7ED8B3c9A2ac54CDcaCa32520b0B7311"


@pytest.fixture
def derived(root_secret: SecretScalar) -> tuple[SecretScalar, str]:
    """The derived secret (held locally in place of the MPC network) and the address derived from the root *public*
    key."""
    secret = derive_secp256k1_secret(root_secret, PREDECESSOR, PATH)
    address = ethereum_address(derive_secp256k1_public_key(public_key_of(root_secret), PREDECESSOR, PATH))
    return secret, address


def _eip1559(**overrides: Any) -> Eip1559Transaction:
    fields: dict[str, Any] = {
        "chain_id": 1,
        "nonce": 7,
        "max_priority_fee_per_gas_wei": 2 * 10**9,
        "max_fee_per_gas_wei": 30 * 10**9,
        "gas_limit": 60_000,
        "to": RECIPIENT,
        "value_wei": 10**15,
        "data": bytes.fromhex("a9059cbb"),
        "access_list": (AccessListEntry(RECIPIENT, (bytes(31) + b"\x01",)),),
    }
    fields.update(overrides)
    return Eip1559Transaction(**fields)


def _eth_account_dict(tx: Eip1559Transaction) -> dict[str, Any]:
    return {
        "type": 2,
        "chainId": tx.chain_id,
        "nonce": tx.nonce,
        "maxPriorityFeePerGas": tx.max_priority_fee_per_gas_wei,
        "maxFeePerGas": tx.max_fee_per_gas_wei,
        "gas": tx.gas_limit,
        "to": tx.to,
        "value": tx.value_wei,
        "data": tx.data,
        "accessList": [
            {"address": e.address, "storageKeys": ["0x" + k.hex() for k in e.storage_keys]} for e in tx.access_list
        ],
    }


def test_eip1559_hash_matches_eth_account() -> None:
    tx = _eip1559()
    assert tx.hash_to_sign() == TypedTransaction.from_dict(_eth_account_dict(tx)).hash()


def test_eip1559_signed_bytes_match_eth_account(derived: tuple[SecretScalar, str]) -> None:
    secret, address = derived
    tx = _eip1559()
    signed = tx.attach_signature(unsafe_sign_hash(secret, tx.hash_to_sign()), expected_sender=address)
    assert signed.sender == address
    reference = Account.sign_transaction(_eth_account_dict(tx), secret.reveal())
    assert signed.raw == bytes(reference.raw_transaction)
    assert signed.tx_hash == bytes(reference.hash)


@pytest.mark.parametrize("chain_id", [1, 11155111, None])
def test_legacy_signed_bytes_match_eth_account(derived: tuple[SecretScalar, str], chain_id: int | None) -> None:
    secret, address = derived
    tx = LegacyTransaction(chain_id=chain_id, nonce=1, gas_price_wei=10**9, gas_limit=21_000, to=RECIPIENT, value_wei=5)
    signed = tx.attach_signature(unsafe_sign_hash(secret, tx.hash_to_sign()), expected_sender=address)
    reference_dict: dict[str, Any] = {
        "nonce": 1, "gasPrice": 10**9, "gas": 21_000, "to": RECIPIENT, "value": 5, "data": b""
    }
    if chain_id is not None:
        reference_dict["chainId"] = chain_id
    assert signed.raw == bytes(Account.sign_transaction(reference_dict, secret.reveal()).raw_transaction)
    assert recover_sender(signed.raw) == address


def test_signature_from_another_key_is_refused(derived: tuple[SecretScalar, str], root_secret: SecretScalar) -> None:
    _, address = derived
    tx = _eip1559()
    wrong = unsafe_sign_hash(root_secret, tx.hash_to_sign())  # the root key, not the derived one
    with pytest.raises(TransactionError, match="not the expected sender"):
        tx.attach_signature(wrong, expected_sender=address)


@pytest.mark.parametrize(
    "overrides",
    [
        {"to": "0x0513cb2e7ed8b3c9a2ac54cdcaca32520b0b731"},  # 19 bytes
        {"to": "0x0513Cb2E7ED8B3c9A2ac54CDcaCa32520b0B7311"},  # bad EIP-55 checksum
        {"value_wei": -1},
        {"nonce": 2**256},
        {"gas_limit": True},
        {"max_priority_fee_per_gas_wei": 31 * 10**9},
        {"access_list": (AccessListEntry(RECIPIENT, (b"\x01",)),)},
    ],
)
def test_invalid_fields_raise_transaction_error(overrides: dict[str, Any]) -> None:
    with pytest.raises(TransactionError):
        _eip1559(**overrides)


def test_garbage_raw_transaction_has_no_sender() -> None:
    with pytest.raises(TransactionError):
        recover_sender(b"\x02\xc0")


def test_signed_transfer_executes_on_py_evm(derived: tuple[SecretScalar, str]) -> None:
    secret, address = derived
    tester = EthereumTester(PyEVMBackend())
    funder = tester.get_accounts()[0]
    tester.send_transaction({"from": funder, "to": address, "value": 10**18, "gas": 21_000, "gas_price": 10**10})
    assert tester.get_balance(address) == 10**18

    chain_id = PyEVMBackend().chain.chain_id
    base_fee = tester.get_block_by_number("latest")["base_fee_per_gas"]
    tx = _eip1559(
        chain_id=chain_id,
        nonce=tester.get_nonce(address),
        max_priority_fee_per_gas_wei=10**9,
        max_fee_per_gas_wei=4 * base_fee,
        gas_limit=21_000,
        value_wei=12345,
        data=b"",
        access_list=(),
    )
    recipient_before = tester.get_balance(RECIPIENT)
    signed = tx.attach_signature(unsafe_sign_hash(secret, tx.hash_to_sign()), expected_sender=address)
    tx_hash = tester.send_raw_transaction(signed.raw_hex)

    receipt = tester.get_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    assert bytes.fromhex(tx_hash[2:]) == signed.tx_hash
    assert tester.get_balance(RECIPIENT) - recipient_before == 12345
    paid_gas = receipt["gas_used"] * receipt["effective_gas_price"]
    assert tester.get_balance(address) == 10**18 - 12345 - paid_gas
    assert tester.get_nonce(address) == 1

    replay = dataclasses.replace(tx, value_wei=1)  # same nonce, reused signature → sender differs, not ours
    with pytest.raises(TransactionError):
        replay.attach_signature(unsafe_sign_hash(secret, tx.hash_to_sign()), expected_sender=address)
