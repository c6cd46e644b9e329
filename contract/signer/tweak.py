"""The derivation tweak (near/mpc `derive_tweak`), alone so that `sign` imports nothing else of kdf.py."""

TWEAK_PREFIX = b"near-mpc-recovery v0.1.0 epsilon derivation:"


def derive_tweak(predecessor_id, path):
    """SHA3-256(prefix || predecessor || "," || path): the 32-byte tweak for (predecessor, path)."""
    import sha3

    return sha3.sha3_256(TWEAK_PREFIX + predecessor_id.encode() + b"," + path.encode())
