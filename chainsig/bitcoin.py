"""Bitcoin P2WPKH spends (and legacy P2PKH ones, as Dogecoin uses) signed by the MPC network: build → hashes to sign
(BIP-143 or legacy, one per input) → attach signatures (witnesses or scriptSigs) → raw transaction.

Written here rather than with a wallet library because the flow is "hashes out, signatures in" with no key held
locally, which the wallet libraries do not expose as such; the serializer is small and every test verifies the
result with Bitcoin Core's own consensus code (libbitcoinkernel via py-bitcoinkernel).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import base58
import bech32

from chainsig.addresses import BitcoinNetwork, hash160, p2wpkh_script_pubkey
from chainsig.errors import TransactionError
from chainsig.keys import Secp256k1PublicKey
from chainsig.signatures import EcdsaSignature

__all__ = [
    "SIGHASH_ALL",
    "OutPoint",
    "P2pkhInput",
    "P2pkhSpend",
    "P2wpkhInput",
    "P2wpkhSpend",
    "SignedBitcoinTransaction",
    "TxOutput",
    "base58_script_pubkey",
    "p2pkh_script_pubkey",
    "segwit_script_pubkey",
    "verify_with_bitcoin_kernel",
]

SIGHASH_ALL = 1
_MAX_SATOSHI = 21_000_000 * 100_000_000
_BECH32_CONST = 1  # BIP-173 checksum constant (witness v0)
_BECH32M_CONST = 0x2BC830A3  # BIP-350 checksum constant (witness v1..v16)


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)


def _push(data: bytes) -> bytes:
    return _varint(len(data)) + data


@dataclass(frozen=True)
class OutPoint:
    """A previous output: `txid` as displayed (big-endian hex) and its output index."""

    txid: str
    vout: int

    def __post_init__(self) -> None:
        try:
            raw = bytes.fromhex(self.txid)
        except ValueError:
            raise TransactionError(f"txid is not hex: {self.txid!r}") from None
        if len(raw) != 32:
            raise TransactionError("txid must be 32 bytes")
        if not 0 <= self.vout <= 0xFFFFFFFF:
            raise TransactionError("vout out of range")

    def serialize(self) -> bytes:
        return bytes.fromhex(self.txid)[::-1] + struct.pack("<I", self.vout)


@dataclass(frozen=True)
class P2wpkhInput:
    """An output paying to `public_key`'s P2WPKH script, worth `value_sat`, to be spent."""

    outpoint: OutPoint
    value_sat: int
    public_key: Secp256k1PublicKey
    sequence: int = 0xFFFFFFFD  # opt-in RBF, no relative locktime

    def __post_init__(self) -> None:
        if not 0 < self.value_sat <= _MAX_SATOSHI:
            raise TransactionError(f"input value out of range: {self.value_sat}")
        if not 0 <= self.sequence <= 0xFFFFFFFF:
            raise TransactionError("sequence out of range")

    @property
    def script_pubkey(self) -> bytes:
        return p2wpkh_script_pubkey(self.public_key)

    @property
    def script_code(self) -> bytes:
        """BIP-143 scriptCode of P2WPKH: the P2PKH script of the key hash."""
        return b"\x76\xa9\x14" + hash160(self.public_key.compressed) + b"\x88\xac"


@dataclass(frozen=True)
class TxOutput:
    value_sat: int
    script_pubkey: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.value_sat <= _MAX_SATOSHI:
            raise TransactionError(f"output value out of range: {self.value_sat}")

    @classmethod
    def to_address(cls, address: str, value_sat: int, network: BitcoinNetwork) -> TxOutput:
        """Pay `value_sat` to a segwit address on `network` (v0 bech32, v1+ such as taproot bech32m)."""
        return cls(value_sat, segwit_script_pubkey(address, network))

    def serialize(self) -> bytes:
        return struct.pack("<q", self.value_sat) + _push(self.script_pubkey)


@dataclass(frozen=True)
class SignedBitcoinTransaction:
    raw: bytes
    txid: str
    wtxid: str

    @property
    def raw_hex(self) -> str:
        return self.raw.hex()


class _Spend:
    """What P2WPKH and P2PKH spends share: fee, the outputs they consume, one digest per input to sign."""

    inputs: Sequence[P2wpkhInput | P2pkhInput]
    outputs: tuple[TxOutput, ...]

    @property
    def fee_sat(self) -> int:
        return sum(i.value_sat for i in self.inputs) - sum(o.value_sat for o in self.outputs)

    @property
    def spent_outputs(self) -> tuple[TxOutput, ...]:
        """The outputs this spend claims to consume (value and script), in input order."""
        return tuple(TxOutput(i.value_sat, i.script_pubkey) for i in self.inputs)

    def hashes_to_sign(self) -> tuple[bytes, ...]:
        """One SIGHASH_ALL digest per input, in input order: the payloads for `sign`."""
        return tuple(self.sighash(index) for index in range(len(self.inputs)))

    def sighash(self, index: int) -> bytes:
        raise NotImplementedError

    def _checked_signatures(self, signatures: Sequence[EcdsaSignature]) -> list[tuple[P2wpkhInput | P2pkhInput, bytes]]:
        """(input, low-s DER signature ‖ SIGHASH_ALL) per input, each signature verified under the input's key."""
        if len(signatures) != len(self.inputs):
            raise TransactionError(
                f"{len(self.inputs)} inputs need {len(self.inputs)} signatures, got {len(signatures)}"
            )
        out = []
        for index, (spent, signature) in enumerate(zip(self.inputs, signatures)):
            if not isinstance(signature, EcdsaSignature):
                raise TransactionError(f"signature {index} is not a secp256k1 ECDSA signature")
            low_s = signature.normalized()
            if not low_s.verify(self.sighash(index), spent.public_key):
                raise TransactionError(f"signature {index} does not verify for input {index} under its key")
            out.append((spent, low_s.to_der() + bytes([SIGHASH_ALL])))
        return out


@dataclass(frozen=True)
class P2wpkhSpend(_Spend):
    """A transaction spending one or more P2WPKH outputs (SIGHASH_ALL)."""

    inputs: tuple[P2wpkhInput, ...]
    outputs: tuple[TxOutput, ...]
    version: int = 2
    locktime: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        if not self.inputs or not self.outputs:
            raise TransactionError("a transaction needs at least one input and one output")
        if not -(2**31) <= self.version < 2**31:
            raise TransactionError(f"version out of int32 range: {self.version}")
        if not 0 <= self.locktime <= 0xFFFFFFFF:
            raise TransactionError(f"locktime out of range: {self.locktime}")
        if len({i.outpoint for i in self.inputs}) != len(self.inputs):
            raise TransactionError("the same outpoint is spent twice")
        fee = sum(i.value_sat for i in self.inputs) - sum(o.value_sat for o in self.outputs)
        if fee < 0:
            raise TransactionError(f"outputs exceed inputs by {-fee} sat")

    def sighash(self, index: int) -> bytes:
        """BIP-143 signature hash of input `index`."""
        if not 0 <= index < len(self.inputs):
            raise TransactionError(f"no input {index} (the spend has {len(self.inputs)})")
        spent = self.inputs[index]
        hash_prevouts = _sha256d(b"".join(i.outpoint.serialize() for i in self.inputs))
        hash_sequence = _sha256d(b"".join(struct.pack("<I", i.sequence) for i in self.inputs))
        hash_outputs = _sha256d(b"".join(o.serialize() for o in self.outputs))
        preimage = (
            struct.pack("<i", self.version)
            + hash_prevouts
            + hash_sequence
            + spent.outpoint.serialize()
            + _push(spent.script_code)
            + struct.pack("<q", spent.value_sat)
            + struct.pack("<I", spent.sequence)
            + hash_outputs
            + struct.pack("<I", self.locktime)
            + struct.pack("<I", SIGHASH_ALL)
        )
        return _sha256d(preimage)

    def attach_signatures(self, signatures: Sequence[EcdsaSignature]) -> SignedBitcoinTransaction:
        """Witness each input with (DER(sig)‖SIGHASH_ALL, compressed key); each signature is checked first."""
        witnesses = [_varint(2) + _push(sig) + _push(spent.public_key.compressed)
                     for spent, sig in self._checked_signatures(signatures)]
        base = self._serialize_base()
        raw = base[:4] + b"\x00\x01" + base[4:-4] + b"".join(witnesses) + base[-4:]
        return SignedBitcoinTransaction(raw=raw, txid=_sha256d(base)[::-1].hex(), wtxid=_sha256d(raw)[::-1].hex())

    def _serialize_base(self) -> bytes:
        """The serialization without witnesses (what the txid commits to)."""
        ins = b"".join(i.outpoint.serialize() + _push(b"") + struct.pack("<I", i.sequence) for i in self.inputs)
        outs = b"".join(o.serialize() for o in self.outputs)
        return (
            struct.pack("<i", self.version)
            + _varint(len(self.inputs))
            + ins
            + _varint(len(self.outputs))
            + outs
            + struct.pack("<I", self.locktime)
        )


@dataclass(frozen=True)
class P2pkhInput:
    """A legacy P2PKH output paying to hash160(`public_key`'s compressed form), worth `value_sat`, to be spent."""

    outpoint: OutPoint
    value_sat: int
    public_key: Secp256k1PublicKey
    sequence: int = 0xFFFFFFFF

    def __post_init__(self) -> None:
        if not 0 < self.value_sat <= _MAX_SATOSHI:
            raise TransactionError(f"input value out of range: {self.value_sat}")
        if not 0 <= self.sequence <= 0xFFFFFFFF:
            raise TransactionError("sequence out of range")

    @property
    def script_pubkey(self) -> bytes:
        return p2pkh_script_pubkey(hash160(self.public_key.compressed))


@dataclass(frozen=True)
class P2pkhSpend(_Spend):
    """A transaction spending P2PKH outputs with the legacy (pre-segwit) SIGHASH_ALL digest — Bitcoin's original
    scheme, which Dogecoin still uses. Amounts are in the chain's base unit (satoshi, koinu)."""

    inputs: tuple[P2pkhInput, ...]
    outputs: tuple[TxOutput, ...]
    version: int = 1
    locktime: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        if not self.inputs or not self.outputs:
            raise TransactionError("a transaction needs at least one input and one output")
        if len({i.outpoint for i in self.inputs}) != len(self.inputs):
            raise TransactionError("the same outpoint is spent twice")
        if self.fee_sat < 0:
            raise TransactionError(f"outputs exceed inputs by {-self.fee_sat}")

    def sighash(self, index: int) -> bytes:
        """Legacy SIGHASH_ALL: sha256d(the transaction with input `index`'s scriptSig = its scriptPubKey and the
        others empty ‖ uint32 sighash type)."""
        if not 0 <= index < len(self.inputs):
            raise TransactionError(f"no input {index} (the spend has {len(self.inputs)})")
        scripts = [i.script_pubkey if n == index else b"" for n, i in enumerate(self.inputs)]
        return _sha256d(self._serialize(scripts) + struct.pack("<I", SIGHASH_ALL))

    def attach_signatures(self, signatures: Sequence[EcdsaSignature]) -> SignedBitcoinTransaction:
        """scriptSig = <DER(sig)‖SIGHASH_ALL> <compressed key> per input; each signature is checked first."""
        script_sigs = [_push_data(sig) + _push_data(spent.public_key.compressed)
                       for spent, sig in self._checked_signatures(signatures)]
        raw = self._serialize(script_sigs)
        txid = _sha256d(raw)[::-1].hex()
        return SignedBitcoinTransaction(raw=raw, txid=txid, wtxid=txid)

    def _serialize(self, script_sigs: Sequence[bytes]) -> bytes:
        ins = b"".join(i.outpoint.serialize() + _push(script) + struct.pack("<I", i.sequence)
                       for i, script in zip(self.inputs, script_sigs, strict=True))
        return (
            struct.pack("<i", self.version)
            + _varint(len(self.inputs))
            + ins
            + _varint(len(self.outputs))
            + b"".join(o.serialize() for o in self.outputs)
            + struct.pack("<I", self.locktime)
        )


def _push_data(data: bytes) -> bytes:
    """A script push of up to 75 bytes (OP_PUSHBYTES_n), all a signature or a compressed key needs."""
    if len(data) > 75:
        raise TransactionError("push too large")
    return bytes([len(data)]) + data


def p2pkh_script_pubkey(key_hash: bytes) -> bytes:
    """OP_DUP OP_HASH160 <20 bytes> OP_EQUALVERIFY OP_CHECKSIG."""
    return b"\x76\xa9\x14" + key_hash + b"\x88\xac"


def base58_script_pubkey(address: str, p2pkh_version: int, p2sh_version: int) -> bytes:
    """The script of a base58check P2PKH or P2SH address with these version bytes; anything else (a bad checksum,
    another network's version byte) is a `TransactionError`."""
    try:
        raw = base58.b58decode_check(address)
    except ValueError:
        raise TransactionError(f"not a base58check address (bad characters or checksum): {address!r}") from None
    if len(raw) != 21:
        raise TransactionError(f"a base58 address carries 21 bytes, {address!r} has {len(raw)}")
    if raw[0] == p2pkh_version:
        return p2pkh_script_pubkey(raw[1:])
    if raw[0] == p2sh_version:
        return b"\xa9\x14" + raw[1:] + b"\x87"
    raise TransactionError(f"{address!r} is not an address of this network (version byte {raw[0]:#04x})")


def segwit_script_pubkey(address: str, network: BitcoinNetwork) -> bytes:
    """The scriptPubKey a segwit address on `network` stands for (BIP-173 bech32 for v0, BIP-350 bech32m for v1+).

    Anything else (wrong network, bad checksum or checksum variant, mixed case, bad program length) is a
    `TransactionError`: money is never sent to a mistyped address.
    """
    if address.lower() != address and address.upper() != address:
        raise TransactionError(f"mixed-case address: {address!r}")
    text = address.lower()
    hrp, sep, body = text.rpartition("1")
    if not sep or len(text) > 90 or hrp != network.value:
        raise TransactionError(f"not a segwit address on {network.name.lower()}: {address!r}")
    if len(body) < 7 or any(c not in bech32.CHARSET for c in body):
        raise TransactionError(f"malformed segwit address: {address!r}")
    data = [bech32.CHARSET.index(c) for c in body]
    version = data[0]
    if version > 16:
        raise TransactionError(f"invalid witness version {version} in {address!r}")
    expected = _BECH32_CONST if version == 0 else _BECH32M_CONST
    if bech32.bech32_polymod(bech32.bech32_hrp_expand(hrp) + data) != expected:
        variant = "bech32" if version == 0 else "bech32m"
        raise TransactionError(f"bad {variant} checksum in {address!r}")
    program = bech32.convertbits(data[1:-6], 5, 8, False)
    if program is None or not 2 <= len(program) <= 40 or (version == 0 and len(program) not in (20, 32)):
        raise TransactionError(f"invalid witness program in {address!r}")
    opcode = 0 if version == 0 else 0x50 + version
    return bytes([opcode]) + _push(bytes(program))


def verify_with_bitcoin_kernel(raw_tx: bytes, spent_outputs: Sequence[TxOutput]) -> None:
    """Verify every input of `raw_tx` with Bitcoin Core's script interpreter (libbitcoinkernel, all consensus flags)
    against the outputs it spends, as the chain records them; `TransactionError` names the first failing input.

    Needs the optional `py-bitcoinkernel` package (test extra).
    """
    try:
        import pbk
    except ImportError as exc:
        raise TransactionError("py-bitcoinkernel is not installed (pip install --pre py-bitcoinkernel)") from exc
    try:
        tx = pbk.Transaction(raw_tx)
    except RuntimeError as exc:  # the binding raises RuntimeError for undecodable bytes
        raise TransactionError(f"libbitcoinkernel cannot decode the transaction: {exc}") from exc
    if bytes(tx) != raw_tx:
        raise TransactionError("transaction has trailing or non-canonical bytes")
    if len(tx.inputs) != len(spent_outputs):
        raise TransactionError(f"{len(tx.inputs)} inputs but {len(spent_outputs)} spent outputs given")
    kernel_outputs = [pbk.TransactionOutput(pbk.ScriptPubkey(o.script_pubkey), o.value_sat) for o in spent_outputs]
    precomputed = pbk.script.PrecomputedTransactionData(tx, kernel_outputs)
    for index, spent in enumerate(spent_outputs):
        try:
            ok = pbk.ScriptPubkey(spent.script_pubkey).verify(
                spent.value_sat, tx, precomputed, index, pbk.ScriptVerificationFlags.ALL
            )
        except pbk.ScriptVerifyException as exc:
            raise TransactionError(f"input {index}: {exc}") from exc
        if not ok:
            raise TransactionError(f"input {index} fails Bitcoin Core script verification")
