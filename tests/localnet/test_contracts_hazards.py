"""The two toolchain hazards of nearc's MicroPython port (reference near-runtime.md, "Known toolchain hazards"),
reproduced with the port as shipped and shown fixed by contract/patches/webassembly-near.patch.

tests/localnet/contracts/stress.py is built twice: `build_contract(..., patched=False)` uses nearc's port as
shipped, the default build applies the project's patch. Hazard (a): near-sdk-py returns the 32-byte yield data
id through a UTF-8-checked `str`, so the stock port raises UnicodeError. Hazard (b): heavy allocation corrupts the
stock port's 32 KiB heap (its collector cannot see pointers held in Wasm locals) and the call traps; the patched
port never collects, grows its heap on demand and panics cleanly when the Wasm memory is exhausted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import base58
import pytest
from contracts_support import NEAR, TGAS, contract_wasm, function_call_error, outcome_height, receipt_outcome
from Crypto.Hash import keccak

from localnet.chain import InMemorySigner, Localnet

U64_MAX = 2**64 - 1


@pytest.fixture(scope="module")
def net() -> Iterator[Localnet]:
    with Localnet() as chain:
        yield chain


@pytest.fixture(scope="module")
def patched(net: Localnet) -> InMemorySigner:
    signer = net.create_account("patched.test.near", 20 * NEAR)
    net.deploy(signer, contract_wasm("stress"))
    return signer


@pytest.fixture(scope="module")
def stock(net: Localnet) -> InMemorySigner:
    signer = net.create_account("stock.test.near", 20 * NEAR)
    net.deploy(signer, contract_wasm("stress", patched=False))
    return signer


def _keccak256(data: bytes) -> str:
    return keccak.new(data=data, digest_bits=256).hexdigest()


# ---- hazard (b): heavy allocation ------------------------------------------------------------------------


def test_pure_python_keccak_of_a_kilobyte_runs_with_the_patched_port(net: Localnet, patched: InMemorySigner) -> None:
    data = bytes(range(256)) * 4
    result = net.call(patched, patched.account_id, "keccak", {"hex": data.hex()}, gas=300 * TGAS)
    assert result.json() == {"python": _keccak256(data), "host": _keccak256(data)}
    # 8 blocks x 24 rounds of big-int Keccak: far more allocation than the stock 32 KiB heap survives.
    assert receipt_outcome(result, patched.account_id)["outcome"]["gas_burnt"] > 50 * TGAS


def test_pure_python_keccak_traps_with_the_stock_port(net: Localnet, stock: InMemorySigner) -> None:
    storage_before = net.storage(stock.account_id)
    result = net.call(stock, stock.account_id, "keccak", {"hex": ""}, gas=300 * TGAS)
    assert function_call_error(result) == {"ExecutionError": "WebAssembly trap: Memory out of bounds trap."}
    assert net.storage(stock.account_id) == storage_before
    # The corrupted heap sends it into a runaway loop first: the trap comes after ~357 million operators, and
    # every one of them is charged (as nearcore charges each basic block before running it).
    assert receipt_outcome(result, stock.account_id)["outcome"]["gas_burnt"] > 250 * TGAS


def test_allocation_patched_and_stock(net: Localnet, patched: InMemorySigner, stock: InMemorySigner) -> None:
    args = {"count": 100, "size": 10_000}  # 1 MB live at once
    assert net.call(patched, patched.account_id, "allocate", args).json() == {
        "checksum": sum(range(100)),
        "buffers": 100,
    }
    failed = net.call(stock, stock.account_id, "allocate", args, gas=100 * TGAS)
    # The stock heap is corrupted and the call runs away until it has burnt all its gas.
    assert function_call_error(failed) == {"ExecutionError": "Exceeded the prepaid gas."}


def test_patched_heap_grows_past_the_old_fixed_heap(net: Localnet, patched: InMemorySigner) -> None:
    # 12 MB live at once: more than the 8 MiB fixed heap of the previous patch; the heap grows by malloc'd areas.
    args = {"count": 2, "size": 6_000_000}
    assert net.call(patched, patched.account_id, "allocate", args, gas=300 * TGAS).json() == {
        "checksum": 1,
        "buffers": 2,
    }


def test_patched_out_of_memory_is_a_clean_panic(net: Localnet, patched: InMemorySigner) -> None:
    storage_before = net.storage(patched.account_id)
    result = net.call(patched, patched.account_id, "allocate", {"count": 1, "size": 100_000_000}, gas=300 * TGAS)
    # More than the Wasm memory holds: a panic at once, not a write through NULL (nearc's NLR only flags a raised
    # MemoryError and returns) nor a runaway.
    assert function_call_error(result) == {
        "ExecutionError": "Smart contract panicked: MemoryError: out of memory (the Python heap cannot grow any further)"
    }
    assert net.storage(patched.account_id) == storage_before
    assert receipt_outcome(result, patched.account_id)["outcome"]["gas_burnt"] < 10 * TGAS


def test_patched_call_overhead_is_no_more_than_the_stock_port(
    net: Localnet, patched: InMemorySigner, stock: InMemorySigner
) -> None:
    # The heap starts small (no 8 MiB allocation table to clear) and memset/memcpy work a word at a time, so a
    # trivial call costs no more than with the stock port's 32 KiB heap. Compared without the contract-loading fee,
    # which is per byte of code: the patched port also links the native crypto module (contract/native), which
    # makes every module larger but is not per-call work of the runtime.
    from localnet.runtime.fees import ExtCosts

    args = {"count": 0, "size": 1}
    executed: dict[str, int] = {}
    for signer, wasm in ((patched, contract_wasm("stress")), (stock, contract_wasm("stress", patched=False))):
        result = net.call(signer, signer.account_id, "allocate", args)
        assert result.json() == {"checksum": 0, "buffers": 0}
        burnt = receipt_outcome(result, signer.account_id)["outcome"]["gas_burnt"]
        executed[signer.account_id] = burnt - ExtCosts().contract_loading_bytes * len(wasm)
    assert executed[patched.account_id] <= executed[stock.account_id]


# ---- hazard (a): the yield data id is bytes, not text -------------------------------------------------------


def test_yield_data_id_comes_back_as_bytes_derived_as_nearcore_does(net: Localnet, patched: InMemorySigner) -> None:
    result = net.call(patched, patched.account_id, "yield_id", {})
    body = result.json()
    assert body["type"] == "bytes" and body["length"] == 32
    data_id = bytes.fromhex(body["hex"])
    with pytest.raises(UnicodeDecodeError):  # 32 hash bytes are (all but surely) not UTF-8
        data_id.decode("utf-8")
    # nearcore: action_hash = sha256(receipt_id ‖ height ‖ u64::MAX − action_index); data_id = sha256(action_hash ‖
    # height ‖ data_count), all integers u64 little-endian.
    outcome = receipt_outcome(result, patched.account_id)
    height = outcome_height(net, outcome).to_bytes(8, "little")
    action = hashlib.sha256(base58.b58decode(outcome["id"]) + height + U64_MAX.to_bytes(8, "little")).digest()
    assert data_id == hashlib.sha256(action + height + (0).to_bytes(8, "little")).digest()


def test_yield_data_id_raises_unicode_error_with_the_stock_port(net: Localnet, stock: InMemorySigner) -> None:
    result = net.call(stock, stock.account_id, "yield_id", {"gas": 10**9})
    assert function_call_error(result) == {"ExecutionError": "Smart contract panicked: explicit guest panic"}
    assert "UnicodeError: " in result.logs
    # The failed call left no yield behind.
    assert not [key for key in net.snapshot(stock.account_id) if key[0] == "yield"]
