/* Native SHA3-256 and edwards25519 arithmetic for the signer contract (see chainsig_crypto.c).
 * Plain C99 without MicroPython dependencies: modchainsig.c binds it into the contract's interpreter, and the
 * tests compile it with the host C compiler to check it against hashlib and libsodium. */
#ifndef CHAINSIG_CRYPTO_H
#define CHAINSIG_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* FIPS 202 SHA3-256 of data[0..len). */
void chainsig_sha3_256(uint8_t out[32], const uint8_t *data, size_t len);

/* Decompress a 32-byte point and return it as (y-x, y+x, 2dxy) mod p, 32 bytes little-endian each.
 * Returns 0, or -1 if the bytes do not encode a point (y >= p, no square root, x = 0 with the sign bit set). */
int chainsig_ed25519_precompute(uint8_t out[96], const uint8_t point[32]);

/* out = compress(scalar * B + P), P given in the form chainsig_ed25519_precompute returns (or the identity if
 * precomputed is NULL). The scalar is 32 bytes little-endian and must be below 2^255; returns -1 otherwise. */
int chainsig_ed25519_scalarmult_base_add(uint8_t out[32], const uint8_t scalar[32], const uint8_t *precomputed);

/* out = compress(P + Q). Returns -1 if either input is not a point. */
int chainsig_ed25519_add(uint8_t out[32], const uint8_t p[32], const uint8_t q[32]);

/* Base58 (Bitcoin alphabet) of in[0..len) into out (room for len * 138 / 100 + 1 characters); returns the length.
 * Leading zero bytes become '1's. */
size_t chainsig_b58encode(char *out, const uint8_t *in, size_t len);

/* Base58 text -> bytes into out (room for len bytes); returns the length, or -1 (and *bad = the offending index) for
 * a character outside the alphabet. Leading '1's become zero bytes. */
long chainsig_b58decode(uint8_t *out, const char *in, size_t len, size_t *bad);

#endif
