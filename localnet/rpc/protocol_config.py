"""`EXPERIMENTAL_protocol_config`: the subset of nearcore's ProtocolConfigView this chain can state truthfully.

Clients read a few fields (near-api-js' `Account.getAccountBalance` needs `runtime_config.storage_amount_per_byte`;
harnesses read `wasm_config.limit_config`). Fields the embedded chain has no value for are left out rather than
invented; see docs/rpc.md.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from localnet.chain.chain import TX_VALIDITY_PERIOD
from localnet.runtime.fees import (
    MIN_GAS_PRICE_YOCTO,
    STORAGE_AMOUNT_PER_BYTE_YOCTO,
    STORAGE_NUM_BYTES_ACCOUNT,
    STORAGE_NUM_EXTRA_BYTES_RECORD,
    VM_LIMITS,
)

JSON = dict[str, Any]


def protocol_config(status: JSON) -> JSON:
    """Built from `status` (chain id, protocol version, genesis) and the runtime's fee and limit tables."""
    sync = status["sync_info"]
    return {
        "protocol_version": status["protocol_version"],
        "chain_id": status["chain_id"],
        "genesis_height": sync["earliest_block_height"],
        "genesis_time": sync["earliest_block_time"],
        "num_block_producer_seats": 1,
        "num_block_producer_seats_per_shard": [1],
        "avg_hidden_validator_seats_per_shard": [0],
        "transaction_validity_period": TX_VALIDITY_PERIOD,
        "min_gas_price": str(MIN_GAS_PRICE_YOCTO),
        "runtime_config": {
            "storage_amount_per_byte": str(STORAGE_AMOUNT_PER_BYTE_YOCTO),
            "transaction_costs": {
                "storage_usage_config": {
                    "num_bytes_account": STORAGE_NUM_BYTES_ACCOUNT,
                    "num_extra_bytes_record": STORAGE_NUM_EXTRA_BYTES_RECORD,
                },
            },
            "wasm_config": {"limit_config": dataclasses.asdict(VM_LIMITS)},
        },
    }
