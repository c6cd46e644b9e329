"""The Bitcoin family as parameter sets of one adapter: `bitcoin`, `bitcoin-testnet`, `bitcoin-regtest` (P2WPKH,
BIP-143) and `dogecoin` (P2PKH, legacy sighash).

UTXOs, fee rates and broadcasting come from an Esplora-style REST API (`GET /address/:a/utxo`, `GET /fee-estimates`,
`POST /tx`) or, when the URL starts with `core+` (`core+http://user:pass@127.0.0.1:8332`), a Bitcoin Core JSON-RPC
(`scantxoutset`, `estimatesmartfee`, `sendrawtransaction`; Dogecoin Core 1.14 lacks `scantxoutset`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import base58

from chainsig.addresses import BitcoinNetwork, bitcoin_p2wpkh_address, hash160
from chainsig.bitcoin import (
    OutPoint,
    P2pkhInput,
    P2pkhSpend,
    P2wpkhInput,
    P2wpkhSpend,
    TxOutput,
    base58_script_pubkey,
    segwit_script_pubkey,
)
from chainsig.chains import register
from chainsig.chains.base import Curve, SignedTransaction, TransferRequest, ecdsa_signatures, to_base_units
from chainsig.chains.http import get_json, json_rpc, post
from chainsig.errors import ChainRpcError, TransactionError
from chainsig.keys import PublicKey, Secp256k1PublicKey
from chainsig.signatures import Signature

__all__ = [
    "BITCOIN",
    "BITCOIN_REGTEST",
    "BITCOIN_TESTNET",
    "DOGECOIN",
    "BitcoinFamilyChain",
    "UnsignedBitcoinTransaction",
    "Utxo",
    "select_coins",
]

_CORE_PREFIX = "core+"


@dataclass(frozen=True)
class Utxo:
    txid: str
    vout: int
    value_sat: int


@dataclass(frozen=True)
class UnsignedBitcoinTransaction:
    """A P2WPKH or P2PKH spend of the sender's UTXOs: one payload (sighash) per input."""

    spend: P2wpkhSpend | P2pkhSpend
    chain: str

    @property
    def curve(self) -> Curve:
        return Curve.SECP256K1

    @property
    def spent_outputs(self) -> tuple[TxOutput, ...]:
        return self.spend.spent_outputs

    def payloads(self) -> tuple[bytes, ...]:
        return self.spend.hashes_to_sign()

    def attach(self, signatures: Sequence[Signature]) -> SignedTransaction:
        sigs = ecdsa_signatures(signatures, len(self.spend.inputs))
        signed = self.spend.attach_signatures(sigs)
        return SignedTransaction(self.chain, signed.raw, signed.txid, signed.raw_hex)


@dataclass(frozen=True)
class BitcoinFamilyChain:
    """One network of the Bitcoin family. `segwit_hrp` set: the sender's address is P2WPKH; else P2PKH."""

    name: str
    unit: str
    segwit_hrp: str | None
    p2pkh_version: int
    p2sh_version: int
    dust_sat: int  # change below this is left to the fee
    min_fee_rate: Decimal  # base units per vbyte, the floor under any estimate
    tx_version: int
    curve: Curve = Curve.SECP256K1

    def address(self, key: PublicKey) -> str:
        self.curve.check_key(key, self.name)
        assert isinstance(key, Secp256k1PublicKey)
        if self.segwit_hrp is not None:
            return bitcoin_p2wpkh_address(key, BitcoinNetwork(self.segwit_hrp))
        return base58.b58encode_check(bytes([self.p2pkh_version]) + hash160(key.compressed)).decode()

    def script_pubkey(self, address: str) -> bytes:
        """The output script paying `address` (segwit bech32/bech32m where the chain has segwit, or base58)."""
        if self.segwit_hrp is not None and address.lower().startswith(self.segwit_hrp + "1"):
            return segwit_script_pubkey(address, BitcoinNetwork(self.segwit_hrp))
        try:
            return base58_script_pubkey(address, self.p2pkh_version, self.p2sh_version)
        except TransactionError as exc:
            raise TransactionError(f"not a {self.name} address: {exc}") from None

    async def build_transfer(self, rpc_url: str, request: TransferRequest) -> UnsignedBitcoinTransaction:
        """Select UTXOs (largest first) for amount + fee, pay `to`, return change above dust to the sender.
        `fee_rate` (sat/vB, koinu/B) overrides the backend's estimate."""
        key = request.sender
        sender = self.address(key)
        assert isinstance(key, Secp256k1PublicKey)
        amount = to_base_units(request.amount, 8, self.unit)
        if amount < self.dust_sat:
            raise TransactionError(f"{request.amount} {self.unit} is below the dust limit")
        payee = TxOutput(amount, self.script_pubkey(request.to))
        backend = _backend(rpc_url)
        fee_rate = request.options.fee_rate
        if fee_rate is None:
            fee_rate = max(await backend.fee_rate(), self.min_fee_rate)
        utxos = await backend.utxos(sender, self.script_pubkey(sender))
        change_script = self.script_pubkey(sender)
        chosen, fee = select_coins(utxos, amount, fee_rate, self._vsize, (payee.script_pubkey, change_script))
        change = sum(u.value_sat for u in chosen) - amount - fee
        outputs = [payee]
        if change >= self.dust_sat:
            outputs.append(TxOutput(change, change_script))
        if self.segwit_hrp is not None:
            ins_w = tuple(P2wpkhInput(OutPoint(u.txid, u.vout), u.value_sat, key) for u in chosen)
            return UnsignedBitcoinTransaction(P2wpkhSpend(ins_w, tuple(outputs), self.tx_version), self.name)
        ins_l = tuple(P2pkhInput(OutPoint(u.txid, u.vout), u.value_sat, key) for u in chosen)
        return UnsignedBitcoinTransaction(P2pkhSpend(ins_l, tuple(outputs), self.tx_version), self.name)

    def _vsize(self, inputs: int, output_scripts: Sequence[bytes]) -> int:
        """Virtual size upper bound: 72-byte DER signatures, compressed keys."""
        outputs = sum(8 + 1 + len(script) for script in output_scripts)
        if self.segwit_hrp is not None:  # 41 base + 109/4 witness bytes per input, 10.5 vB overhead with marker/flag
            return math.ceil(10.5 + 68.25 * inputs + outputs)
        return 10 + 149 * inputs + outputs

    async def broadcast(self, rpc_url: str, signed: SignedTransaction) -> str:
        return await _backend(rpc_url).broadcast(signed.wire)


def select_coins(utxos: Sequence[Utxo], amount: int, fee_rate: Decimal, vsize: Any,
                 scripts: tuple[bytes, bytes]) -> tuple[list[Utxo], int]:
    """Largest-first selection: the fewest big UTXOs covering `amount` plus the fee of a transaction with a payee
    and a change output. Returns (chosen, fee); `TransactionError` when the balance does not cover it."""
    chosen: list[Utxo] = []
    total = 0
    fee = 0
    for utxo in sorted(utxos, key=lambda u: u.value_sat, reverse=True):
        chosen.append(utxo)
        total += utxo.value_sat
        fee = math.ceil(fee_rate * vsize(len(chosen), scripts))
        if total >= amount + fee:
            return chosen, fee
    raise TransactionError(f"insufficient funds: {total} available in {len(utxos)} UTXO(s), "
                           f"{amount} + fee {fee} needed")


class _Backend(Protocol):
    async def utxos(self, address: str, script: bytes) -> list[Utxo]: ...
    async def fee_rate(self) -> Decimal: ...
    async def broadcast(self, raw_hex: str) -> str: ...


def _backend(url: str) -> _Backend:
    if url.startswith(_CORE_PREFIX):
        return _CoreRpc(url[len(_CORE_PREFIX):])
    return _Esplora(url.rstrip("/"))


@dataclass(frozen=True)
class _Esplora:
    base: str

    async def utxos(self, address: str, script: bytes) -> list[Utxo]:
        data = await get_json(f"{self.base}/address/{address}/utxo")
        try:
            return [Utxo(u["txid"], int(u["vout"]), int(u["value"])) for u in data]
        except (KeyError, TypeError, ValueError) as exc:
            raise ChainRpcError(f"unexpected Esplora UTXO list: {data!r:.300}") from exc

    async def fee_rate(self) -> Decimal:
        data = await get_json(f"{self.base}/fee-estimates")
        if not isinstance(data, dict) or not data:
            raise ChainRpcError(f"unexpected Esplora fee estimates: {data!r:.300}")
        target = "6" if "6" in data else min(data, key=lambda k: abs(int(k) - 6))
        return Decimal(str(data[target]))

    async def broadcast(self, raw_hex: str) -> str:
        answer = await post(f"{self.base}/tx", text=raw_hex)
        return str(answer).strip()


@dataclass(frozen=True)
class _CoreRpc:
    url: str

    async def utxos(self, address: str, script: bytes) -> list[Utxo]:
        result = await json_rpc(self.url, "scantxoutset", ["start", [f"raw({script.hex()})"]])
        try:
            return [Utxo(u["txid"], int(u["vout"]), to_base_units(Decimal(str(u["amount"])), 8, "coin"))
                    for u in result["unspents"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ChainRpcError(f"unexpected scantxoutset result: {result!r:.300}") from exc

    async def fee_rate(self) -> Decimal:
        result = await json_rpc(self.url, "estimatesmartfee", [6])
        if not isinstance(result, dict) or "feerate" not in result:
            return Decimal(0)  # no estimate yet (a fresh regtest chain): the chain's floor applies
        return Decimal(str(result["feerate"])) * 100_000_000 / 1000  # coin/kvB → base units/vB

    async def broadcast(self, raw_hex: str) -> str:
        return str(await json_rpc(self.url, "sendrawtransaction", [raw_hex]))


BITCOIN = register(BitcoinFamilyChain("bitcoin", "BTC", "bc", 0x00, 0x05, 546, Decimal(1), 2))
BITCOIN_TESTNET = register(BitcoinFamilyChain("bitcoin-testnet", "tBTC", "tb", 0x6F, 0xC4, 546, Decimal(1), 2))
BITCOIN_REGTEST = register(BitcoinFamilyChain("bitcoin-regtest", "BTC", "bcrt", 0x6F, 0xC4, 546, Decimal(1), 2))
# Dogecoin Core 1.14: P2PKH version 0x1e ("D…"), P2SH 0x16, soft dust limit 0.01 DOGE, recommended 0.01 DOGE/kB.
DOGECOIN = register(BitcoinFamilyChain("dogecoin", "DOGE", None, 0x1E, 0x16, 1_000_000, Decimal(1000), 1))
