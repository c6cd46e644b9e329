"""Confidential key derivation requests (near/mpc's `request_app_private_key` / `respond_ckd`): parsing, the pending
queues, the pending request object.

`request_app_private_key({"request": {"derivation_path", "app_public_key", "domain_id"}})` with app_public_key
"bls12381g1:<base58 48 bytes>" or {"pk1": "bls12381g1:…", "pk2": "bls12381g2:<base58 96 bytes>"} (pk2 = a·G2 for
the a of pk1 = a·G1 makes the response publicly verifiable). The pending request object (what `respond_ckd` and
`get_pending_ckd_request` take, what the events carry):
    {"app_public_key": <as given, base58 canonical>, "app_id": "<32-byte hex>", "domain_id": n}
with app_id = SHA3-256("near-mpc v0.1.0 app_id derivation:" + predecessor + "," + derivation_path).
Queue: key b"q" + SHA-256(b"ckd" || u32_le(domain) || app_id || pk1 || pk2?), value JSON [[data_id_hex, n], ...]
as for sign (signreq.py). The entry points live here (contract.py only forwards), so that `sign` does not pay for
loading them.
"""

import json

import near
from host import TGAS, args, emit_event, fail, require_no_deposit, require_private, return_json

CALLBACK = "return_ck_and_clean_state_on_success"
COUNTER_KEY = "n"  # contract.COUNTER_KEY: one counter numbers the yields of sign and of CKD requests
MAX_FAN_OUT = 128  # signreq.MAX_FAN_OUT
APP_ID_PREFIX = b"near-mpc v0.1.0 app_id derivation:"
REQUEST_NOT_FOUND = "This CKD request has timed out, was completed, or never existed."
RESPONSE_INVALID = "The provided CKD response is invalid: e(big_c, G2) != e(big_y, pk2) * e(H(mvk, app_id), mvk)."


def _u32(value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 2**32:
        fail("Invalid " + name + ": expected an integer in [0, 2^32)")
    return value


def _point(text, name, g2=False):
    import bls

    try:
        if g2:
            return bls.parse_point(text, bls.G2_PREFIX, 96)
        return bls.parse_point(text, bls.G1_PREFIX, 48)
    except bls.PointError as exc:
        fail("Invalid " + name + ": " + str(exc))


def parse_app_public_key(value, name):
    """"bls12381g1:…" | {"pk1", "pk2"} -> (pk1 48 bytes, pk2 96 bytes or None), format only."""
    if isinstance(value, str):
        return _point(value, name), None
    if not isinstance(value, dict) or "pk1" not in value or "pk2" not in value:
        fail("Invalid " + name + ": expected \"bls12381g1:<base58>\" or {\"pk1\": \"bls12381g1:…\", "
             "\"pk2\": \"bls12381g2:…\"}")
    return _point(value["pk1"], name + ".pk1"), _point(value["pk2"], name + ".pk2", True)


def parse_request_args(args):
    """`request_app_private_key`'s arguments -> (derivation_path, domain_id, pk1, pk2 | None)."""
    request = args.get("request")
    if not isinstance(request, dict):
        fail("Invalid request_app_private_key arguments: expected {\"request\": {\"derivation_path\", "
             "\"app_public_key\", \"domain_id\"}}")
    path = request.get("derivation_path")
    if not isinstance(path, str):
        fail("Invalid request.derivation_path: expected a string")
    domain = _u32(request.get("domain_id"), "request.domain_id")
    pk1, pk2 = parse_app_public_key(request.get("app_public_key"), "request.app_public_key")
    return path, domain, pk1, pk2


def check_app_public_key(pk1, pk2):
    """The curve checks of a new request's key (the nodes would refuse it later, after the user paid)."""
    import bls

    point1 = bls.decompress_g1(pk1)
    if point1 is None:
        fail("Invalid request.app_public_key: pk1 is not a point of the BLS12-381 G1 curve")
    if bls.is_identity(point1):
        fail("Invalid request.app_public_key: pk1 is the identity point (it would reveal the derived key)")
    if pk2 is None:
        if not bls.in_g1(point1):
            fail("Invalid request.app_public_key: pk1 is not in the prime-order subgroup G1")
        return
    point2 = bls.decompress_g2(pk2)
    if point2 is None:
        fail("Invalid request.app_public_key: pk2 is not a point of the BLS12-381 G2 curve")
    if not bls.app_key_pair_ok(point1, point2):
        fail("Invalid request.app_public_key: app public key check failed (pk1 and pk2 must be a*G1 and a*G2 for "
             "the same a, in G1 and G2)")


def app_id(predecessor_id, path):
    from _chainsig import sha3_256

    return sha3_256(APP_ID_PREFIX + predecessor_id.encode() + b"," + path.encode())


def parse_pending(request):
    """The pending request object -> (domain_id, app_id, pk1, pk2 | None)."""
    if not isinstance(request, dict):
        fail("Invalid request: expected {\"app_public_key\", \"app_id\", \"domain_id\"}")
    domain = _u32(request.get("domain_id"), "request.domain_id")
    raw_id = request.get("app_id")
    ident = None
    if isinstance(raw_id, str) and len(raw_id) == 64:
        try:
            ident = bytes.fromhex(raw_id)
        except Exception:  # noqa: BLE001 - ValueError in both interpreters
            ident = None
    if ident is None:
        fail("Invalid request.app_id: expected 32 bytes as hex")
    pk1, pk2 = parse_app_public_key(request.get("app_public_key"), "request.app_public_key")
    return domain, ident, pk1, pk2


def request_json(domain, ident, pk1, pk2):
    """The canonical pending request object, serialized."""
    import bls

    key = '"' + bls.format_point(pk1, bls.G1_PREFIX) + '"'
    if pk2 is not None:
        key = '{"pk1":' + key + ',"pk2":"' + bls.format_point(pk2, bls.G2_PREFIX) + '"}'
    return '{"app_public_key":' + key + ',"app_id":"' + ident.hex() + '","domain_id":' + str(domain) + "}"


def request_id(domain, ident, pk1, pk2):
    return near.sha256(b"ckd" + domain.to_bytes(4, "little") + ident + pk1 + (b"" if pk2 is None else pk2))


def queue_key(rid):
    return b"q" + rid


def read_queue(rid):
    raw = near.storage_read(queue_key(rid))
    return [] if raw is None else json.loads(raw)


def write_queue(rid, queue):
    if queue:
        near.storage_write(queue_key(rid), json.dumps(queue))
    else:
        near.storage_remove(queue_key(rid))


def parse_response(response):
    """{"big_y", "big_c"} -> (big_y 48 bytes, big_c 48 bytes), format only."""
    if not isinstance(response, dict):
        fail("Invalid response: expected {\"big_y\": \"bls12381g1:…\", \"big_c\": \"bls12381g1:…\"}")
    return _point(response.get("big_y"), "response.big_y"), _point(response.get("big_c"), "response.big_c")


def check_response(public_key, mvk, ident, pk2, big_y, big_c):
    """Both points on the G1 curve and Y not the identity; with pk2, e(C, G2) = e(Y, pk2) * e(H, mvk) (`public_key`:
    the domain's key string, `mvk`: its stored uncompressed form). Fails otherwise."""
    import bls

    points = bls.decompress_g1(big_y + big_c)
    if points is None:
        fail("Invalid response: big_y and big_c must be points of the BLS12-381 G1 curve")
    if bls.is_identity(points[:96]):
        fail("Invalid response: big_y is the identity point")
    if pk2 is None:
        return
    mvk_compressed = bls.parse_point(public_key, bls.G2_PREFIX, 96)
    hash_point = bls.hash_app_id(mvk_compressed, ident)
    if not bls.ckd_output_ok(points[96:], points[:96], bls.decompress_g2(pk2), hash_point, mvk):
        fail(RESPONSE_INVALID)


def response_json(big_y, big_c):
    import bls

    return ('{"big_y":"' + bls.format_point(big_y, bls.G1_PREFIX) + '","big_c":"'
            + bls.format_point(big_c, bls.G1_PREFIX) + '"}')


# ---- entry points (forwarded by contract.py) ---------------------------------------------------------------


def _domain_key(domain):
    """The domain's key string; fails unless it is a Bls12381 domain."""
    import protocol

    key = protocol.domain_key(domain)
    if key is None:
        if not near.storage_has_key(protocol.STATE_KEY):
            fail(protocol.NOT_INITIALIZED)
        fail("The provided domain ID, " + str(domain) + ", was not found.")
    if key[0] != "Bls12381":
        fail("Domain " + str(domain) + " is a " + key[0] + " signing domain: confidential key derivation needs a "
             "Bls12381 domain.")
    return key[1]


def request_app_private_key(config):
    """Payable, >= 1 yoctoNEAR (the excess refunded); yields to CALLBACK like `sign`."""
    path, domain, pk1, pk2 = parse_request_args(args())
    _domain_key(domain)
    deposit = near.attached_deposit()
    if deposit < 1:
        fail("Attached deposit is lower than required. Attached: " + str(deposit) + ", required: 1")
    caller = near.predecessor_account_id()
    extra_blocks = (len(APP_ID_PREFIX) + len(caller) + 1 + len(path.encode())) // 136  # 1 Tgas each, as `sign`
    required = (config["ckd_call_gas_attachment_requirement_tera_gas"] + extra_blocks) * TGAS
    prepaid = near.prepaid_gas()
    if prepaid < required:
        fail("Provided gas is lower than required. Provided: " + str(prepaid) + ", required: " + str(required))
    check_app_public_key(pk1, pk2)
    ident = app_id(caller, path)
    rid = request_id(domain, ident, pk1, pk2)
    queue = read_queue(rid)
    if len(queue) >= MAX_FAN_OUT:
        fail("Pending-request queue is full for this request key (limit: " + str(MAX_FAN_OUT)
             + "). Wait for the pending requests to be answered or to time out.")
    counter = near.storage_read(COUNTER_KEY)
    number = 1 if counter is None else int(counter) + 1
    near.storage_write(COUNTER_KEY, str(number))
    request = request_json(domain, ident, pk1, pk2)
    callback_args = '{"request":' + request + ',"rid":"' + rid.hex() + '","n":' + str(number) + "}"
    callback_gas = config["return_ck_and_clean_state_on_success_call_tera_gas"] * TGAS
    promise, data_id = near.promise_yield_create(CALLBACK, callback_args, callback_gas, 0)
    data_id_hex = data_id.hex()
    queue.append([data_id_hex, number])
    write_queue(rid, queue)
    if deposit > 1:
        refund = near.promise_batch_create(caller)
        near.promise_batch_action_transfer(refund, deposit - 1)
        near.log_utf8("refund " + str(deposit - 1) + " to " + caller)
    emit_event("ckd_request", '{"request":' + request + ',"caller":"' + caller + '","data_id":"' + data_id_hex + '"}')
    near.promise_return(promise)


def respond_ckd():
    """A participant's own account (as for `respond`) answers; with a pk2 the answer must pass the pairing check.
    Resumes every queued yield of the request."""
    import protocol

    require_no_deposit("respond_ckd")
    state = protocol.load()
    responder = protocol.require_participant(state)
    if near.signer_account_id() != responder:
        fail("respond_ckd must be called directly by the participant's account, not through a contract.")
    call_args = args()
    domain, ident, pk1, pk2 = parse_pending(call_args.get("request"))
    rid = request_id(domain, ident, pk1, pk2)
    queue = read_queue(rid)
    if not queue:
        fail(REQUEST_NOT_FOUND)
    public_key = _domain_key(domain)
    big_y, big_c = parse_response(call_args.get("response"))
    check_response(public_key, protocol.root_precomputed(domain), ident, pk2, big_y, big_c)
    answer = response_json(big_y, big_c)
    data_ids = []
    for entry in queue:
        near.promise_yield_resume(bytes.fromhex(entry[0]), answer)
        data_ids.append('"' + entry[0] + '"')
    write_queue(rid, [])
    emit_event("ckd_response", '{"request":' + request_json(domain, ident, pk1, pk2) + ',"responder":"'
               + responder + '","data_ids":[' + ",".join(data_ids) + '],"response":' + answer + "}")


def return_ck_and_clean_state_on_success(config):
    """The yield callback: the response, or (timeout) the queue entry dropped and the caller failed.
    `config`: contract._config, read only on the timeout path."""
    require_no_deposit(CALLBACK)
    require_private()
    if near.promise_results_count() != 1:
        fail(CALLBACK + " is the yield callback of request_app_private_key; it cannot be called directly.")
    status, data = near.promise_result(0)
    if status == 1:
        near.value_return(data)
        return
    import signreq

    signreq.drop_timed_out(args(), read_queue, write_queue, "ckd_timeout", config()["fail_on_timeout_tera_gas"])


def get_pending_ckd_request():
    require_no_deposit("get_pending_ckd_request")
    domain, ident, pk1, pk2 = parse_pending(args().get("request"))
    rid = request_id(domain, ident, pk1, pk2)
    queue = read_queue(rid)
    if not queue:
        return_json(None)
        return
    ids = [entry[0] for entry in queue]
    return_json({"data_id": ids[0], "data_ids": ids, "request_id": rid.hex()})
