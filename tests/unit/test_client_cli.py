"""`chainsig derive` / `chainsig sign` argument handling, run in-process and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chainsig.cli import main

ROOT = "secp256k1:4NfTiv3UsGahebgTaHyD9vF8KYKMBnfd6kh94mK6xv8fGBiJB8TBtFMP5WWXz6B89Ac1fbpzPwAvoyQebemHFwx3"
ED_ROOT = "ed25519:6vSEtQxrQj6txUMh33WC4ERyCWmNMRTdufDWAaDY3Un2"
DERIVE = ["derive", "--account", "derivation-test.testnet", "--path", "unit-test"]


@pytest.mark.parametrize(
    ("chain", "address"),
    [
        ("ethereum", "0x0513cb2E7ED8B3c9A2ac54CDcaCa32520b0B7311"),
        ("bitcoin", "bc1qhv3ve430qaw392kmweqa6j98dqrw0l7erk09nd"),
        ("bitcoin-testnet", "tb1qhv3ve430qaw392kmweqa6j98dqrw0l7efs5kg7"),
    ],
)
def test_derive_prints_address_and_key(chain: str, address: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*DERIVE, "--root", ROOT, "--chain", chain]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"address: {address}"
    assert out[1].startswith("public_key: secp256k1:3b3GS4ka")


def test_derive_solana_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*DERIVE, "--root", ED_ROOT, "--chain", "solana", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        "chain": "solana",
        "address": "49KFz8zeqrPcaSKqLCXtY79zW98ZW6Nd7W8vSsC7FdKJ",
        "public_key": "ed25519:49KFz8zeqrPcaSKqLCXtY79zW98ZW6Nd7W8vSsC7FdKJ",
    }


@pytest.mark.parametrize(
    ("root", "chain", "account", "message"),
    [
        (ED_ROOT, "ethereum", "alice.near", "needs a secp256k1 key"),
        ("secp256k1:nope0", "ethereum", "alice.near", "base58"),
        (ROOT, "bitcoin", "Alice!", "invalid NEAR account id"),
    ],
)
def test_derive_errors_exit_1_with_message(
    root: str, chain: str, account: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["derive", "--root", root, "--account", account, "--path", "p", "--chain", chain]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err


def test_unknown_chain_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*DERIVE, "--root", ROOT, "--chain", "litecoin"])
    assert info.value.code == 2


def test_sign_rejects_bad_payload_before_any_network(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["sign", "--rpc", "http://127.0.0.1:9", "--contract", "v1.signer.test.near", "--account", "alice.test.near"]
    base += ["--key", "CHAINSIG_TEST_UNSET_VARIABLE", "--path", "p"]
    assert main([*base, "--payload", "zz"]) == 1
    assert "not hex" in capsys.readouterr().err
    assert main([*base, "--payload", "ab" * 31]) == 1
    assert "32-byte" in capsys.readouterr().err
    assert main([*base, "--payload", "ab" * 32]) == 1  # the key source does not exist
    assert "neither a credentials file nor a set environment variable" in capsys.readouterr().err


def test_module_runs_as_a_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chainsig.cli", *DERIVE, "--root", ROOT, "--chain", "bitcoin-regtest"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("address: bcrt1q")


SEND = ["send", "--rpc", "http://127.0.0.1:9", "--contract", "v1.signer.test.near", "--account", "alice.test.near",
        "--key", "CHAINSIG_TEST_UNSET_VARIABLE", "--path", "p", "--chain-rpc", "http://127.0.0.1:9"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--chain", "bitcoin", "--to", "bc1q", "--amount", "lots"], "--amount is not a decimal number"),
        (["--chain", "bitcoin", "--to", "bc1q", "--amount", "-1"], "--amount must be a non-negative number"),
        (["--chain", "ethereum", "--to", "0x00", "--amount", "1", "--data", "zz"], "--data is not hex"),
        (["--chain", "ethereum", "--to", "0x00", "--amount", "1", "--prefix", "osmo"], "--prefix applies to cosmos"),
        (["--chain", "solana", "--to", "x", "--amount", "1"], "CHAINSIG_TEST_UNSET_VARIABLE"),  # credentials first
    ],
)
def test_send_rejects_bad_arguments_before_any_network(extra: list[str], message: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SEND, *extra]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err


def test_sign_message_needs_exactly_one_message(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["sign-message", *SEND[1:9], "--path", "p"]
    assert main(base) == 1
    assert "exactly one of --message or --typed-data" in capsys.readouterr().err
    assert main([*base, "--message", "hi", "--typed-data", "x.json"]) == 1
    assert "exactly one" in capsys.readouterr().err
