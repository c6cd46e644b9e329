"""The gas counter, a port of nearcore's `GasCounter` (`logic/gas_counter.rs`).

burnt gas is irreversibly spent; used gas = burnt + gas reserved for receipts the call created.
`gas_limit` = min(max_gas_burnt, prepaid − reserved) bounds what may still be burnt. Views ignore
the prepaid amount (it is treated as u64::MAX), as nearcore does.
"""

from __future__ import annotations

from localnet.runtime import errors

U64_MAX = (1 << 64) - 1


class GasCounter:
    def __init__(self, max_gas_burnt: int, prepaid_gas: int, is_view: bool) -> None:
        self.is_view = is_view
        self.max_gas_burnt = max_gas_burnt
        self.prepaid_gas = U64_MAX if is_view else prepaid_gas
        self.burnt_gas = 0
        self.promises_gas = 0
        self.gas_limit = min(max_gas_burnt, self.prepaid_gas)

    @property
    def used_gas(self) -> int:
        return self.burnt_gas + self.promises_gas

    @property
    def remaining(self) -> int:
        """Gas that may still be burnt before the limit is hit."""
        return self.gas_limit - self.burnt_gas

    def burn(self, gas: int) -> None:
        """Burn `gas` (wasm ops and host-function costs); raises GasExceeded / GasLimitExceeded."""
        new_burnt = self.burnt_gas + gas
        if new_burnt > U64_MAX:
            raise errors.integer_overflow()
        if new_burnt <= self.gas_limit:
            self.burnt_gas = new_burnt
            return
        raise self._process_gas_limit(new_burnt, (new_burnt + self.promises_gas) & U64_MAX)

    def pay_base(self, cost: int) -> None:
        self.burn(cost)

    def pay_per(self, cost: int, num: int) -> None:
        gas = cost * num
        if gas > U64_MAX:
            raise errors.integer_overflow()
        self.burn(gas)

    def deduct(self, burn: int, use: int) -> None:
        """Burn `burn` and reserve `use − burn` for receipts (nearcore's `deduct_gas`)."""
        assert burn <= use
        promises = use - burn
        new_promises = self.promises_gas + promises
        new_burnt = self.burnt_gas + burn
        if new_promises > U64_MAX or new_burnt > U64_MAX or new_burnt + new_promises > U64_MAX:
            raise errors.integer_overflow()
        new_used = new_burnt + new_promises
        if new_burnt <= self.max_gas_burnt and new_used <= self.prepaid_gas:
            if promises != 0 and not self.is_view:
                self.gas_limit = min(self.max_gas_burnt, self.prepaid_gas - new_promises)
            self.burnt_gas = new_burnt
            self.promises_gas = new_promises
            return
        raise self._process_gas_limit(new_burnt, new_used)

    def prepay(self, use: int) -> None:
        self.deduct(0, use)

    def exhaust(self) -> errors.HostErrorSignal:
        """The wasm ran out of operators: burn up to the hard limit and report which limit it was."""
        return self._process_gas_limit(self.gas_limit + 1, self.gas_limit + 1 + self.promises_gas)

    def _process_gas_limit(self, new_burnt: int, new_used: int) -> errors.HostErrorSignal:
        hard_burnt_limit = min(self.prepaid_gas, self.max_gas_burnt)
        self.burnt_gas = min(new_burnt, hard_burnt_limit)
        used_gas_limit = min(self.prepaid_gas, new_used)
        self.promises_gas = max(0, used_gas_limit - self.burnt_gas)
        if new_burnt > self.max_gas_burnt:
            return errors.gas_limit_exceeded()
        return errors.gas_exceeded()
