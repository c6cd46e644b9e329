"""chainsig/ckd.py against a simulated network: a dealer shares msk over BLS12-381 G2 among 3 parties (t = 2), two of
them run the node's CKD protocol (mpc_service/protocol/ckd.py) in memory on the request's JSON arguments, and the
contract's public check passes before the answer goes back as JSON. Then the key, AES-256-GCM, key files and CLI."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import base58
import pytest

import chainsig.ckd as ckd_module
from chainsig.ckd import (
    CIPHERTEXT_VERSION,
    AppPublicKey,
    AppSecret,
    CkdOutput,
    CkdRequest,
    CkdRequesterKey,
    SymmetricKey,
    decrypt,
    decrypt_app_secret,
    encrypt,
    format_bls_key,
    hash_app_id,
    parse_g1,
    parse_g2,
    read_key_file,
    request_app_secret,
    verify_ckd_output,
    write_key_file,
)
from chainsig.cli import main
from chainsig.credentials import NearCredentials, NearSecretKey
from chainsig.errors import CkdError, CkdVerificationError, ContractFailureError, DecryptionError
from chainsig.kdf import derive_app_id
from chainsig.redacted import SecretBytes
from chainsig.types import DomainId
from mpc_service.protocol import KeygenOutput, ParticipantId, run_protocols
from mpc_service.protocol.ckd import ckd
from mpc_service.protocol.groups import BLS12381_G1, BLS12381_G2
from mpc_service.protocol.polynomial import Polynomial
from mpc_service.protocol.secret import SecretScalar as NodeSecret

ALICE, BOB, GATE = "alice.test.near", "bob.test.near", "gate.test.near"
PARTIES = (ParticipantId(0), ParticipantId(1), ParticipantId(2))


class DealtNetwork:
    """msk dealt with a degree-1 polynomial to three parties (any two reconstruct it); answers CKD requests."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        self.msk = BLS12381_G2.random_scalar(rng)
        poly = Polynomial.random(BLS12381_G2, 1, rng, constant=self.msk)
        self.mvk = bytes(BLS12381_G2.base_mul(self.msk))
        self.shares = {
            p: KeygenOutput(BLS12381_G2, p, NodeSecret(poly.share_for(p)), BLS12381_G2.base_mul(self.msk), PARTIES, 2,
                            poly.commit())
            for p in PARTIES
        }
        self.rng = rng

    def answer(self, args_json: str, predecessor: str, session: tuple[ParticipantId, ...] = PARTIES[:2]) -> str:
        """What the contract returns for `request_app_private_key(args)` called by `predecessor` (JSON in, JSON out)."""
        request = json.loads(args_json)["request"]
        app_key = AppPublicKey.from_json(request["app_public_key"])
        assert app_key.is_consistent()
        app_id = derive_app_id(predecessor, request["derivation_path"])
        results = run_protocols(
            {p: ckd(self.shares[p], session, session[0], app_id, BLS12381_G1.decode_point(app_key.pk1), self.rng)
             for p in session}
        )
        output = results[session[0]]
        assert output is not None
        assert verify_ckd_output(output, app_key.pk2, self.mvk, app_id)  # the contract's pk2 check
        return json.dumps(output.to_json())

    def expected_secret(self, account: str, path: str) -> bytes:
        return bytes(BLS12381_G1.mul(BLS12381_G1.decode_point(hash_app_id(self.mvk, derive_app_id(account, path))),
                                     self.msk))


@pytest.fixture(scope="module")
def network() -> DealtNetwork:
    return DealtNetwork(seed=2024)


def _derive(network: DealtNetwork, account: str, path: str, seed: int,
            session: tuple[ParticipantId, ...] = PARTIES[:2]) -> tuple[AppSecret, CkdOutput]:
    requester = CkdRequesterKey.generate(random.Random(seed))
    args = json.dumps(CkdRequest(path, requester.app_public_key, DomainId(2)).to_args())
    output = CkdOutput.from_json(json.loads(network.answer(args, account, session)))
    return decrypt_app_secret(output, requester, network.mvk, account, path), output


# ---- the scheme ---------------------------------------------------------------------------------------------------


def test_app_id_is_the_pinned_sha3() -> None:
    expected = hashlib.sha3_256(b"near-mpc v0.1.0 app_id derivation:" + ALICE.encode() + b"," + b"notes").digest()
    assert derive_app_id(ALICE, "notes") == expected
    assert derive_app_id(ALICE, "notes2") != expected


def test_request_args_have_the_contract_shape() -> None:
    requester = CkdRequesterKey.generate(random.Random(1))
    args = CkdRequest("notes", requester.app_public_key, DomainId(7)).to_args()
    request = args["request"]
    assert set(args) == {"request"} and set(request) == {"derivation_path", "app_public_key", "domain_id"}
    assert request["derivation_path"] == "notes" and request["domain_id"] == 7
    pk1, pk2 = request["app_public_key"]["pk1"], request["app_public_key"]["pk2"]
    assert pk1.startswith("bls12381g1:") and len(base58.b58decode(pk1.split(":")[1])) == 48
    assert pk2.startswith("bls12381g2:") and len(base58.b58decode(pk2.split(":")[1])) == 96
    a = requester.secret.as_int()
    assert base58.b58decode(pk1.split(":")[1]) == BLS12381_G1.base_mul(a)
    assert base58.b58decode(pk2.split(":")[1]) == BLS12381_G2.base_mul(a)
    assert AppPublicKey.from_json(request["app_public_key"]) == requester.app_public_key
    mismatched = AppPublicKey(requester.public_key, CkdRequesterKey.generate(random.Random(2)).public_key_g2)
    assert requester.app_public_key.is_consistent() and not mismatched.is_consistent()


def test_decrypt_and_verify_give_msk_times_h(network: DealtNetwork) -> None:
    secret, _ = _derive(network, ALICE, "notes", seed=10)
    assert secret.secret.reveal() == network.expected_secret(ALICE, "notes")
    assert secret.app_id == derive_app_id(ALICE, "notes") and secret.master_public_key == network.mvk


def test_same_app_same_secret_across_requests_and_sessions(network: DealtNetwork) -> None:
    first, out1 = _derive(network, ALICE, "notes", seed=11, session=(PARTIES[0], PARTIES[1]))
    second, out2 = _derive(network, ALICE, "notes", seed=12, session=(PARTIES[2], PARTIES[0]))
    assert (out1.big_y, out1.big_c) != (out2.big_y, out2.big_c)  # what the chain sees differs per request
    assert first.secret == second.secret
    assert first.symmetric_key().key == second.symmetric_key().key


@pytest.mark.parametrize(("account", "path"), [(ALICE, "notes-2"), (BOB, "notes"), (ALICE, "")])
def test_other_app_other_secret(network: DealtNetwork, account: str, path: str) -> None:
    base, _ = _derive(network, ALICE, "notes", seed=13)
    other, _ = _derive(network, account, path, seed=14)
    assert other.secret != base.secret
    assert other.symmetric_key().key != base.symmetric_key().key


def test_tampered_big_c_fails_verification(network: DealtNetwork) -> None:
    requester = CkdRequesterKey.generate(random.Random(20))
    args = json.dumps(CkdRequest("notes", requester.app_public_key).to_args())
    output = CkdOutput.from_json(json.loads(network.answer(args, ALICE)))
    tampered = CkdOutput(output.big_y, bytes(BLS12381_G1.add(BLS12381_G1.decode_point(output.big_c),
                                                             BLS12381_G1.generator)))
    with pytest.raises(CkdVerificationError, match="does not decrypt to a valid app secret"):
        decrypt_app_secret(tampered, requester, network.mvk, ALICE, "notes")
    assert not verify_ckd_output(tampered, requester.public_key_g2, network.mvk, derive_app_id(ALICE, "notes"))
    # The genuine answer opened for another app, under another master key, or with another one-time key fails too.
    with pytest.raises(CkdVerificationError):
        decrypt_app_secret(output, requester, network.mvk, BOB, "notes")
    with pytest.raises(CkdVerificationError):
        decrypt_app_secret(output, requester, bytes(BLS12381_G2.base_mul(5)), ALICE, "notes")
    with pytest.raises(CkdVerificationError):
        decrypt_app_secret(output, CkdRequesterKey.generate(random.Random(21)), network.mvk, ALICE, "notes")
    assert decrypt_app_secret(output, requester, network.mvk, ALICE, "notes").secret.reveal() == (
        network.expected_secret(ALICE, "notes"))


def test_secrets_never_print(network: DealtNetwork) -> None:
    requester = CkdRequesterKey.generate(random.Random(30))
    secret, _ = _derive(network, ALICE, "notes", seed=31)
    key = secret.symmetric_key()
    for obj, raw in ((requester, requester.secret.reveal()), (secret, secret.secret.reveal()), (key, key.key.reveal())):
        text = repr(obj) + str(obj)
        assert "redacted" in text
        assert raw.hex() not in text and str(int.from_bytes(raw, "big")) not in text


def _hkdf_sha256(ikm: bytes, info: bytes) -> bytes:
    """RFC 5869 with an empty salt, written out with hmac: an independent check of the library call."""
    prk = hmac.new(bytes(32), ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def test_symmetric_key_is_hkdf_of_the_secret(network: DealtNetwork) -> None:
    secret, _ = _derive(network, ALICE, "notes", seed=40)
    key = secret.symmetric_key()
    info = b"chainsig ckd v1 key:aes-256-gcm:" + derive_app_id(ALICE, "notes")
    assert key.key.reveal() == _hkdf_sha256(network.expected_secret(ALICE, "notes"), info)
    assert secret.symmetric_key("mac").key != key.key
    assert (key.account_id, key.path, key.label) == (ALICE, "notes", "aes-256-gcm")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bls12381g2:" + base58.b58encode(BLS12381_G1.generator).decode(), "start with"),
        ("bls12381g1:0OIl", "base58"),
        ("bls12381g1:" + base58.b58encode(bytes(47)).decode(), "48-byte"),
        ("bls12381g1:" + base58.b58encode(BLS12381_G1.identity).decode(), "identity"),
        ("bls12381g1:" + base58.b58encode(b"\x80" + bytes(47)).decode(), "not a BLS12-381 G1 point"),
        (42, "must be a"),
    ],
)
def test_malformed_points_are_refused(text: object, message: str) -> None:
    with pytest.raises(CkdError, match=message):
        parse_g1(text, "big_y")


def test_point_strings_round_trip() -> None:
    g2 = bytes(BLS12381_G2.base_mul(9))
    assert parse_g2(format_bls_key(g2)) == g2
    assert parse_g1(format_bls_key(BLS12381_G1.generator)) == BLS12381_G1.generator
    with pytest.raises(CkdError, match="big_c"):
        CkdOutput.from_json({"big_y": format_bls_key(BLS12381_G1.generator)})


# ---- AES-256-GCM ---------------------------------------------------------------------------------------------------


def _key(seed: int) -> SymmetricKey:
    raw = random.Random(seed).randbytes(32)
    return SymmetricKey(SecretBytes(raw), ALICE, "notes", derive_app_id(ALICE, "notes"), bytes(BLS12381_G2.generator))


def test_encrypt_decrypt_round_trip_and_format() -> None:
    key = _key(1)
    blob = encrypt(key, b"attack at dawn", aad=b"ctx")
    assert blob[:4] == b"CKD" + bytes([CIPHERTEXT_VERSION]) and len(blob) == 4 + 12 + 14 + 16
    assert decrypt(key, blob, aad=b"ctx") == b"attack at dawn"
    assert encrypt(key, b"attack at dawn", aad=b"ctx") != blob  # a fresh nonce each time
    assert decrypt(key.key, encrypt(key.key.reveal(), b"")) == b""


def test_wrong_key_aad_or_any_altered_byte_fails() -> None:
    key = _key(2)
    blob = encrypt(key, b"secret notes", aad=b"ctx")
    with pytest.raises(DecryptionError, match="wrong key"):
        decrypt(_key(3), blob, aad=b"ctx")
    with pytest.raises(DecryptionError):
        decrypt(key, blob, aad=b"other")
    for i in range(len(blob)):
        altered = bytearray(blob)
        altered[i] ^= 0x01
        with pytest.raises(CkdError):  # header bytes: CkdError; nonce, ciphertext, tag: DecryptionError
            decrypt(key, bytes(altered), aad=b"ctx")
    with pytest.raises(CkdError, match="version"):
        decrypt(key, b"CKD\x02" + blob[4:], aad=b"ctx")
    with pytest.raises(CkdError, match="truncated"):
        decrypt(key, blob[:20], aad=b"ctx")
    with pytest.raises(CkdError, match="32 bytes"):
        encrypt(b"short", b"x")


def test_key_file_round_trip(tmp_path: Path) -> None:
    key = _key(4)
    path = tmp_path / "app.key"
    write_key_file(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_file(path) == key
    with pytest.raises(CkdError, match="exists"):
        write_key_file(path, _key(5))
    write_key_file(path, _key(5), overwrite=True)
    assert read_key_file(path).key == _key(5).key
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "key": "zz"}))
    with pytest.raises(CkdError, match="malformed") as info:
        read_key_file(path)
    assert record["key"] not in str(info.value)
    with pytest.raises(CkdError, match="not a JSON key file"):
        read_key_file(Path(__file__))
    path.write_text(json.dumps({"account_id": ALICE}))
    with pytest.raises(CkdError, match="not a chainsig CKD key file"):
        read_key_file(path)


# ---- through the contract (the transaction replaced by the simulated network) --------------------------------------


def _credentials(account: str = ALICE) -> NearCredentials:
    seed = hashlib.sha256(account.encode()).digest()
    return NearCredentials(account, NearSecretKey("ed25519:" + base58.b58encode(seed).decode()))


def _fake_chain(network: DealtNetwork, monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]],
                *, result: str | None = None) -> None:
    async def call_and_wait(rpc_url: str, contract_id: str, credentials: NearCredentials, method: str,
                            args: dict[str, Any], **kw: Any) -> tuple[object, str | None]:
        calls.append({"contract": contract_id, "method": method, "args": args, "deposit": kw["deposit_yocto"]})
        # A gate contract calls the signer itself, so the signer's predecessor is the gate, not the user.
        predecessor = contract_id if contract_id == GATE else credentials.account_id
        answer = result if result is not None else network.answer(json.dumps(args), predecessor)
        return {"SuccessValue": base64.b64encode(answer.encode()).decode()}, "tx-hash"

    monkeypatch.setattr(ckd_module, "call_and_wait", call_and_wait)


def test_request_app_secret_end_to_end(network: DealtNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    _fake_chain(network, monkeypatch, calls)
    result = asyncio.run(request_app_secret("http://rpc", "v1.signer.test.near", _credentials(), "notes",
                                            master_public_key=network.mvk))
    assert result.secret.secret.reveal() == network.expected_secret(ALICE, "notes")
    assert result.transaction_hash == "tx-hash" and result.domain_id == 2
    assert [c["method"] for c in calls] == ["request_app_private_key"] and calls[0]["deposit"] == 1
    again = asyncio.run(request_app_secret("http://rpc", "v1.signer.test.near", _credentials(), "notes",
                                           master_public_key=network.mvk))
    assert calls[0]["args"]["request"]["app_public_key"] != calls[1]["args"]["request"]["app_public_key"]  # fresh a
    assert again.secret.secret == result.secret.secret


def test_request_through_a_gate_contract(network: DealtNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gate (e.g. for token holders) forwards the request: the app is (gate, path), the same for every holder."""
    calls: list[dict[str, Any]] = []
    _fake_chain(network, monkeypatch, calls)
    results = [asyncio.run(request_app_secret("http://rpc", "v1.signer.test.near", _credentials(user), "vault",
                                              master_public_key=network.mvk, via_contract=GATE, method="get_key"))
               for user in (ALICE, BOB)]
    assert [(c["contract"], c["method"]) for c in calls] == [(GATE, "get_key")] * 2
    assert results[0].secret.account_id == GATE
    assert results[0].secret.secret == results[1].secret.secret
    assert results[0].secret.secret.reveal() == network.expected_secret(GATE, "vault") != network.expected_secret(
        ALICE, "vault")


def test_request_app_secret_reports_bad_answers(network: DealtNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = json.dumps({"big_y": format_bls_key(BLS12381_G1.generator), "big_c": format_bls_key(BLS12381_G1.generator)})
    _fake_chain(network, monkeypatch, [], result=wrong)
    with pytest.raises(CkdVerificationError):
        asyncio.run(request_app_secret("http://rpc", "signer.near", _credentials(), "p", master_public_key=network.mvk))
    _fake_chain(network, monkeypatch, [], result='"not an object"')
    with pytest.raises(CkdError, match="not a CKD response"):
        asyncio.run(request_app_secret("http://rpc", "signer.near", _credentials(), "p", master_public_key=network.mvk))

    async def failing(*_: Any, **__: Any) -> tuple[object, str | None]:
        return {"Failure": {"ActionError": {"kind": {"FunctionCallError": {"ExecutionError": "Smart contract "
                "panicked: only token holders may derive this key"}}}}}, None

    monkeypatch.setattr(ckd_module, "call_and_wait", failing)
    with pytest.raises(ContractFailureError, match="only token holders"):
        asyncio.run(request_app_secret("http://rpc", "signer.near", _credentials(), "p", master_public_key=network.mvk))


# ---- CLI -----------------------------------------------------------------------------------------------------------

CKD = ["ckd", "--rpc", "http://127.0.0.1:9", "--contract", "v1.signer.test.near", "--account", ALICE,
       "--key", "CHAINSIG_TEST_CKD_KEY", "--path", "notes"]


def test_cli_ckd_writes_the_key_and_prints_no_secret(network: DealtNetwork, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CHAINSIG_TEST_CKD_KEY", _credentials().secret_key.reveal())
    _fake_chain(network, monkeypatch, [])
    out = tmp_path / "notes.key"
    argv = [*CKD, "--master-key", format_bls_key(network.mvk), "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    key = read_key_file(out)
    assert f"app_id: {derive_app_id(ALICE, 'notes').hex()}" in printed and f"app_account_id: {ALICE}" in printed and f"key_file: {out}" in printed
    assert key.key.reveal().hex() not in printed
    assert network.expected_secret(ALICE, "notes").hex() not in printed
    assert main(argv) == 1  # the key file is not replaced without --force
    assert "exists" in capsys.readouterr().err
    assert main([*argv, "--force", "--print-secret", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["key"] == read_key_file(out).key.reveal().hex() == key.key.reveal().hex()
    assert report["app_secret"] == network.expected_secret(ALICE, "notes").hex()


def test_cli_ckd_refuses_to_derive_a_key_it_would_throw_away(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(CKD) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "--out" in captured.err


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chainsig", *argv], capture_output=True, text=True, timeout=60,
                          check=False)


def test_cli_encrypt_decrypt_files(tmp_path: Path) -> None:
    key_file, other_key = tmp_path / "a.key", tmp_path / "b.key"
    write_key_file(key_file, _key(6))
    write_key_file(other_key, _key(7))
    plain, sealed, opened = tmp_path / "notes.txt", tmp_path / "notes.ckd", tmp_path / "notes.out"
    plain.write_bytes(b"only holders may read this\n" * 100)
    done = _run("encrypt", "--key", str(key_file), "--in", str(plain), "--out", str(sealed), "--aad", "v1")
    assert done.returncode == 0, done.stderr
    assert sealed.read_bytes()[:3] == b"CKD" and b"holders" not in sealed.read_bytes()
    done = _run("decrypt", "--key", str(key_file), "--in", str(sealed), "--out", str(opened), "--aad", "v1")
    assert done.returncode == 0, done.stderr
    assert opened.read_bytes() == plain.read_bytes()

    refused = tmp_path / "refused.out"
    for argv in (["--key", str(other_key)], ["--key", str(key_file), "--aad", "v2"]):
        done = _run("decrypt", *argv, "--in", str(sealed), "--out", str(refused))
        assert done.returncode == 1 and "decryption failed" in done.stderr
        assert not refused.exists()
    done = _run("decrypt", "--key", str(tmp_path / "missing.key"), "--in", str(sealed), "--out", str(refused))
    assert done.returncode == 1 and "cannot read the key file" in done.stderr
