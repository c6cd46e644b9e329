"""The host functions, ported from nearcore's `VMLogic` (`logic/logic.rs`).

Each public method named like a NEAR import is a host function: arguments are u64, charges
happen in nearcore's order *before* the effect, and failures raise `HostErrorSignal`.
"""

from __future__ import annotations

from collections.abc import Callable

from localnet.runtime import bls12381, crypto, errors
from localnet.runtime.account_id import is_eth_implicit, is_near_implicit, is_valid_account_id
from localnet.runtime.api import External, ReturnData, ReturnKind, VMContext
from localnet.runtime.config import RuntimeConfig
from localnet.runtime.fees import Fee
from localnet.runtime.gas import U64_MAX, GasCounter
from localnet.runtime.receipts import Promise, ReceiptManager
from localnet.runtime.vmstate import GuestMemory, Registers
from localnet.types import (
    AccessKey,
    AddKey,
    CreateAccount,
    DeleteAccount,
    DeleteKey,
    DeployContract,
    FunctionCall,
    FunctionCallPermission,
    PublicKey,
    Stake,
    Transfer,
)


class VMLogic:
    """State of one function call: gas, registers, logs, promises, return data."""

    def __init__(self, context: VMContext, ext: External, config: RuntimeConfig, gas: GasCounter) -> None:
        self.context = context
        self.ext = ext
        self.config = config
        self.costs = config.ext_costs
        self.limits = config.limits
        self.fees = config.action_fees
        self.gas = gas
        self.registers = Registers(gas, self.costs, self.limits)
        self.memory: GuestMemory | None = None
        self.receipts = ReceiptManager(ext)
        self.logs: list[str] = []
        self.total_log_length = 0
        self.return_data = ReturnData(ReturnKind.NONE)
        self.balance = context.account_balance
        self.storage_usage_now = context.storage_usage
        self.yield_resumes: list[tuple[bytes, bytes]] = []

    # ---- helpers -------------------------------------------------------------------------

    @property
    def mem(self) -> GuestMemory:
        assert self.memory is not None
        return self.memory

    def _read(self, ptr: int, length: int) -> bytes:
        """nearcore's get_memory_or_register: len == u64::MAX means `ptr` is a register id."""
        if length == U64_MAX:
            return self.registers.get(ptr)
        return self.mem.view(ptr, length)

    def _view_check(self, name: str) -> None:
        if self.context.is_view:
            raise errors.prohibited_in_view(name)

    def _utf8(self, length: int, ptr: int) -> str:
        self.gas.pay_base(self.costs.utf8_decoding_base)
        max_len = max(0, self.limits.max_total_log_length - self.total_log_length)
        if length != U64_MAX:
            if length > max_len:
                raise errors.total_log_length_exceeded(self.total_log_length + length, self.limits.max_total_log_length)
            buf = self.mem.view(ptr, length)
        else:
            out = bytearray()
            i = 0
            while True:
                byte = self.mem.get_u8(ptr + i)
                if byte == 0:
                    break
                if i == max_len:
                    raise errors.total_log_length_exceeded(
                        self.total_log_length + max_len + 1, self.limits.max_total_log_length
                    )
                out.append(byte)
                i += 1
            buf = bytes(out)
        self.gas.pay_per(self.costs.utf8_decoding_byte, len(buf))
        try:
            return buf.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise errors.bad_utf8() from exc

    def _utf16(self, length: int, ptr: int) -> str:
        self.gas.pay_base(self.costs.utf16_decoding_base)
        max_len = max(0, self.limits.max_total_log_length - self.total_log_length)
        if length == U64_MAX:
            length = 0
            while self.mem.get_u16(ptr + length) != 0:
                length += 2
                if length > max_len:
                    raise errors.total_log_length_exceeded(
                        self.total_log_length + length, self.limits.max_total_log_length
                    )
            raw = self.mem.view_for_free(ptr, length)
        else:
            raw = self.mem.view(ptr, length)
        if len(raw) % 2:
            raise errors.bad_utf16()
        if length > max_len:
            raise errors.total_log_length_exceeded(self.total_log_length + length, self.limits.max_total_log_length)
        self.gas.pay_per(self.costs.utf16_decoding_byte, length)
        try:
            return raw.decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise errors.bad_utf16() from exc

    def _push_log(self, message: str) -> None:
        length = len(message.encode())
        self.total_log_length += length
        if self.total_log_length > self.limits.max_total_log_length:
            raise errors.total_log_length_exceeded(self.total_log_length, self.limits.max_total_log_length)
        self.logs.append(message)

    def _check_can_add_log(self) -> None:
        if len(self.logs) >= self.limits.max_number_logs:
            raise errors.number_of_logs_exceeded(self.limits.max_number_logs)

    def _account_id(self, ptr: int, length: int) -> str:
        buf = self._read(ptr, length)
        self.gas.pay_base(self.costs.utf8_decoding_base)
        self.gas.pay_per(self.costs.utf8_decoding_byte, len(buf))
        try:
            text = buf.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise errors.bad_utf8() from exc
        if not is_valid_account_id(text):
            raise errors.invalid_account_id()
        return text

    def _deduct_balance(self, amount: int) -> None:
        if amount > self.balance:
            raise errors.balance_exceeded()
        self.balance -= amount

    def _pay_action_base(self, fee: Fee, sir: bool) -> None:
        burn = fee.send_fee(sir)
        self.gas.deduct(burn, burn + fee.exec_fee())

    def _pay_action_per_byte(self, fee: Fee, num_bytes: int, sir: bool) -> None:
        burn = fee.send_fee(sir) * num_bytes
        self.gas.deduct(burn, burn + fee.exec_fee() * num_bytes)

    def _pay_gas_for_new_receipt(self, sir: bool, deps: list[bool]) -> None:
        burn = self.fees.action_receipt_creation.send_fee(sir)
        use = self.fees.action_receipt_creation.exec_fee()
        for dep_sir in deps:
            burn += self.fees.data_receipt_creation_base.send_fee(dep_sir)
            burn += self.fees.data_receipt_creation_base.exec_fee()
        self.gas.deduct(burn, use + burn)

    def _receipt_with_sir(self, promise_idx: int) -> tuple[int, bool]:
        receipt = self.receipts.receipt_of(promise_idx)
        return receipt, self.receipts.receiver(receipt) == self.context.current_account_id

    @staticmethod
    def _decode_public_key(raw: bytes) -> PublicKey | None:
        try:
            return PublicKey.from_borsh(raw)
        except ValueError:
            return None

    # ---- registers -----------------------------------------------------------------------

    def read_register(self, register_id: int, ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        data = self.registers.get(register_id)
        self.mem.set(ptr, data)

    def register_len(self, register_id: int) -> int:
        self.gas.pay_base(self.costs.base)
        return self.registers.get_len(register_id)

    def write_register(self, register_id: int, data_len: int, data_ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        data = self.mem.view(data_ptr, data_len)
        self.registers.set(register_id, data)

    # ---- context -------------------------------------------------------------------------

    def current_account_id(self, register_id: int) -> None:
        self.gas.pay_base(self.costs.base)
        self.registers.set(register_id, self.context.current_account_id.encode())

    def signer_account_id(self, register_id: int) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("signer_account_id")
        self.registers.set(register_id, self.context.signer_account_id.encode())

    def signer_account_pk(self, register_id: int) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("signer_account_pk")
        self.registers.set(register_id, self.context.signer_account_pk)

    def predecessor_account_id(self, register_id: int) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("predecessor_account_id")
        self.registers.set(register_id, self.context.predecessor_account_id.encode())

    def input(self, register_id: int) -> None:
        self.gas.pay_base(self.costs.base)
        # Protocol 86 (deterministic_account_ids) no longer charges input bytes.
        self.registers.set(register_id, self.context.input, charge_bytes=False)

    def block_index(self) -> int:
        self.gas.pay_base(self.costs.base)
        return self.context.block_height

    def block_timestamp(self) -> int:
        self.gas.pay_base(self.costs.base)
        return self.context.block_timestamp_ns

    def epoch_height(self) -> int:
        self.gas.pay_base(self.costs.base)
        return self.context.epoch_height

    def storage_usage(self) -> int:
        self.gas.pay_base(self.costs.base)
        return self.storage_usage_now

    def account_balance(self, balance_ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        self.mem.set_u128(balance_ptr, self.balance)

    def account_locked_balance(self, balance_ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        self.mem.set_u128(balance_ptr, self.context.account_locked_balance)

    def attached_deposit(self, balance_ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        self.mem.set_u128(balance_ptr, self.context.attached_deposit)

    def prepaid_gas(self) -> int:
        self.gas.pay_base(self.costs.base)
        self._view_check("prepaid_gas")
        return self.context.prepaid_gas

    def used_gas(self) -> int:
        self.gas.pay_base(self.costs.base)
        self._view_check("used_gas")
        return self.gas.used_gas

    def random_seed(self, register_id: int) -> None:
        self.gas.pay_base(self.costs.base)
        self.registers.set(register_id, self.context.random_seed)

    def validator_stake(self, account_id_len: int, account_id_ptr: int, stake_ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        account_id = self._account_id(account_id_ptr, account_id_len)
        self.gas.pay_base(self.costs.validator_stake_base)
        stake = self.ext.validator_stake(account_id) or 0
        self.mem.set_u128(stake_ptr, stake)

    def validator_total_stake(self, stake_ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        self.gas.pay_base(self.costs.validator_total_stake_base)
        self.mem.set_u128(stake_ptr, self.ext.validator_total_stake())

    # ---- math ----------------------------------------------------------------------------

    def sha256(self, value_len: int, value_ptr: int, register_id: int) -> None:
        self.gas.pay_base(self.costs.sha256_base)
        value = self._read(value_ptr, value_len)
        self.gas.pay_per(self.costs.sha256_byte, len(value))
        self.registers.set(register_id, crypto.sha256(value))

    def keccak256(self, value_len: int, value_ptr: int, register_id: int) -> None:
        self.gas.pay_base(self.costs.keccak256_base)
        value = self._read(value_ptr, value_len)
        self.gas.pay_per(self.costs.keccak256_byte, len(value))
        self.registers.set(register_id, crypto.keccak256(value))

    def keccak512(self, value_len: int, value_ptr: int, register_id: int) -> None:
        self.gas.pay_base(self.costs.keccak512_base)
        value = self._read(value_ptr, value_len)
        self.gas.pay_per(self.costs.keccak512_byte, len(value))
        self.registers.set(register_id, crypto.keccak512(value))

    def ripemd160(self, value_len: int, value_ptr: int, register_id: int) -> None:
        self.gas.pay_base(self.costs.ripemd160_base)
        value = self._read(value_ptr, value_len)
        self.gas.pay_per(self.costs.ripemd160_block, (len(value) + 8) // 64 + 1)
        self.registers.set(register_id, crypto.ripemd160(value))

    def ecrecover(
        self, hash_len: int, hash_ptr: int, sig_len: int, sig_ptr: int, v: int, malleability_flag: int, register_id: int
    ) -> int:
        self.gas.pay_base(self.costs.ecrecover_base)
        signature = self._read(sig_ptr, sig_len)
        if len(signature) != 64:
            raise errors.ecrecover_error(
                f"The length of the signature: {len(signature)}, exceeds the limit of 64 bytes"
            )
        if v >= 4:
            raise errors.ecrecover_error(f"V recovery byte 0 through 3 are valid but was provided {v}")
        hash32 = self._read(hash_ptr, hash_len)
        if len(hash32) != 32:
            raise errors.ecrecover_error(f"The length of the hash: {len(hash32)}, exceeds the limit of 32 bytes")
        if malleability_flag not in (0, 1):
            raise errors.ecrecover_error(
                f"Malleability flag needs to be 0 or 1, but is instead {malleability_flag}"
            )
        if not crypto.check_signature_values(signature, malleability_flag != 0):
            return 0
        public_key = crypto.ecrecover(hash32, signature, v)
        if public_key is None:
            return 0
        self.registers.set(register_id, public_key)
        return 1

    def ed25519_verify(
        self, signature_len: int, signature_ptr: int, message_len: int, message_ptr: int, key_len: int, key_ptr: int
    ) -> int:
        self.gas.pay_base(self.costs.ed25519_verify_base)
        signature = self._read(signature_ptr, signature_len)
        if len(signature) != 64:
            raise errors.ed25519_verify_invalid_input("invalid signature length")
        if signature[63] & 0b1110_0000:
            return 0
        message = self._read(message_ptr, message_len)
        self.gas.pay_per(self.costs.ed25519_verify_byte, len(message))
        public_key = self._read(key_ptr, key_len)
        if len(public_key) != 32:
            raise errors.ed25519_verify_invalid_input("invalid public key length")
        return int(crypto.ed25519_verify(signature, message, public_key))

    def alt_bn128_g1_multiexp(self, value_len: int, value_ptr: int, register_id: int) -> None:
        self.gas.pay_base(self.costs.alt_bn128_g1_multiexp_base)
        self._read(value_ptr, value_len)
        raise errors.alt_bn128_invalid_input("alt_bn128 is unsupported in this emulation")

    def alt_bn128_g1_sum(self, value_len: int, value_ptr: int, register_id: int) -> None:
        self.gas.pay_base(self.costs.alt_bn128_g1_sum_base)
        self._read(value_ptr, value_len)
        raise errors.alt_bn128_invalid_input("alt_bn128 is unsupported in this emulation")

    def alt_bn128_pairing_check(self, value_len: int, value_ptr: int) -> int:
        self.gas.pay_base(self.costs.alt_bn128_pairing_check_base)
        self._read(value_ptr, value_len)
        raise errors.alt_bn128_invalid_input("alt_bn128 is unsupported in this emulation")

    # ---- BLS12-381 (cores in bls12381.py) -------------------------------------------------

    def _bls12381(
        self, name: str, base: int, element: int, value_len: int, value_ptr: int, register_id: int,
        core: Callable[..., bytes | None],
    ) -> int:
        """nearcore's `bls12381_impl!`: base, then per element counted from `value_len` as passed (so a
        register input, len = u64::MAX, overflows), then the read; 0 with the result in the register, or 1."""
        self.gas.pay_base(base)
        self.gas.pay_per(element, value_len // bls12381.ITEM_SIZE[name])
        data = self._read(value_ptr, value_len)
        result = core(data, fix=self.config.bls12381_not_in_group_fix)
        if result is None:
            return 1
        self.registers.set(register_id, result)
        return 0

    def bls12381_p1_sum(self, value_len: int, value_ptr: int, register_id: int) -> int:
        return self._bls12381("bls12381_p1_sum", self.costs.bls12381_p1_sum_base,
                              self.costs.bls12381_p1_sum_element, value_len, value_ptr, register_id, bls12381.p1_sum)

    def bls12381_p2_sum(self, value_len: int, value_ptr: int, register_id: int) -> int:
        return self._bls12381("bls12381_p2_sum", self.costs.bls12381_p2_sum_base,
                              self.costs.bls12381_p2_sum_element, value_len, value_ptr, register_id, bls12381.p2_sum)

    def bls12381_g1_multiexp(self, value_len: int, value_ptr: int, register_id: int) -> int:
        return self._bls12381("bls12381_g1_multiexp", self.costs.bls12381_g1_multiexp_base,
                              self.costs.bls12381_g1_multiexp_element, value_len, value_ptr, register_id,
                              bls12381.g1_multiexp)

    def bls12381_g2_multiexp(self, value_len: int, value_ptr: int, register_id: int) -> int:
        return self._bls12381("bls12381_g2_multiexp", self.costs.bls12381_g2_multiexp_base,
                              self.costs.bls12381_g2_multiexp_element, value_len, value_ptr, register_id,
                              bls12381.g2_multiexp)

    def bls12381_map_fp_to_g1(self, value_len: int, value_ptr: int, register_id: int) -> int:
        return self._bls12381("bls12381_map_fp_to_g1", self.costs.bls12381_map_fp_to_g1_base,
                              self.costs.bls12381_map_fp_to_g1_element, value_len, value_ptr, register_id,
                              bls12381.map_fp_to_g1)

    def bls12381_map_fp2_to_g2(self, value_len: int, value_ptr: int, register_id: int) -> int:
        return self._bls12381("bls12381_map_fp2_to_g2", self.costs.bls12381_map_fp2_to_g2_base,
                              self.costs.bls12381_map_fp2_to_g2_element, value_len, value_ptr, register_id,
                              bls12381.map_fp2_to_g2)

    def bls12381_p1_decompress(self, value_len: int, value_ptr: int, register_id: int) -> int:
        return self._bls12381("bls12381_p1_decompress", self.costs.bls12381_p1_decompress_base,
                              self.costs.bls12381_p1_decompress_element, value_len, value_ptr, register_id,
                              bls12381.p1_decompress)

    def bls12381_p2_decompress(self, value_len: int, value_ptr: int, register_id: int) -> int:
        return self._bls12381("bls12381_p2_decompress", self.costs.bls12381_p2_decompress_base,
                              self.costs.bls12381_p2_decompress_element, value_len, value_ptr, register_id,
                              bls12381.p2_decompress)

    def bls12381_pairing_check(self, value_len: int, value_ptr: int) -> int:
        """Unlike the others, nearcore counts the elements of the data read (no overflow for a register)."""
        self.gas.pay_base(self.costs.bls12381_pairing_base)
        data = self._read(value_ptr, value_len)
        self.gas.pay_per(self.costs.bls12381_pairing_element, len(data) // bls12381.ITEM_SIZE["bls12381_pairing_check"])
        return bls12381.pairing_check(data)

    # ---- misc ----------------------------------------------------------------------------

    def value_return(self, value_len: int, value_ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        value = self._read(value_ptr, value_len)
        if len(value) > self.limits.max_length_returned_data:
            raise errors.returned_value_length_exceeded(len(value), self.limits.max_length_returned_data)
        burn = 0
        per_byte = self.fees.data_receipt_creation_per_byte
        for receiver in self.context.output_data_receivers:
            sir = receiver == self.context.current_account_id
            burn += (per_byte.send_fee(sir) + per_byte.exec_fee()) * len(value)
        self.gas.deduct(burn, burn)
        self.return_data = ReturnData(ReturnKind.VALUE, value=value)

    def panic(self) -> None:
        self.gas.pay_base(self.costs.base)
        raise errors.guest_panic("explicit guest panic")

    def panic_utf8(self, length: int, ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        raise errors.guest_panic(self._utf8(length, ptr))

    def log_utf8(self, length: int, ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        self._check_can_add_log()
        message = self._utf8(length, ptr)
        self.gas.pay_base(self.costs.log_base)
        self.gas.pay_per(self.costs.log_byte, len(message.encode()))
        self._push_log(message)

    def log_utf16(self, length: int, ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        self._check_can_add_log()
        message = self._utf16(length, ptr)
        self.gas.pay_base(self.costs.log_base)
        self.gas.pay_per(self.costs.log_byte, len(message.encode()))
        self._push_log(message)

    # ---- storage -------------------------------------------------------------------------

    def _storage_key(self, ptr: int, length: int) -> bytes:
        key = self._read(ptr, length)
        if len(key) > self.limits.max_length_storage_key:
            raise errors.key_length_exceeded(len(key), self.limits.max_length_storage_key)
        return key

    def storage_write(self, key_len: int, key_ptr: int, value_len: int, value_ptr: int, register_id: int) -> int:
        self.gas.pay_base(self.costs.base)
        self._view_check("storage_write")
        self.gas.pay_base(self.costs.storage_write_base)
        key = self._storage_key(key_ptr, key_len)
        value = self._read(value_ptr, value_len)
        if len(value) > self.limits.max_length_storage_value:
            raise errors.value_length_exceeded(len(value), self.limits.max_length_storage_value)
        self.gas.pay_per(self.costs.storage_write_key_byte, len(key))
        self.gas.pay_per(self.costs.storage_write_value_byte, len(value))
        evicted = self.ext.storage_write(key, value)
        if evicted is not None:
            self.gas.pay_per(self.costs.storage_write_evicted_byte, len(evicted))
            self.storage_usage_now = self.storage_usage_now - len(evicted) + len(value)
            self.registers.set(register_id, evicted)
            return 1
        self.storage_usage_now += len(value) + len(key) + 40
        return 0

    def storage_read(self, key_len: int, key_ptr: int, register_id: int) -> int:
        self.gas.pay_base(self.costs.base)
        self.gas.pay_base(self.costs.storage_read_base)
        key = self._storage_key(key_ptr, key_len)
        self.gas.pay_per(self.costs.storage_read_key_byte, len(key))
        value = self.ext.storage_read(key)
        if value is None:
            return 0
        self.gas.pay_per(self.costs.storage_read_value_byte, len(value))
        self.registers.set(register_id, value)
        return 1

    def storage_remove(self, key_len: int, key_ptr: int, register_id: int) -> int:
        self.gas.pay_base(self.costs.base)
        self._view_check("storage_remove")
        self.gas.pay_base(self.costs.storage_remove_base)
        key = self._storage_key(key_ptr, key_len)
        self.gas.pay_per(self.costs.storage_remove_key_byte, len(key))
        removed = self.ext.storage_remove(key)
        if removed is None:
            return 0
        self.gas.pay_per(self.costs.storage_remove_ret_value_byte, len(removed))
        self.storage_usage_now -= len(removed) + len(key) + 40
        self.registers.set(register_id, removed)
        return 1

    def storage_has_key(self, key_len: int, key_ptr: int) -> int:
        self.gas.pay_base(self.costs.base)
        self.gas.pay_base(self.costs.storage_has_key_base)
        key = self._storage_key(key_ptr, key_len)
        self.gas.pay_per(self.costs.storage_has_key_byte, len(key))
        return int(self.ext.storage_has_key(key))

    # ---- promises ------------------------------------------------------------------------

    def promise_create(
        self,
        account_id_len: int,
        account_id_ptr: int,
        method_name_len: int,
        method_name_ptr: int,
        arguments_len: int,
        arguments_ptr: int,
        amount_ptr: int,
        gas: int,
    ) -> int:
        idx = self.promise_batch_create(account_id_len, account_id_ptr)
        self.promise_batch_action_function_call(
            idx, method_name_len, method_name_ptr, arguments_len, arguments_ptr, amount_ptr, gas
        )
        return idx

    def promise_then(
        self,
        promise_idx: int,
        account_id_len: int,
        account_id_ptr: int,
        method_name_len: int,
        method_name_ptr: int,
        arguments_len: int,
        arguments_ptr: int,
        amount_ptr: int,
        gas: int,
    ) -> int:
        idx = self.promise_batch_then(promise_idx, account_id_len, account_id_ptr)
        self.promise_batch_action_function_call(
            idx, method_name_len, method_name_ptr, arguments_len, arguments_ptr, amount_ptr, gas
        )
        return idx

    def promise_and(self, promise_idx_ptr: int, promise_idx_count: int) -> int:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_and")
        self.gas.pay_base(self.costs.promise_and_base)
        memory_len = promise_idx_count * 8
        if memory_len > U64_MAX:
            raise errors.integer_overflow()
        self.gas.pay_per(self.costs.promise_and_per_promise, memory_len)
        raw = self.mem.view(promise_idx_ptr, memory_len)
        dependencies: list[int] = []
        limit = self.limits.max_number_input_data_dependencies
        for i in range(promise_idx_count):
            promise = self.receipts.promise(int.from_bytes(raw[8 * i : 8 * i + 8], "little"))
            if promise.receipt_index is not None:
                dependencies.append(promise.receipt_index)
            else:
                dependencies.extend(promise.joint)
            if len(dependencies) > limit:
                raise errors.number_input_data_dependencies_exceeded(len(dependencies), limit)
        return self.receipts.push_promise(
            Promise(joint=tuple(dependencies)), self.limits.max_promises_per_function_call_action
        )

    def promise_batch_create(self, account_id_len: int, account_id_ptr: int) -> int:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_batch_create")
        account_id = self._account_id(account_id_ptr, account_id_len)
        self._pay_gas_for_new_receipt(account_id == self.context.current_account_id, [])
        receipt = self.receipts.create_action_receipt([], account_id)
        return self.receipts.push_promise(Promise(receipt), self.limits.max_promises_per_function_call_action)

    def promise_batch_then(self, promise_idx: int, account_id_len: int, account_id_ptr: int) -> int:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_batch_then")
        account_id = self._account_id(account_id_ptr, account_id_len)
        promise = self.receipts.promise(promise_idx)
        deps = [promise.receipt_index] if promise.receipt_index is not None else list(promise.joint)
        sir = account_id == self.context.current_account_id
        self._pay_gas_for_new_receipt(sir, [self.receipts.receiver(d) == account_id for d in deps])
        receipt = self.receipts.create_action_receipt(deps, account_id)
        return self.receipts.push_promise(Promise(receipt), self.limits.max_promises_per_function_call_action)

    def promise_batch_action_create_account(self, promise_idx: int) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_batch_action_create_account")
        receipt, sir = self._receipt_with_sir(promise_idx)
        self._pay_action_base(self.fees.create_account, sir)
        self.receipts.append_action(receipt, CreateAccount())

    def promise_batch_action_deploy_contract(self, promise_idx: int, code_len: int, code_ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_batch_action_deploy_contract")
        code = self._read(code_ptr, code_len)
        if len(code) > self.limits.max_contract_size:
            raise errors.contract_size_exceeded(len(code), self.limits.max_contract_size)
        receipt, sir = self._receipt_with_sir(promise_idx)
        self._pay_action_base(self.fees.deploy_contract_base, sir)
        self._pay_action_per_byte(self.fees.deploy_contract_per_byte, len(code), sir)
        self.receipts.append_action(receipt, DeployContract(code))

    def promise_batch_action_function_call(
        self,
        promise_idx: int,
        method_name_len: int,
        method_name_ptr: int,
        arguments_len: int,
        arguments_ptr: int,
        amount_ptr: int,
        gas: int,
    ) -> None:
        self.promise_batch_action_function_call_weight(
            promise_idx, method_name_len, method_name_ptr, arguments_len, arguments_ptr, amount_ptr, gas, 0
        )

    def promise_batch_action_function_call_weight(
        self,
        promise_idx: int,
        method_name_len: int,
        method_name_ptr: int,
        arguments_len: int,
        arguments_ptr: int,
        amount_ptr: int,
        gas: int,
        gas_weight: int,
    ) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_batch_action_function_call")
        amount = self.mem.get_u128(amount_ptr)
        method_name = self._read(method_name_ptr, method_name_len)
        if not method_name:
            raise errors.empty_method_name()
        arguments = self._read(arguments_ptr, arguments_len)
        receipt, sir = self._receipt_with_sir(promise_idx)
        num_bytes = len(method_name) + len(arguments)
        self._pay_action_base(self.fees.function_call_base, sir)
        self._pay_action_per_byte(self.fees.function_call_per_byte, num_bytes, sir)
        self.gas.prepay(gas)
        self._deduct_balance(amount)
        self.receipts.append_action(receipt, self._function_call(method_name, arguments, gas, amount, gas_weight))

    @staticmethod
    def _function_call(method_name: bytes, arguments: bytes, gas: int, deposit: int, weight: int) -> FunctionCall:
        try:
            name = method_name.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise errors.invalid_method_name() from exc
        return FunctionCall(name, arguments, gas, deposit, weight)

    def promise_batch_action_transfer(self, promise_idx: int, amount_ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_batch_action_transfer")
        amount = self.mem.get_u128(amount_ptr)
        receipt, sir = self._receipt_with_sir(promise_idx)
        receiver = self.receipts.receiver(receipt)
        send = self.fees.transfer.send_fee(sir)
        execution = self.fees.transfer.exec_fee()
        if is_near_implicit(receiver):
            send += self.fees.create_account.send_fee(sir) + self.fees.add_full_access_key.send_fee(sir)
            execution += self.fees.create_account.exec_fee() + self.fees.add_full_access_key.exec_fee()
        elif is_eth_implicit(receiver):
            send += self.fees.create_account.send_fee(sir)
            execution += self.fees.create_account.exec_fee()
        self.gas.deduct(send, send + execution)
        self._deduct_balance(amount)
        self.receipts.append_action(receipt, Transfer(amount))

    def promise_batch_action_stake(self, promise_idx: int, amount_ptr: int, key_len: int, key_ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_batch_action_stake")
        amount = self.mem.get_u128(amount_ptr)
        key = self._decode_public_key(self._read(key_ptr, key_len))
        receipt, sir = self._receipt_with_sir(promise_idx)
        self._pay_action_base(self.fees.stake, sir)
        if key is None:
            raise errors.invalid_public_key()
        self.receipts.append_action(receipt, Stake(amount, key))

    def promise_batch_action_add_key_with_full_access(
        self, promise_idx: int, key_len: int, key_ptr: int, nonce: int
    ) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_batch_action_add_key_with_full_access")
        key = self._decode_public_key(self._read(key_ptr, key_len))
        receipt, sir = self._receipt_with_sir(promise_idx)
        self._pay_action_base(self.fees.add_full_access_key, sir)
        if key is None:
            raise errors.invalid_public_key()
        self.receipts.append_action(receipt, AddKey(key, AccessKey(nonce, None)))

    def promise_batch_action_add_key_with_function_call(
        self,
        promise_idx: int,
        key_len: int,
        key_ptr: int,
        nonce: int,
        allowance_ptr: int,
        receiver_id_len: int,
        receiver_id_ptr: int,
        method_names_len: int,
        method_names_ptr: int,
    ) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_batch_action_add_key_with_function_call")
        key = self._decode_public_key(self._read(key_ptr, key_len))
        allowance = self.mem.get_u128(allowance_ptr)
        receiver_id = self._account_id(receiver_id_ptr, receiver_id_len)
        method_names = _split_method_names(self._read(method_names_ptr, method_names_len))
        receipt, sir = self._receipt_with_sir(promise_idx)
        num_bytes = sum(len(m.encode()) + 1 for m in method_names)
        self._pay_action_base(self.fees.add_function_call_key_base, sir)
        self._pay_action_per_byte(self.fees.add_function_call_key_per_byte, num_bytes, sir)
        if key is None:
            raise errors.invalid_public_key()
        permission = FunctionCallPermission(allowance if allowance > 0 else None, receiver_id, tuple(method_names))
        self.receipts.append_action(receipt, AddKey(key, AccessKey(nonce, permission)))

    def promise_batch_action_delete_key(self, promise_idx: int, key_len: int, key_ptr: int) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_batch_action_delete_key")
        key = self._decode_public_key(self._read(key_ptr, key_len))
        receipt, sir = self._receipt_with_sir(promise_idx)
        self._pay_action_base(self.fees.delete_key, sir)
        if key is None:
            raise errors.invalid_public_key()
        self.receipts.append_action(receipt, DeleteKey(key))

    def promise_batch_action_delete_account(
        self, promise_idx: int, beneficiary_id_len: int, beneficiary_id_ptr: int
    ) -> None:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_batch_action_delete_account")
        beneficiary = self._account_id(beneficiary_id_ptr, beneficiary_id_len)
        receipt, sir = self._receipt_with_sir(promise_idx)
        self._pay_action_base(self.fees.delete_account, sir)
        self.receipts.append_action(receipt, DeleteAccount(beneficiary))

    def promise_yield_create(
        self,
        method_name_len: int,
        method_name_ptr: int,
        arguments_len: int,
        arguments_ptr: int,
        gas: int,
        gas_weight: int,
        register_id: int,
    ) -> int:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_yield_create")
        self.gas.pay_base(self.costs.yield_create_base)
        method_name = self._read(method_name_ptr, method_name_len)
        if not method_name:
            raise errors.empty_method_name()
        arguments = self._read(arguments_ptr, arguments_len)
        num_bytes = len(method_name) + len(arguments)
        self.gas.pay_per(self.costs.yield_create_byte, num_bytes)
        self.gas.prepay(gas)
        self._pay_gas_for_new_receipt(True, [True])
        receipt, data_id = self.receipts.create_promise_yield_receipt(self.context.current_account_id)
        idx = self.receipts.push_promise(Promise(receipt), self.limits.max_promises_per_function_call_action)
        self._pay_action_base(self.fees.function_call_base, True)
        self._pay_action_per_byte(self.fees.function_call_per_byte, num_bytes, True)
        self.receipts.append_action(receipt, self._function_call(method_name, arguments, gas, 0, gas_weight))
        self.registers.set(register_id, data_id)
        return idx

    def promise_yield_resume(self, data_id_len: int, data_id_ptr: int, payload_len: int, payload_ptr: int) -> int:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_submit_data")
        self.gas.pay_base(self.costs.yield_resume_base)
        self.gas.pay_per(self.costs.yield_resume_byte, payload_len)
        data_id = self._read(data_id_ptr, data_id_len)
        payload = self._read(payload_ptr, payload_len)
        if len(payload) > self.limits.max_yield_payload_size:
            raise errors.yield_payload_length(len(payload), self.limits.max_yield_payload_size)
        if len(data_id) != 32:
            raise errors.data_id_malformed()
        if any(resumed == data_id for resumed, _ in self.yield_resumes):
            return 0
        if not (self.receipts.is_own_waiting_yield(data_id) or self.ext.yield_is_waiting(data_id)):
            return 0
        self.yield_resumes.append((data_id, payload))
        return 1

    def promise_results_count(self) -> int:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_results_count")
        return len(self.context.promise_results)

    def promise_result(self, result_idx: int, register_id: int) -> int:
        self.gas.pay_base(self.costs.base)
        self._view_check("promise_result")
        if result_idx >= len(self.context.promise_results):
            raise errors.invalid_promise_result_index(result_idx)
        result = self.context.promise_results[result_idx]
        if result.status == 1:
            self.registers.set(register_id, result.data, charge_bytes=False)
        return int(result.status)

    def promise_return(self, promise_idx: int) -> None:
        self.gas.pay_base(self.costs.base)
        self.gas.pay_base(self.costs.promise_return)
        self._view_check("promise_return")
        promise = self.receipts.promise(promise_idx)
        if promise.receipt_index is None:
            raise errors.cannot_return_joint_promise()
        self.return_data = ReturnData(ReturnKind.RECEIPT_INDEX, receipt_index=promise.receipt_index)


def _split_method_names(raw: bytes) -> list[str]:
    """nearcore's `split_method_names`: comma-separated UTF-8 names, none empty."""
    if not raw:
        return []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.invalid_method_name() from exc
    names = text.split(",")
    if any(not n for n in names):
        raise errors.invalid_method_name()
    return names
