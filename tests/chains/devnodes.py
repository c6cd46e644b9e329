"""Chain back ends for the chainsig tests: a real anvil (Ethereum dev node from npm), and in-process RPC servers
for chains with no node here — each hands the transaction it receives to that chain's own code: LiteSVM executes
Solana transactions, libbitcoinkernel verifies Bitcoin/Dogecoin spends, xrpl-py decodes and verifies XRP payments,
the Cosmos SIGN_MODE_DIRECT check verifies Cosmos ones. Servers bind 127.0.0.1 port 0 in a background thread, so
synchronous tests, `asyncio.run` and CLI subprocesses can all use them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

HERE = Path(__file__).resolve().parent
ANVIL_NPM_BIN = HERE / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def anvil_binary() -> str | None:
    """$ANVIL_BIN, the npm package's binary (scripts/setup.sh installs tests/chains), or `anvil` on PATH."""
    for candidate in (os.environ.get("ANVIL_BIN"), str(ANVIL_NPM_BIN), shutil.which("anvil")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def rpc_call(url: str, method: str, params: list[Any]) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        data = json.loads(resp.read())
    if data.get("error"):
        raise RuntimeError(f"{method}: {data['error']}")
    return data["result"]


@dataclass
class Anvil:
    url: str
    proc: subprocess.Popen[str]

    def call(self, method: str, *params: Any) -> Any:
        return rpc_call(self.url, method, list(params))

    def set_balance(self, address: str, wei: int) -> None:
        self.call("anvil_setBalance", address, hex(wei))

    def balance(self, address: str) -> int:
        return int(self.call("eth_getBalance", address, "latest"), 16)

    def receipt(self, tx_hash: str, timeout_s: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            receipt = self.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                return dict(receipt)
            time.sleep(0.05)
        raise TimeoutError(f"no receipt for {tx_hash}")


@contextmanager
def running_anvil(binary: str, *extra: str) -> Iterator[Anvil]:
    """anvil on 127.0.0.1 port 0 (auto-mining); the port is read from its "Listening on" line."""
    proc = subprocess.Popen([binary, "--port", "0", "--host", "127.0.0.1", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        url = None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"anvil exited: {''.join(lines)[-2000:]}")
            lines.append(line)
            match = re.search(r"Listening on (\S+:\d+)", line)
            if match:
                url = f"http://{match.group(1)}"
        if url is None:
            raise RuntimeError("anvil did not report its address")
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain the log so anvil never blocks
        node = Anvil(url, proc)
        node.call("eth_chainId")
        yield node
    finally:
        proc.terminate()
        proc.wait(10)


class BackgroundServer:
    """An aiohttp app on 127.0.0.1 port 0, served from its own thread and event loop."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.url = ""
        ready = threading.Event()

        async def start() -> None:
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            port = self.runner.addresses[0][1]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        if not ready.wait(30):
            raise RuntimeError("test server did not start")

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@contextmanager
def serving(app: web.Application) -> Iterator[str]:
    server = BackgroundServer(app)
    try:
        yield server.url
    finally:
        server.close()


# ---- Bitcoin / Dogecoin: Esplora REST and Bitcoin Core JSON-RPC over one UTXO set ---------------------------------


@dataclass
class FakeBitcoinNode:
    """A UTXO set served as Esplora (`/address/:a/utxo`, `/fee-estimates`, `POST /tx`) and as Bitcoin Core JSON-RPC
    (`POST /`: scantxoutset, estimatesmartfee, sendrawtransaction). A broadcast transaction must spend known UTXOs
    and pass libbitcoinkernel's script verification (all consensus flags) against them; then its inputs are spent
    and its outputs added, like a mempool accepting it. A rejection answers HTTP 400 / a JSON-RPC error."""

    fee_rate: float = 2.0  # sat/vB (Esplora); estimatesmartfee reports it in BTC/kvB
    utxos: dict[tuple[str, int], tuple[int, bytes, str]] = field(default_factory=dict)  # -> value, script, address
    received: list[str] = field(default_factory=list)
    rpc_auth: list[str] = field(default_factory=list)  # Authorization headers of JSON-RPC calls

    def fund(self, address: str, script: bytes, values: list[int]) -> None:
        for value in values:
            self.utxos[(os.urandom(32).hex(), 0)] = (value, script, address)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/address/{address}/utxo", self._esplora_utxo)
        app.router.add_get("/fee-estimates", self._esplora_fees)
        app.router.add_post("/tx", self._esplora_tx)
        app.router.add_post("/", self._core_rpc)
        return app

    async def _esplora_utxo(self, request: web.Request) -> web.Response:
        address = request.match_info["address"]
        return web.json_response([{"txid": txid, "vout": vout, "value": value, "status": {"confirmed": True}}
                                  for (txid, vout), (value, _, owner) in self.utxos.items() if owner == address])

    async def _esplora_fees(self, _: web.Request) -> web.Response:
        return web.json_response({"1": self.fee_rate * 2, "6": self.fee_rate, "144": self.fee_rate / 2})

    async def _esplora_tx(self, request: web.Request) -> web.Response:
        try:
            txid = self.accept(bytes.fromhex((await request.text()).strip()))
        except Exception as exc:  # noqa: BLE001 - any rejection becomes the HTTP error a node returns
            return web.Response(status=400, text=f"sendrawtransaction RPC error: {exc}")
        return web.Response(text=txid)

    async def _core_rpc(self, request: web.Request) -> web.Response:
        self.rpc_auth.append(request.headers.get("Authorization", ""))
        body = await request.json()
        method, params = body["method"], body.get("params", [])
        try:
            if method == "scantxoutset":
                scripts = {bytes.fromhex(d[4:-1]) for d in params[1]}  # "raw(<hex>)" descriptors
                result: Any = {"success": True, "unspents": [
                    {"txid": txid, "vout": vout, "scriptPubKey": script.hex(), "amount": value / 1e8}
                    for (txid, vout), (value, script, _) in self.utxos.items() if script in scripts]}
            elif method == "estimatesmartfee":
                result = {"feerate": self.fee_rate * 1000 / 1e8, "blocks": params[0]}
            elif method == "sendrawtransaction":
                result = self.accept(bytes.fromhex(params[0]))
            else:
                raise ValueError(f"Method not found: {method}")
        except Exception as exc:  # noqa: BLE001
            return web.json_response({"result": None, "error": {"code": -26, "message": str(exc)}, "id": body["id"]})
        return web.json_response({"result": result, "error": None, "id": body["id"]})

    def accept(self, raw: bytes) -> str:
        import pbk

        from chainsig.bitcoin import TxOutput, verify_with_bitcoin_kernel

        tx = pbk.Transaction(raw)
        spent = []
        for tx_in in tx.inputs:
            outpoint = (str(tx_in.out_point.txid), int(tx_in.out_point.index))
            if outpoint not in self.utxos:
                raise ValueError(f"bad-txns-inputs-missingorspent {outpoint}")
            spent.append(outpoint)
        verify_with_bitcoin_kernel(raw, [TxOutput(self.utxos[o][0], self.utxos[o][1]) for o in spent])
        txid = str(tx.txid)
        for outpoint in spent:
            del self.utxos[outpoint]
        for index, out in enumerate(tx.outputs):
            self.utxos[(txid, index)] = (int(out.amount), bytes(out.script_pubkey), "")
        self.received.append(raw.hex())
        return txid


# ---- Solana JSON-RPC in front of LiteSVM ----------------------------------------------------------------------


class LiteSvmRpc:
    """`getLatestBlockhash`, `getBalance` and `sendTransaction` served by a LiteSVM bank: a sent transaction is
    executed by the Solana runtime (signature checks, system program, fees) or rejected with its error."""

    def __init__(self) -> None:
        from solders.litesvm import LiteSVM

        self.svm = LiteSVM()
        self.lock = threading.Lock()
        self.executed: list[Any] = []

    def airdrop(self, address: str, lamports: int) -> None:
        from solders.pubkey import Pubkey

        with self.lock:
            result = self.svm.airdrop(Pubkey.from_string(address), lamports)
        if type(result).__name__ != "TransactionMetadata":
            raise RuntimeError(f"airdrop failed: {result}")

    def balance(self, address: str) -> int:
        with self.lock:
            return self._balance(address)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self._rpc)
        return app

    async def _rpc(self, request: web.Request) -> web.Response:
        from solders.transaction import VersionedTransaction

        body = await request.json()
        method, params = body["method"], body.get("params", [])
        with self.lock:
            if method == "getLatestBlockhash":
                result: Any = {"context": {"slot": 1},
                               "value": {"blockhash": str(self.svm.latest_blockhash()), "lastValidBlockHeight": 150}}
            elif method == "getBalance":
                result = {"context": {"slot": 1}, "value": self._balance(params[0])}
            elif method == "sendTransaction":
                tx = VersionedTransaction.from_bytes(base64.b64decode(params[0]))
                outcome = self.svm.send_transaction(tx)
                if type(outcome).__name__ != "TransactionMetadata":
                    return web.json_response({"jsonrpc": "2.0", "id": body.get("id"),
                                              "error": {"code": -32002, "message": f"Transaction failed: {outcome}"}})
                self.executed.append(outcome)
                result = str(tx.signatures[0])
            else:
                return web.json_response({"jsonrpc": "2.0", "id": body.get("id"),
                                          "error": {"code": -32601, "message": f"method {method} not found"}})
        return web.json_response({"jsonrpc": "2.0", "id": body.get("id"), "result": result})

    def _balance(self, address: str) -> int:
        from solders.pubkey import Pubkey

        return int(self.svm.get_balance(Pubkey.from_string(address)) or 0)


# ---- rippled JSON-RPC ----------------------------------------------------------------------------------------


@dataclass
class FakeRippled:
    """account_info / fee / ledger_current / submit. `submit` decodes the blob with xrpl-py's binary codec and
    verifies its signature with xrpl-py's keypairs over the signing encoding, as rippled does before applying."""

    sequences: dict[str, int] = field(default_factory=dict)
    ledger: int = 1000
    received: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self._rpc)
        return app

    async def _rpc(self, request: web.Request) -> web.Response:
        from xrpl.core import binarycodec, keypairs

        body = await request.json()
        method, params = body["method"], (body.get("params") or [{}])[0]
        if method == "account_info":
            if params["account"] not in self.sequences:
                result: dict[str, Any] = {"status": "error", "error": "actNotFound",
                                          "error_message": "Account not found."}
            else:
                result = {"status": "success", "account_data": {"Account": params["account"],
                                                                "Sequence": self.sequences[params["account"]]}}
        elif method == "ledger_current":
            result = {"status": "success", "ledger_current_index": self.ledger}
        elif method == "fee":
            result = {"status": "success", "drops": {"base_fee": "10", "median_fee": "5000", "minimum_fee": "10",
                                                     "open_ledger_fee": "12"}}
        elif method == "submit":
            tx = binarycodec.decode(params["tx_blob"])
            signature = tx.pop("TxnSignature")
            ok = keypairs.is_valid_message(bytes.fromhex(binarycodec.encode_for_signing(tx)),
                                           bytes.fromhex(signature), tx["SigningPubKey"])
            ok = ok and keypairs.derive_classic_address(tx["SigningPubKey"]) == tx["Account"]
            ok = ok and tx.get("Sequence") == self.sequences.get(tx["Account"])
            if ok:
                self.received.append({**tx, "TxnSignature": signature})
                self.sequences[tx["Account"]] += 1
            import hashlib

            tx_hash = hashlib.sha512(b"TXN\x00" + bytes.fromhex(params["tx_blob"])).digest()[:32].hex().upper()
            result = {"status": "success", "engine_result": "tesSUCCESS" if ok else "tefBAD_SIGNATURE",
                      "engine_result_message": "applied" if ok else "signature or sequence invalid",
                      "tx_json": {**tx, "hash": tx_hash}}
        else:
            result = {"status": "error", "error": "unknownCmd"}
        return web.json_response({"result": result})


# ---- Cosmos REST (LCD) ---------------------------------------------------------------------------------------


@dataclass
class FakeCosmosRest:
    """auth account, node_info and tx broadcast; a broadcast transaction passes the SIGN_MODE_DIRECT signature
    check (`verify_direct_signature`: protobuf-decoded AuthInfo key, SignDoc rebuilt, python-ecdsa, low s) and the
    signer's sequence, then bumps the sequence, as the ante handler does."""

    chain_id: str = "cosmoshub-test"
    accounts: dict[str, tuple[int, int]] = field(default_factory=dict)  # address -> (account_number, sequence)
    received: list[bytes] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cosmos/auth/v1beta1/accounts/{address}", self._account)
        app.router.add_get("/cosmos/base/tendermint/v1beta1/node_info", self._node)
        app.router.add_post("/cosmos/tx/v1beta1/txs", self._broadcast)
        return app

    async def _account(self, request: web.Request) -> web.Response:
        address = request.match_info["address"]
        if address not in self.accounts:
            return web.json_response({"code": 5, "message": f"account {address} not found"}, status=404)
        number, sequence = self.accounts[address]
        return web.json_response({"account": {"@type": "/cosmos.auth.v1beta1.BaseAccount", "address": address,
                                              "account_number": str(number), "sequence": str(sequence)}})

    async def _node(self, _: web.Request) -> web.Response:
        return web.json_response({"default_node_info": {"network": self.chain_id}})

    async def _broadcast(self, request: web.Request) -> web.Response:
        import hashlib

        from chainsig.addresses import hash160
        from chainsig.chains.cosmos import verify_direct_signature

        body = await request.json()
        raw = base64.b64decode(body["tx_bytes"])
        code, log = 0, ""
        sender = next((a for a in self.accounts if _cosmos_key_matches(raw, a)), None)
        if sender is None:
            code, log = 9, "unknown signer"
        else:
            number, sequence = self.accounts[sender]
            try:
                key = verify_direct_signature(raw, self.chain_id, number)
                assert hash160(key) == _bech32_payload(sender)
                if _signer_sequence(raw) != sequence:
                    code, log = 32, "account sequence mismatch"
            except Exception as exc:  # noqa: BLE001
                code, log = 4, f"signature verification failed: {exc}"
        if code == 0 and sender is not None:
            self.received.append(raw)
            number, sequence = self.accounts[sender]
            self.accounts[sender] = (number, sequence + 1)
        return web.json_response({"tx_response": {"txhash": hashlib.sha256(raw).hexdigest().upper(), "code": code,
                                                  "raw_log": log}})


def _bech32_payload(address: str) -> bytes:
    import bech32

    _, data = bech32.bech32_decode(address)
    return bytes(bech32.convertbits(data or [], 5, 8, False) or [])


def _auth_info(raw: bytes) -> Any:
    from cosmospy_protobuf.cosmos.tx.v1beta1 import tx_pb2

    return tx_pb2.AuthInfo.FromString(tx_pb2.TxRaw.FromString(raw).auth_info_bytes)


def _cosmos_key_matches(raw: bytes, address: str) -> bool:
    from cosmospy_protobuf.cosmos.crypto.secp256k1 import keys_pb2

    from chainsig.addresses import hash160

    infos = _auth_info(raw).signer_infos
    return bool(infos) and hash160(keys_pb2.PubKey.FromString(infos[0].public_key.value).key) == _bech32_payload(address)


def _signer_sequence(raw: bytes) -> int:
    return int(_auth_info(raw).signer_infos[0].sequence)
