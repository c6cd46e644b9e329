"""Signature requests: argument parsing and validation, the pending-request queues, the request object.

The request object (what `respond` takes and what events carry):
    {"tweak": "<32-byte hex>", "payload": {"Ecdsa": "<hex>"} | {"Eddsa": "<hex>"}, "domain_id": n}
Pending queue: key b"p" + SHA-256(u32_le(domain) || tweak || u8 kind || u32_le(len) || payload) (the same
digest the MPC node uses as request id, mpc_service/chain/events.py), value JSON [[data_id_hex, n], ...]
where n numbers the yield so its timeout callback removes exactly its own entry.
"""

import json

import near
from host import fail

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MAX_FAN_OUT = 128
EDDSA_MAX_BYTES = 1232  # near/mpc: 0..1232 bytes (Solana's transaction size limit)
KIND_OF_SCHEME = {"Secp256k1": "Ecdsa", "Ed25519": "Eddsa"}
REQUEST_NOT_FOUND = "This sign request has timed out, was completed, or never existed."


def decode_bytes(value, name):
    """Hex string or list of byte ints -> bytes; panics with a message naming the field."""
    if isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except Exception:  # noqa: BLE001 - ValueError in both interpreters (bad digit, odd length)
            fail("Invalid " + name + ": not a hex string of even length")
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, int) or isinstance(item, bool) or item < 0 or item > 255:
                fail("Invalid " + name + ": expected a list of byte values 0..255")
        return bytes(value)
    fail("Invalid " + name + ": expected a hex string or a list of bytes")


def _u32(value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 2**32:
        fail("Invalid " + name + ": expected an integer in [0, 2^32)")
    return value


def parse_sign_args(args):
    """`sign`'s {"request": {...}} -> (path, domain_id, kind, payload bytes); checks the reference's rules."""
    request = args.get("request")
    if not isinstance(request, dict):
        fail("Invalid sign arguments: expected {\"request\": {\"path\", \"payload_v2\", \"domain_id\"}}")
    path = request.get("path")
    if not isinstance(path, str):
        fail("Invalid request.path: expected a string")
    v2 = request.get("payload_v2")
    legacy = request.get("payload")
    if v2 is not None and legacy is not None:
        fail("payload_v2 and payload are mutually exclusive")
    domain = request.get("domain_id")
    key_version = request.get("key_version")
    if domain is not None and key_version is not None:
        fail("domain_id and key_version are mutually exclusive")
    if domain is None:
        domain = key_version if key_version is not None else 0
    domain = _u32(domain, "request.domain_id")
    if v2 is not None:
        if not isinstance(v2, dict) or len(v2) != 1:
            fail("Invalid request.payload_v2: expected {\"Ecdsa\": hex} or {\"Eddsa\": hex}")
        kind = next(iter(v2.keys()))
        if kind != "Ecdsa" and kind != "Eddsa":
            fail("Invalid request.payload_v2: unknown payload type " + json.dumps(kind))
        payload = decode_bytes(v2[kind], "request.payload_v2." + kind)
    elif legacy is not None:
        kind = "Ecdsa"
        payload = decode_bytes(legacy, "request.payload")
    else:
        fail("Missing payload: provide request.payload_v2 (or the legacy request.payload)")
    return path, domain, kind, payload


def check_payload(kind, payload, domain, scheme):
    """Payload rules of the domain's scheme (the MPC nodes would fail the same way later)."""
    if scheme not in KIND_OF_SCHEME:
        fail("Domain " + str(domain) + " is a " + scheme + " domain for confidential key derivation: it does not sign"
             " (use request_app_private_key).")
    if KIND_OF_SCHEME[scheme] != kind:
        fail("Malformed payload. Payload type " + kind + " does not match the " + scheme + " scheme of domain "
             + str(domain) + ".")
    if kind == "Ecdsa":
        if len(payload) != 32:
            fail("Malformed payload. Ecdsa payload must be exactly 32 bytes, got " + str(len(payload)) + ".")
        value = int.from_bytes(payload, "big")
        # Stricter than near/mpc (which accepts 0): with h = 0 anyone can forge a signature for any key
        # (R = u*X, r = R.x, s = r/u verifies), and the nodes refuse it only after spending a presignature.
        if value == 0:
            fail("Malformed payload. Ecdsa payload must not be zero (a zero hash makes ECDSA signatures forgeable).")
        if value >= SECP256K1_N:
            fail("Malformed payload. Payload hash cannot be converted to a secp256k1 scalar (must be below n).")
    elif len(payload) > EDDSA_MAX_BYTES:
        fail("Malformed payload. Eddsa payload must be at most " + str(EDDSA_MAX_BYTES) + " bytes, got "
             + str(len(payload)) + ".")


def parse_request_object(request):
    """The request object of `respond` / `get_pending_request` -> (domain_id, tweak, kind, payload)."""
    if not isinstance(request, dict):
        fail("Invalid request: expected {\"tweak\", \"payload\", \"domain_id\"}")
    domain = _u32(request.get("domain_id"), "request.domain_id")
    tweak = decode_bytes(request.get("tweak"), "request.tweak")
    if len(tweak) != 32:
        fail("Invalid request.tweak: expected 32 bytes, got " + str(len(tweak)))
    payload_obj = request.get("payload")
    if not isinstance(payload_obj, dict) or len(payload_obj) != 1:
        fail("Invalid request.payload: expected {\"Ecdsa\": hex} or {\"Eddsa\": hex}")
    kind = next(iter(payload_obj.keys()))
    if kind != "Ecdsa" and kind != "Eddsa":
        fail("Invalid request.payload: unknown payload type " + json.dumps(kind))
    return domain, tweak, kind, decode_bytes(payload_obj[kind], "request.payload." + kind)


def request_json(domain, tweak, kind, payload):
    """The canonical request object, serialized."""
    # MicroPython's b"".hex() divides by zero: an empty Eddsa payload is written as "" directly.
    return ('{"tweak":"' + tweak.hex() + '","payload":{"' + kind + '":"' + (payload.hex() if payload else "")
            + '"},"domain_id":'
            + str(domain) + "}")


def request_id(domain, tweak, kind, payload):
    body = (domain.to_bytes(4, "little") + tweak + (b"\x00" if kind == "Ecdsa" else b"\x01")
            + len(payload).to_bytes(4, "little") + payload)
    return near.sha256(body)


def queue_key(rid):
    return b"p" + rid


def read_queue(rid):
    raw = near.storage_read(queue_key(rid))
    return [] if raw is None else json.loads(raw)


def write_queue(rid, queue):
    if queue:
        near.storage_write(queue_key(rid), json.dumps(queue))
    else:
        near.storage_remove(queue_key(rid))


def drop_timed_out(call_args, read_queue, write_queue, event, fail_on_timeout_tera_gas):
    """A yield timed out (its callback's {"request", "rid", "n"}): remove its queue entry, log `event`, and fail the
    user's transaction through `fail_on_timeout` (a panic here would roll back the cleanup)."""
    from host import TGAS, emit_event

    rid = bytes.fromhex(call_args["rid"])
    queue = read_queue(rid)
    kept = []
    data_id = None
    for entry in queue:
        if entry[1] == call_args["n"]:
            data_id = entry[0]
        else:
            kept.append(entry)
    write_queue(rid, kept)
    emit_event(event, '{"request":' + json.dumps(call_args["request"]) + ',"data_id":' + json.dumps(data_id) + "}")
    promise = near.promise_create(near.current_account_id(), "fail_on_timeout", "{}", 0,
                                  fail_on_timeout_tera_gas * TGAS)
    near.promise_return(promise)
