"""Guest memory and registers with nearcore's gas accounting (`logic/vmstate.rs`)."""

from __future__ import annotations

import wasmtime

from localnet.runtime import errors
from localnet.runtime.fees import ExtCosts, VMLimits
from localnet.runtime.gas import U64_MAX, GasCounter


class GuestMemory:
    """Reads and writes of the imported `env.memory`, charging read/write-memory costs first."""

    def __init__(self, store: wasmtime.Store, memory: wasmtime.Memory, gas: GasCounter, costs: ExtCosts) -> None:
        self._store = store
        self._memory = memory
        self._gas = gas
        self._costs = costs

    def _check(self, ptr: int, length: int) -> None:
        if ptr + length > self._memory.data_len(self._store):
            raise errors.memory_access_violation()

    def view(self, ptr: int, length: int) -> bytes:
        self._gas.pay_base(self._costs.read_memory_base)
        self._gas.pay_per(self._costs.read_memory_byte, length)
        return self.view_for_free(ptr, length)

    def view_for_free(self, ptr: int, length: int) -> bytes:
        self._check(ptr, length)
        if length == 0:
            return b""
        return bytes(self._memory.read(self._store, ptr, ptr + length))

    def set(self, ptr: int, data: bytes) -> None:
        self._gas.pay_base(self._costs.write_memory_base)
        self._gas.pay_per(self._costs.write_memory_byte, len(data))
        self._check(ptr, len(data))
        if data:
            self._memory.write(self._store, data, ptr)

    def get_u128(self, ptr: int) -> int:
        return int.from_bytes(self.view(ptr, 16), "little")

    def set_u128(self, ptr: int, value: int) -> None:
        self.set(ptr, value.to_bytes(16, "little"))

    def get_u8(self, ptr: int) -> int:
        return self.view(ptr, 1)[0]

    def get_u16(self, ptr: int) -> int:
        return int.from_bytes(self.view(ptr, 2), "little")


class Registers:
    """Up to `max_number_registers` blobs; usage = Σ(len + 8) ≤ registers_memory_limit."""

    def __init__(self, gas: GasCounter, costs: ExtCosts, limits: VMLimits) -> None:
        self._gas = gas
        self._costs = costs
        self._limits = limits
        self._registers: dict[int, bytes] = {}
        self._usage = 0

    def get(self, register_id: int) -> bytes:
        data = self._registers.get(register_id)
        if data is None:
            raise errors.invalid_register_id(register_id)
        self._gas.pay_base(self._costs.read_register_base)
        self._gas.pay_per(self._costs.read_register_byte, len(data))
        return data

    def get_len(self, register_id: int) -> int:
        data = self._registers.get(register_id)
        return U64_MAX if data is None else len(data)

    def set(self, register_id: int, data: bytes, charge_bytes: bool = True) -> None:
        self._gas.pay_base(self._costs.write_register_base)
        if charge_bytes:
            self._gas.pay_per(self._costs.write_register_byte, len(data))
        if len(data) > self._limits.max_register_size:
            raise errors.memory_access_violation()
        # nearcore quirk kept for fidelity: at the register-count limit even replacing fails.
        if len(self._registers) >= self._limits.max_number_registers:
            raise errors.memory_access_violation()
        old = self._registers.get(register_id)
        usage = self._usage - (0 if old is None else len(old) + 8) + len(data) + 8
        if usage > self._limits.registers_memory_limit:
            raise errors.memory_access_violation()
        self._usage = usage
        self._registers[register_id] = bytes(data)
