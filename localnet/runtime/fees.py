"""nearcore's gas parameters (protocol 86, `core/parameters/res/runtime_configs/parameters.snap`).

Two groups:

* `ActionFees` / `ACTION_FEES` — per-action fees, each a `Fee` with `send_sir` (sender is receiver),
  `send_not_sir` and `execution`. The chain uses them for transaction and receipt costs, the VM for the
  promise_batch_action_* host functions.
* `ExtCosts` / `EXT_COSTS` — host-function costs (`wasm_*` in parameters.snap).

Plus storage staking, gas price, and the VM limits in `VMLimits` / `VM_LIMITS`.
All numbers are gas units except where the name carries a unit (`_yocto`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Fee:
    """One action fee: charged at send time (sir = sender is receiver) and at execution time."""

    send_sir: int
    send_not_sir: int
    execution: int

    def send_fee(self, sender_is_receiver: bool) -> int:
        return self.send_sir if sender_is_receiver else self.send_not_sir

    def exec_fee(self) -> int:
        return self.execution


@dataclass(frozen=True)
class ActionFees:
    """nearcore's `RuntimeFeesConfig.action_fees` (+ receipt creation fees)."""

    action_receipt_creation: Fee
    data_receipt_creation_base: Fee
    data_receipt_creation_per_byte: Fee
    create_account: Fee
    delete_account: Fee
    deploy_contract_base: Fee
    deploy_contract_per_byte: Fee
    function_call_base: Fee
    function_call_per_byte: Fee
    transfer: Fee
    stake: Fee
    add_full_access_key: Fee
    add_function_call_key_base: Fee
    add_function_call_key_per_byte: Fee
    delete_key: Fee
    delegate: Fee


ACTION_FEES: Final = ActionFees(
    action_receipt_creation=Fee(108_059_500_000, 108_059_500_000, 108_059_500_000),
    data_receipt_creation_base=Fee(36_486_732_312, 36_486_732_312, 36_486_732_312),
    data_receipt_creation_per_byte=Fee(17_212_011, 47_683_715, 17_212_011),
    create_account=Fee(3_850_000_000_000, 3_850_000_000_000, 3_850_000_000_000),
    delete_account=Fee(147_489_000_000, 147_489_000_000, 147_489_000_000),
    deploy_contract_base=Fee(184_765_750_000, 184_765_750_000, 184_765_750_000),
    deploy_contract_per_byte=Fee(6_812_999, 47_683_715, 64_572_944),
    function_call_base=Fee(200_000_000_000, 200_000_000_000, 780_000_000_000),
    function_call_per_byte=Fee(2_235_934, 47_683_715, 2_235_934),
    transfer=Fee(115_123_062_500, 115_123_062_500, 115_123_062_500),
    stake=Fee(141_715_687_500, 141_715_687_500, 102_217_625_000),
    add_full_access_key=Fee(101_765_125_000, 101_765_125_000, 101_765_125_000),
    add_function_call_key_base=Fee(102_217_625_000, 102_217_625_000, 102_217_625_000),
    add_function_call_key_per_byte=Fee(1_925_331, 47_683_715, 1_925_331),
    delete_key=Fee(94_946_625_000, 94_946_625_000, 94_946_625_000),
    delegate=Fee(200_000_000_000, 200_000_000_000, 200_000_000_000),
)


@dataclass(frozen=True)
class ExtCosts:
    """Host-function costs (nearcore's `ExtCostsConfig`, names without the `wasm_` prefix)."""

    base: int = 264_768_111
    contract_loading_base: int = 35_445_963
    contract_loading_bytes: int = 1_089_295
    read_memory_base: int = 2_609_863_200
    read_memory_byte: int = 3_801_333
    write_memory_base: int = 2_803_794_861
    write_memory_byte: int = 2_723_772
    read_register_base: int = 2_517_165_186
    read_register_byte: int = 98_562
    write_register_base: int = 2_865_522_486
    write_register_byte: int = 3_801_564
    utf8_decoding_base: int = 3_111_779_061
    utf8_decoding_byte: int = 291_580_479
    utf16_decoding_base: int = 3_543_313_050
    utf16_decoding_byte: int = 163_577_493
    sha256_base: int = 4_540_970_250
    sha256_byte: int = 24_117_351
    keccak256_base: int = 5_879_491_275
    keccak256_byte: int = 21_471_105
    keccak512_base: int = 5_811_388_236
    keccak512_byte: int = 36_649_701
    ripemd160_base: int = 853_675_086
    ripemd160_block: int = 680_107_584
    ecrecover_base: int = 278_821_988_457
    ed25519_verify_base: int = 210_000_000_000
    ed25519_verify_byte: int = 9_000_000
    log_base: int = 3_543_313_050
    log_byte: int = 13_198_791
    storage_write_base: int = 64_196_736_000
    storage_write_key_byte: int = 70_482_867
    storage_write_value_byte: int = 31_018_539
    storage_write_evicted_byte: int = 32_117_307
    storage_read_base: int = 56_356_845_749
    storage_read_key_byte: int = 30_952_533
    storage_read_value_byte: int = 5_611_004
    storage_large_read_overhead_base: int = 1
    storage_large_read_overhead_byte: int = 1
    storage_remove_base: int = 53_473_030_500
    storage_remove_key_byte: int = 38_220_384
    storage_remove_ret_value_byte: int = 11_531_556
    storage_has_key_base: int = 54_039_896_625
    storage_has_key_byte: int = 30_790_845
    touching_trie_node: int = 2_280_000_000
    read_cached_trie_node: int = 2_280_000_000
    promise_and_base: int = 1_465_013_400
    promise_and_per_promise: int = 5_452_176
    promise_return: int = 560_152_386
    validator_stake_base: int = 911_834_726_400
    validator_total_stake_base: int = 911_834_726_400
    alt_bn128_g1_multiexp_base: int = 713_000_000_000
    alt_bn128_g1_multiexp_element: int = 320_000_000_000
    alt_bn128_pairing_check_base: int = 9_686_000_000_000
    alt_bn128_pairing_check_element: int = 5_102_000_000_000
    alt_bn128_g1_sum_base: int = 3_000_000_000
    alt_bn128_g1_sum_element: int = 5_000_000_000
    yield_create_base: int = 153_411_779_276
    yield_create_byte: int = 15_643_988
    yield_resume_base: int = 1_195_627_285_210
    yield_resume_byte: int = 47_683_715
    bls12381_p1_sum_base: int = 16_500_000_000
    bls12381_p1_sum_element: int = 6_000_000_000
    bls12381_p2_sum_base: int = 18_600_000_000
    bls12381_p2_sum_element: int = 15_000_000_000
    bls12381_g1_multiexp_base: int = 16_500_000_000
    bls12381_g1_multiexp_element: int = 930_000_000_000
    bls12381_g2_multiexp_base: int = 18_600_000_000
    bls12381_g2_multiexp_element: int = 1_995_000_000_000
    bls12381_map_fp_to_g1_base: int = 1_500_000_000
    bls12381_map_fp_to_g1_element: int = 252_000_000_000
    bls12381_map_fp2_to_g2_base: int = 1_500_000_000
    bls12381_map_fp2_to_g2_element: int = 900_000_000_000
    bls12381_pairing_base: int = 2_130_000_000_000
    bls12381_pairing_element: int = 2_130_000_000_000
    bls12381_p1_decompress_base: int = 15_000_000_000
    bls12381_p1_decompress_element: int = 81_000_000_000
    bls12381_p2_decompress_base: int = 15_000_000_000
    bls12381_p2_decompress_element: int = 165_000_000_000


EXT_COSTS: Final = ExtCosts()

# Wasm operator costs.
REGULAR_OP_COST: Final = 822_756
LINEAR_OP_BASE_COST: Final = 26_328_192
LINEAR_OP_UNIT_COST: Final = 822_756
GROW_MEM_COST: Final = 1


@dataclass(frozen=True)
class VMLimits:
    """nearcore's `LimitConfig` values the VM and the chain enforce."""

    max_gas_burnt: int = 1_000_000_000_000_000
    max_gas_burnt_view: int = 1_000_000_000_000_000
    max_total_prepaid_gas: int = 1_000_000_000_000_000
    max_stack_height: int = 262_144
    initial_memory_pages: int = 1_024
    max_memory_pages: int = 2_048
    registers_memory_limit: int = 1_073_741_824
    max_register_size: int = 104_857_600
    max_number_registers: int = 100
    max_number_logs: int = 100
    max_total_log_length: int = 16_384
    max_actions_per_receipt: int = 100
    max_number_bytes_method_names: int = 2_000
    max_length_method_name: int = 256
    max_arguments_length: int = 4_194_304
    max_length_returned_data: int = 4_194_304
    max_contract_size: int = 4_194_304
    max_transaction_size: int = 1_572_864
    max_receipt_size: int = 4_194_304
    max_length_storage_key: int = 2_048
    max_length_storage_value: int = 4_194_304
    max_promises_per_function_call_action: int = 1_024
    max_number_input_data_dependencies: int = 128
    max_functions_number_per_contract: int = 10_000
    max_locals_per_contract: int = 1_000_000
    max_tables_per_contract: int = 1
    max_elements_per_contract_table: int = 10_000
    yield_timeout_length_in_blocks: int = 200
    max_yield_payload_size: int = 1_024


VM_LIMITS: Final = VMLimits()

# Storage staking and economics.
STORAGE_AMOUNT_PER_BYTE_YOCTO: Final = 10_000_000_000_000_000_000
STORAGE_NUM_BYTES_ACCOUNT: Final = 100
STORAGE_NUM_EXTRA_BYTES_RECORD: Final = 40
MIN_GAS_PRICE_YOCTO: Final = 100_000_000
BURNT_GAS_REWARD: Final = (3, 10)
