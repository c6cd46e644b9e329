/* `_chainsig`: the native functions of the signer contract (chainsig_crypto.c) as a MicroPython module.
 *
 *   sha3_256(data) -> 32 bytes
 *   ed25519_precompute(point) -> 96 bytes (y-x, y+x, 2dxy) | None if `point` is not an encoded point
 *   ed25519_scalarmult_base_add(scalar, precomputed) -> compress(scalar*B + P) | None
 *       (scalar: 32 bytes little-endian below 2^255; precomputed: 96 bytes from ed25519_precompute, or None)
 *   ed25519_add(p, q) -> compress(P + Q) | None if either is not an encoded point
 *   b58encode(data) -> str;  b58decode(text) -> bytes | the index (int) of the first character outside the alphabet
 *   bls12381_p1_decompress / p2_decompress / map_fp_to_g1 / p1_sum / g1_multiexp / g2_multiexp(data) -> bytes | None
 *   bls12381_pairing_check(data) -> 0 (the product of pairings is one) | 1 (invalid input) | 2 (not one)
 *       (NEAR's BLS12-381 host functions, which nearc's `near` module does not bind: the result register's bytes, or
 *       None when the host reports invalid input; encodings and subgroup rules are nearcore's)
 *
 * Bad input returns None rather than raising: this port's NLR only flags a raised exception and returns into
 * the C caller, so the Python side (contract/signer/edwards.py) turns None into its own error.
 * Added to the port by contract/build.py (see contract/patches/webassembly-near.patch, Makefile hunk).
 */
#include "py/runtime.h"
#include "py/obj.h"

#include "chainsig_crypto.h"

#define CHAINSIG_HOST(NAME) __attribute__((import_module("env"), import_name(#NAME)))
CHAINSIG_HOST(read_register) void chainsig_read_register(uint64_t register_id, uint64_t ptr);
CHAINSIG_HOST(register_len) uint64_t chainsig_register_len(uint64_t register_id);
CHAINSIG_HOST(bls12381_p1_decompress) uint64_t chainsig_bls12381_p1_decompress(uint64_t len, uint64_t ptr, uint64_t reg);
CHAINSIG_HOST(bls12381_p2_decompress) uint64_t chainsig_bls12381_p2_decompress(uint64_t len, uint64_t ptr, uint64_t reg);
CHAINSIG_HOST(bls12381_map_fp_to_g1) uint64_t chainsig_bls12381_map_fp_to_g1(uint64_t len, uint64_t ptr, uint64_t reg);
CHAINSIG_HOST(bls12381_p1_sum) uint64_t chainsig_bls12381_p1_sum(uint64_t len, uint64_t ptr, uint64_t reg);
CHAINSIG_HOST(bls12381_g1_multiexp) uint64_t chainsig_bls12381_g1_multiexp(uint64_t len, uint64_t ptr, uint64_t reg);
CHAINSIG_HOST(bls12381_g2_multiexp) uint64_t chainsig_bls12381_g2_multiexp(uint64_t len, uint64_t ptr, uint64_t reg);
CHAINSIG_HOST(bls12381_pairing_check) uint64_t chainsig_bls12381_pairing_check(uint64_t len, uint64_t ptr);

/* A register of its own: nothing else of the port reads it between the host call and read_register. */
#define CHAINSIG_REGISTER 7

static const uint8_t *chainsig_buffer(mp_obj_t obj, size_t *len)
{
    mp_buffer_info_t info;
    mp_get_buffer_raise(obj, &info, MP_BUFFER_READ);
    *len = info.len;
    return (const uint8_t *)info.buf;
}

static mp_obj_t chainsig_sha3_256_fn(mp_obj_t data)
{
    size_t len;
    const uint8_t *buf = chainsig_buffer(data, &len);
    uint8_t out[32];
    chainsig_sha3_256(out, buf, len);
    return mp_obj_new_bytes(out, sizeof(out));
}
static MP_DEFINE_CONST_FUN_OBJ_1(chainsig_sha3_256_obj, chainsig_sha3_256_fn);

static mp_obj_t chainsig_ed25519_precompute_fn(mp_obj_t point)
{
    size_t len;
    const uint8_t *buf = chainsig_buffer(point, &len);
    uint8_t out[96];
    if (len != 32 || chainsig_ed25519_precompute(out, buf) != 0) {
        return mp_const_none;
    }
    return mp_obj_new_bytes(out, sizeof(out));
}
static MP_DEFINE_CONST_FUN_OBJ_1(chainsig_ed25519_precompute_obj, chainsig_ed25519_precompute_fn);

static mp_obj_t chainsig_ed25519_scalarmult_base_add_fn(mp_obj_t scalar, mp_obj_t precomputed)
{
    size_t scalar_len, pre_len = 96;
    const uint8_t *scalar_buf = chainsig_buffer(scalar, &scalar_len);
    const uint8_t *pre_buf = precomputed == mp_const_none ? NULL : chainsig_buffer(precomputed, &pre_len);
    uint8_t out[32];
    if (scalar_len != 32 || pre_len != 96 || chainsig_ed25519_scalarmult_base_add(out, scalar_buf, pre_buf) != 0) {
        return mp_const_none;
    }
    return mp_obj_new_bytes(out, sizeof(out));
}
static MP_DEFINE_CONST_FUN_OBJ_2(chainsig_ed25519_scalarmult_base_add_obj, chainsig_ed25519_scalarmult_base_add_fn);

static mp_obj_t chainsig_ed25519_add_fn(mp_obj_t p, mp_obj_t q)
{
    size_t p_len, q_len;
    const uint8_t *p_buf = chainsig_buffer(p, &p_len);
    const uint8_t *q_buf = chainsig_buffer(q, &q_len);
    uint8_t out[32];
    if (p_len != 32 || q_len != 32 || chainsig_ed25519_add(out, p_buf, q_buf) != 0) {
        return mp_const_none;
    }
    return mp_obj_new_bytes(out, sizeof(out));
}
static MP_DEFINE_CONST_FUN_OBJ_2(chainsig_ed25519_add_obj, chainsig_ed25519_add_fn);

static mp_obj_t chainsig_b58encode_fn(mp_obj_t data)
{
    size_t len;
    const uint8_t *buf = chainsig_buffer(data, &len);
    vstr_t out;
    vstr_init_len(&out, len * 138 / 100 + 1);
    out.len = chainsig_b58encode(out.buf, buf, len);
    return mp_obj_new_str_from_vstr(&out);
}
static MP_DEFINE_CONST_FUN_OBJ_1(chainsig_b58encode_obj, chainsig_b58encode_fn);

static mp_obj_t chainsig_b58decode_fn(mp_obj_t text)
{
    size_t len, bad = 0;
    const uint8_t *buf = chainsig_buffer(text, &len);
    vstr_t out;
    vstr_init_len(&out, len);
    long n = chainsig_b58decode((uint8_t *)out.buf, (const char *)buf, len, &bad);
    if (n < 0) {
        vstr_clear(&out);
        return MP_OBJ_NEW_SMALL_INT((mp_int_t)bad);
    }
    out.len = (size_t)n;
    return mp_obj_new_bytes_from_vstr(&out);
}
static MP_DEFINE_CONST_FUN_OBJ_1(chainsig_b58decode_obj, chainsig_b58decode_fn);

typedef uint64_t (*chainsig_bls_fn)(uint64_t len, uint64_t ptr, uint64_t reg);

static mp_obj_t chainsig_bls_call(chainsig_bls_fn fn, mp_obj_t data)
{
    size_t len;
    const uint8_t *buf = chainsig_buffer(data, &len);
    if (fn((uint64_t)len, (uint64_t)(uintptr_t)buf, CHAINSIG_REGISTER) != 0) {
        return mp_const_none;
    }
    vstr_t out;
    size_t out_len = (size_t)chainsig_register_len(CHAINSIG_REGISTER);
    vstr_init_len(&out, out_len);
    chainsig_read_register(CHAINSIG_REGISTER, (uint64_t)(uintptr_t)out.buf);
    return mp_obj_new_bytes_from_vstr(&out);
}

#define CHAINSIG_BLS_BINDING(NAME) \
    static mp_obj_t chainsig_##NAME##_fn(mp_obj_t data) { return chainsig_bls_call(chainsig_##NAME, data); } \
    static MP_DEFINE_CONST_FUN_OBJ_1(chainsig_##NAME##_obj, chainsig_##NAME##_fn);

CHAINSIG_BLS_BINDING(bls12381_p1_decompress)
CHAINSIG_BLS_BINDING(bls12381_p2_decompress)
CHAINSIG_BLS_BINDING(bls12381_map_fp_to_g1)
CHAINSIG_BLS_BINDING(bls12381_p1_sum)
CHAINSIG_BLS_BINDING(bls12381_g1_multiexp)
CHAINSIG_BLS_BINDING(bls12381_g2_multiexp)

static mp_obj_t chainsig_bls12381_pairing_check_fn(mp_obj_t data)
{
    size_t len;
    const uint8_t *buf = chainsig_buffer(data, &len);
    return MP_OBJ_NEW_SMALL_INT((mp_int_t)chainsig_bls12381_pairing_check((uint64_t)len, (uint64_t)(uintptr_t)buf));
}
static MP_DEFINE_CONST_FUN_OBJ_1(chainsig_bls12381_pairing_check_obj, chainsig_bls12381_pairing_check_fn);

static const mp_rom_map_elem_t chainsig_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__chainsig) },
    { MP_ROM_QSTR(MP_QSTR_sha3_256), MP_ROM_PTR(&chainsig_sha3_256_obj) },
    { MP_ROM_QSTR(MP_QSTR_ed25519_precompute), MP_ROM_PTR(&chainsig_ed25519_precompute_obj) },
    { MP_ROM_QSTR(MP_QSTR_ed25519_scalarmult_base_add), MP_ROM_PTR(&chainsig_ed25519_scalarmult_base_add_obj) },
    { MP_ROM_QSTR(MP_QSTR_ed25519_add), MP_ROM_PTR(&chainsig_ed25519_add_obj) },
    { MP_ROM_QSTR(MP_QSTR_b58encode), MP_ROM_PTR(&chainsig_b58encode_obj) },
    { MP_ROM_QSTR(MP_QSTR_b58decode), MP_ROM_PTR(&chainsig_b58decode_obj) },
    { MP_ROM_QSTR(MP_QSTR_bls12381_p1_decompress), MP_ROM_PTR(&chainsig_bls12381_p1_decompress_obj) },
    { MP_ROM_QSTR(MP_QSTR_bls12381_p2_decompress), MP_ROM_PTR(&chainsig_bls12381_p2_decompress_obj) },
    { MP_ROM_QSTR(MP_QSTR_bls12381_map_fp_to_g1), MP_ROM_PTR(&chainsig_bls12381_map_fp_to_g1_obj) },
    { MP_ROM_QSTR(MP_QSTR_bls12381_p1_sum), MP_ROM_PTR(&chainsig_bls12381_p1_sum_obj) },
    { MP_ROM_QSTR(MP_QSTR_bls12381_g1_multiexp), MP_ROM_PTR(&chainsig_bls12381_g1_multiexp_obj) },
    { MP_ROM_QSTR(MP_QSTR_bls12381_g2_multiexp), MP_ROM_PTR(&chainsig_bls12381_g2_multiexp_obj) },
    { MP_ROM_QSTR(MP_QSTR_bls12381_pairing_check), MP_ROM_PTR(&chainsig_bls12381_pairing_check_obj) },
};
static MP_DEFINE_CONST_DICT(chainsig_module_globals, chainsig_module_globals_table);

const mp_obj_module_t chainsig_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&chainsig_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__chainsig, chainsig_module);
