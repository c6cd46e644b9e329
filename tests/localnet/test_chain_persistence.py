"""A localnet persisted in SQLite continues where it stopped: accounts, keys, nonces, contract state, and a
yield that was still waiting (its postponed callback and timeout) all survive a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from contracts_support import NEAR, TGAS, contract_wasm

from localnet.chain import ChainError, Localnet, SecretKey
from localnet.types import FunctionCall


def test_restart_continues_the_chain_and_a_waiting_yield(tmp_path: Path) -> None:
    root_key = SecretKey.generate()
    with Localnet(tmp_path, root_key=root_key) as net:
        yielder = net.create_account("yielder.test.near", 10 * NEAR)
        net.deploy(yielder, contract_wasm("yielder"))
        args = json.dumps({"tag": "across"}).encode()
        tx_hash = net.submit(yielder, yielder.account_id, [FunctionCall("start", args, 50 * TGAS, 0)])
        assert net.wait(tx_hash, yielder.account_id, max_blocks=3).pending
        (data_id,) = net.view(yielder.account_id, "pending").json()
        height, nonce = net.height, net.access_key_nonce(yielder)
        balance = net.balance(yielder.account_id)

    with Localnet(tmp_path, root_key=root_key) as net:
        assert net.height == height
        assert net.access_key_nonce(yielder) == nonce
        assert net.balance(yielder.account_id) == balance
        assert net.view(yielder.account_id, "pending").json() == [data_id]
        assert net.result(tx_hash, yielder.account_id).pending
        resumed = net.call(yielder, yielder.account_id, "resume", {"data_id": data_id, "payload": "after restart"})
        assert resumed.json() is True
        assert net.wait(tx_hash, yielder.account_id).json() == {"tag": "across", "payload": "after restart"}


def test_a_persisted_chain_refuses_another_root_key(tmp_path: Path) -> None:
    with Localnet(tmp_path, root_key=SecretKey.generate()):
        pass
    with pytest.raises(ChainError, match="another root key"):
        Localnet(tmp_path, root_key=SecretKey.generate())
