"""Ed25519 key derivation: derived = root + (tweak mod l)*B, with the native `_chainsig` module.

NEAR has no Edwards-curve host function besides `ed25519_verify`; the point arithmetic (decompression, the
fixed-base multiplication, addition, compression) is C code in the contract's runtime (contract/native,
tested against libsodium). This module keeps the contract's rules: the root is decompressed and checked once,
at key registration, and stored in the (y-x, y+x, 2dxy) form that `derive_ed25519` adds to tweak*B.
"""

import _chainsig

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493


class PointError(Exception):
    """Bytes that do not encode a point of edwards25519."""


def precomputed(root):
    """The 96-byte (y-x, y+x, 2dxy) form of a compressed point (checked); stored once per domain key."""
    if len(root) != 32:
        raise PointError("expected 32 bytes")
    if int.from_bytes(root, "little") & ((1 << 255) - 1) >= P:
        raise PointError("y coordinate out of range")
    entry = _chainsig.ed25519_precompute(root)
    if entry is None:
        raise PointError("not a point on edwards25519")
    return entry


def derive_ed25519(root, tweak, root_precomputed=None):
    """Compressed 32-byte encoding of root + (tweak mod l)*B. Raises PointError for a bad root.

    `root_precomputed` (from `precomputed(root)`) saves the decompression."""
    entry = root_precomputed if root_precomputed is not None else precomputed(root)
    scalar = (int.from_bytes(tweak, "little") % L).to_bytes(32, "little")
    return _chainsig.ed25519_scalarmult_base_add(scalar, entry)
