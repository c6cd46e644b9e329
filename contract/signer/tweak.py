"""The derivation tweak (near/mpc `derive_tweak`), alone so that `sign` imports nothing else of kdf.py."""

TWEAK_PREFIX = b"near-mpc-recovery v0.1.0 epsilon derivation:"


def derive_tweak(predecessor_id, path):
    """SHA3-256(prefix || predecessor || "," || path): the 32-byte tweak for (predecessor, path).

    SHA3 is native code in the contract's runtime (`_chainsig`, contract/native): NEAR has no SHA3 host
    function (`keccak256` pads differently)."""
    from _chainsig import sha3_256

    return sha3_256(TWEAK_PREFIX + predecessor_id.encode() + b"," + path.encode())
