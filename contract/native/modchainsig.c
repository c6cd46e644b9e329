/* `_chainsig`: the native functions of the signer contract (chainsig_crypto.c) as a MicroPython module.
 *
 *   sha3_256(data) -> 32 bytes
 *   ed25519_precompute(point) -> 96 bytes (y-x, y+x, 2dxy) | None if `point` is not an encoded point
 *   ed25519_scalarmult_base_add(scalar, precomputed) -> compress(scalar*B + P) | None
 *       (scalar: 32 bytes little-endian below 2^255; precomputed: 96 bytes from ed25519_precompute, or None)
 *   ed25519_add(p, q) -> compress(P + Q) | None if either is not an encoded point
 *   b58encode(data) -> str;  b58decode(text) -> bytes | the index (int) of the first character outside the alphabet
 *
 * Bad input returns None rather than raising: this port's NLR only flags a raised exception and returns into
 * the C caller, so the Python side (contract/signer/edwards.py) turns None into its own error.
 * Added to the port by contract/build.py (see contract/patches/webassembly-near.patch, Makefile hunk).
 */
#include "py/runtime.h"
#include "py/obj.h"

#include "chainsig_crypto.h"

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

static const mp_rom_map_elem_t chainsig_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__chainsig) },
    { MP_ROM_QSTR(MP_QSTR_sha3_256), MP_ROM_PTR(&chainsig_sha3_256_obj) },
    { MP_ROM_QSTR(MP_QSTR_ed25519_precompute), MP_ROM_PTR(&chainsig_ed25519_precompute_obj) },
    { MP_ROM_QSTR(MP_QSTR_ed25519_scalarmult_base_add), MP_ROM_PTR(&chainsig_ed25519_scalarmult_base_add_obj) },
    { MP_ROM_QSTR(MP_QSTR_ed25519_add), MP_ROM_PTR(&chainsig_ed25519_add_obj) },
    { MP_ROM_QSTR(MP_QSTR_b58encode), MP_ROM_PTR(&chainsig_b58encode_obj) },
    { MP_ROM_QSTR(MP_QSTR_b58decode), MP_ROM_PTR(&chainsig_b58decode_obj) },
};
static MP_DEFINE_CONST_DICT(chainsig_module_globals, chainsig_module_globals_table);

const mp_obj_module_t chainsig_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&chainsig_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__chainsig, chainsig_module);
