"""BLS12-381 for confidential key derivation, on NEAR's host functions (`_chainsig.bls12381_*`, contract/native).

Points travel as "bls12381g1:<base58 48 bytes>" / "bls12381g2:<base58 96 bytes>" (ZCash compressed encodings);
the host functions take and return them uncompressed (96 / 192 bytes), and refuse malformed encodings.

hash_app_id(mvk, app_id) = RFC 9380 hash_to_curve, suite BLS12381G1_XMD:SHA-256_SSWU_RO_ with the DST
"NEAR BLS12381G1_XMD:SHA-256_SSWU_RO_", of mvk_compressed || app_id (as mpc_service/protocol/ckd.py): hash_to_field
(expand_message_xmd with SHA-256, two elements of 64 bytes reduced mod p) here; map_to_curve and clear_cofactor by
`bls12381_map_fp_to_g1` (both elements in one call); the sum by `bls12381_p1_sum` (clearing the cofactor is a
homomorphism, so clear(Q0) + clear(Q1) = clear(Q0 + Q1)).
"""

import _chainsig
import near

P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
CKD_DOMAIN = b"NEAR BLS12381G1_XMD:SHA-256_SSWU_RO_"
G1_PREFIX = "bls12381g1:"
G2_PREFIX = "bls12381g2:"
# Uncompressed G1 generator and negated G2 generator (tests/contract/test_ckd.py checks them against arkworks).
G1_GENERATOR = bytes.fromhex(
    "17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
    "08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1")
MINUS_G2_GENERATOR = bytes.fromhex(
    "13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
    "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
    "13fa4d4a0ad8b1ce186ed5061789213d993923066dddaf1040bc3ff59f825c78df74f2d75467e25e0f55f8a00fa030ed"
    "0d1b3cc2c7027888be51d9ef691d77bcb679afda66c73f17f9ee3837a55024f78c71363275a75d75d86bab79f74782aa")
SCALAR_ONE = b"\x01" + bytes(31)  # little-endian, as the multiexp host functions read scalars


class PointError(Exception):
    """Text or bytes that are not an acceptable BLS12-381 point."""


def parse_point(text, prefix, size):
    """'<prefix><base58 of size bytes>' -> the compressed bytes (format only; the curve checks are the host's)."""
    import kdf

    if not isinstance(text, str):
        raise PointError("expected a string " + prefix + "<base58>")
    if not text.startswith(prefix):
        raise PointError("must start with " + prefix)
    try:
        raw = kdf.base58_decode(text[len(prefix):])
    except kdf.KeyFormatError as exc:
        raise PointError(str(exc))
    if len(raw) != size:
        raise PointError("expected " + str(size) + " bytes, got " + str(len(raw)))
    return raw


def format_point(raw, prefix):
    return prefix + _chainsig.b58encode(raw)


def is_identity(uncompressed):
    return uncompressed[0] & 0x40 != 0


def decompress_g1(compressed):
    """Concatenated 48-byte points -> concatenated 96-byte uncompressed points, or None (a malformed point)."""
    return _chainsig.bls12381_p1_decompress(compressed)


def decompress_g2(compressed):
    return _chainsig.bls12381_p2_decompress(compressed)


def in_g1(uncompressed):
    """Whether a curve point (uncompressed) lies in the prime-order subgroup (the multiexp host function checks)."""
    return _chainsig.bls12381_g1_multiexp(uncompressed + SCALAR_ONE) is not None


def in_g2(uncompressed):
    return _chainsig.bls12381_g2_multiexp(uncompressed + SCALAR_ONE) is not None


def check_master_key(raw):
    """A domain's 96-byte compressed master public key -> its uncompressed form (stored with the domain), checked:
    a point of G2, not the identity. Raises PointError."""
    point = decompress_g2(raw)
    if point is None:
        raise PointError("not a point of the BLS12-381 G2 curve")
    if is_identity(point):
        raise PointError("the identity is not a key")
    if not in_g2(point):
        raise PointError("not in the prime-order subgroup G2")
    return point


def _xor(a, b):
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(32, "big")


def hash_to_field(message):
    """RFC 9380 hash_to_field(message, 2) for BLS12381G1_XMD:SHA-256_SSWU_RO_ with CKD_DOMAIN: 2 x 48 bytes BE."""
    dst_prime = CKD_DOMAIN + bytes([len(CKD_DOMAIN)])
    b_0 = near.sha256(bytes(64) + message + b"\x00\x80\x00" + dst_prime)  # Z_pad, msg, I2OSP(128, 2), I2OSP(0, 1)
    b_i = near.sha256(b_0 + b"\x01" + dst_prime)
    uniform = b_i
    for i in range(2, 5):
        b_i = near.sha256(_xor(b_0, b_i) + bytes([i]) + dst_prime)
        uniform += b_i
    u0 = int.from_bytes(uniform[:64], "big") % P
    u1 = int.from_bytes(uniform[64:], "big") % P
    return u0.to_bytes(48, "big") + u1.to_bytes(48, "big")


def hash_app_id(master_key_compressed, app_id):
    """H(mvk, app_id), uncompressed (96 bytes)."""
    mapped = _chainsig.bls12381_map_fp_to_g1(hash_to_field(master_key_compressed + app_id))
    return _chainsig.bls12381_p1_sum(b"\x00" + mapped[:96] + b"\x00" + mapped[96:])


def pairing_is_one(pairs):
    """Whether the product of e(g1_i, g2_i) is one; False for points outside G1 / G2 (uncompressed inputs)."""
    return _chainsig.bls12381_pairing_check(b"".join(pairs)) == 0


def app_key_pair_ok(pk1, pk2):
    """e(pk1, G2) = e(G1, pk2): pk1 and pk2 share their discrete log (both uncompressed, checked in G1 / G2)."""
    return pairing_is_one([pk1, MINUS_G2_GENERATOR, G1_GENERATOR, pk2])


def ckd_output_ok(big_c, big_y, pk2, hash_point, master_key):
    """e(C, G2) = e(Y, pk2) * e(H, mvk) (all uncompressed)."""
    return pairing_is_one([big_c, MINUS_G2_GENERATOR, big_y, pk2, hash_point, master_key])
