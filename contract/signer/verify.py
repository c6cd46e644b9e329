"""Checking an MPC response against the derived key, and its canonical JSON (the value `sign` returns).

secp256k1: `ecrecover(payload, r || s, recovery_id, malleability_flag=True)` (so s must be low) must equal
root + tweak*G (one more ecrecover, see kdf.py), and big_r's parity byte must agree with recovery_id.
Ed25519: `ed25519_verify(signature, payload, root + tweak*B)`; the point arithmetic is native (edwards.py).
"""

import near
from host import fail
from signreq import decode_bytes

INVALID_SIGNATURE = "The provided signature is invalid."


def _field(obj, name):
    value = obj.get(name) if isinstance(obj, dict) else None
    if value is None:
        fail("Invalid response: missing " + name)
    return value


def parse_secp256k1(response):
    """-> (big_r 33 bytes, s 32 bytes, recovery_id)."""
    big_r = decode_bytes(_field(_field(response, "big_r"), "affine_point"), "response.big_r.affine_point")
    s = decode_bytes(_field(_field(response, "s"), "scalar"), "response.s.scalar")
    recovery_id = _field(response, "recovery_id")
    if len(big_r) != 33 or big_r[0] not in (2, 3):
        fail("Invalid response.big_r.affine_point: expected a 33-byte compressed point")
    if len(s) != 32:
        fail("Invalid response.s.scalar: expected 32 bytes")
    if not isinstance(recovery_id, int) or isinstance(recovery_id, bool) or recovery_id not in (0, 1):
        fail("Invalid response.recovery_id: expected 0 or 1")
    return big_r, s, recovery_id


def verify_secp256k1(root_xy, tweak, payload, big_r, s, recovery_id):
    import kdf

    if big_r[0] != 2 + recovery_id:
        return False
    expected = kdf.derive_secp256k1(root_xy, tweak)
    if expected is None:
        return False
    recovered = near.ecrecover(payload, big_r[1:] + s, recovery_id, True)
    return recovered is not None and recovered == expected


def secp256k1_json(big_r, s, recovery_id):
    return ('{"scheme":"Secp256k1","big_r":{"affine_point":"' + big_r.hex().upper() + '"},"s":{"scalar":"'
            + s.hex().upper() + '"},"recovery_id":' + str(recovery_id) + "}")


def parse_ed25519(response):
    signature = decode_bytes(_field(response, "signature"), "response.signature")
    if len(signature) != 64:
        fail("Invalid response.signature: expected 64 bytes, got " + str(len(signature)))
    return signature


def verify_ed25519(root, tweak, payload, signature, root_precomputed=None):
    import edwards

    try:
        derived = edwards.derive_ed25519(root, tweak, root_precomputed)
    except edwards.PointError:
        return False
    # nearc's binding declares four arguments but passes the first three to the host.
    return near.ed25519_verify(signature, payload, derived, None)


def ed25519_json(signature):
    return '{"scheme":"Ed25519","signature":[' + ",".join(str(b) for b in signature) + "]}"
