"""`RuntimeConfig`: every knob of the VM (limits, costs, stack, compiled-module cache)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from localnet.runtime.fees import ACTION_FEES, EXT_COSTS, REGULAR_OP_COST, VM_LIMITS, ActionFees, ExtCosts, VMLimits


def _default_cache_dir() -> Path | None:
    """`$LOCALNET_WASM_CACHE` if set ("" disables the disk cache), else ~/.cache/localnet/wasm."""
    env = os.environ.get("LOCALNET_WASM_CACHE")
    if env is not None:
        return Path(env) if env else None
    return Path.home() / ".cache" / "localnet" / "wasm"


@dataclass(frozen=True)
class RuntimeConfig:
    """Configuration of one VM (defaults: nearcore protocol 86 parameters).

    `max_wasm_stack_bytes` is wasmtime's native stack limit; nearcore's 262,144-byte `max_stack_height`
    is computed by finite-wasm over wasm frames, which are a different measure (see docs/runtime.md).
    `cache_dir` holds serialized wasmtime modules keyed by sha256(prepared code) + wasmtime version;
    None disables the disk cache (the in-process LRU of `lru_size` modules always applies).
    `bls12381_not_in_group_fix` is nearcore's NEP-488 flag (false at protocol 86): whether the BLS12-381
    sums and decompressions accept the G1 points (0, ±2) (see `localnet/runtime/bls12381.py`).
    """

    limits: VMLimits = VM_LIMITS
    ext_costs: ExtCosts = EXT_COSTS
    action_fees: ActionFees = ACTION_FEES
    regular_op_cost: int = REGULAR_OP_COST
    max_wasm_stack_bytes: int = 1024 * 1024
    cache_dir: Path | None = field(default_factory=_default_cache_dir)
    lru_size: int = 16
    bls12381_not_in_group_fix: bool = False
