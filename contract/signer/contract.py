"""The chain-signatures signer contract (interface of NEAR's `v1.signer`), for nearc's MicroPython.

Users call `sign` (payable, yields until the MPC network answers); MPC participants call `respond`;
confidential key derivation: `request_app_private_key` (payable, yields) and `respond_ckd` (ckd.py);
governance: `init`, `init_running`, `vote_add_domains`, key events (keygen.py, resharing.py); views: `public_key`,
`derived_public_key`, `latest_key_version`, `get_pending_request`, `get_pending_ckd_request`, `state`, `config`,
`version`.
See docs/contract.md. Modules are imported inside the methods that need them: every call starts a fresh
interpreter, and each import costs gas.
"""

import near
from host import TGAS, args, emit_event, fail, is_account_id, require_no_deposit, require_private, return_json

CONFIG_KEY = "c"
COUNTER_KEY = "n"
CALLBACK = "return_signature_and_clean_state_on_success"
DEFAULT_CONFIG = {
    # `sign` refuses less prepaid gas than this (the reference requires 15 Tgas). Covers sign (~3.7 Tgas burnt,
    # see docs/contract.md) + the callback's reservation; `sign` adds more for long paths and large payloads.
    "sign_call_gas_attachment_requirement_tera_gas": 10,
    # Gas reserved for the yield callback (the reference's 7): its timeout path burns ~2.7 Tgas and passes
    # fail_on_timeout's on.
    "return_signature_and_clean_state_on_success_call_tera_gas": 6,
    # fail_on_timeout burns ~1.5 Tgas.
    "fail_on_timeout_tera_gas": 2,
    # `request_app_private_key` refuses less prepaid gas than this (+ 1 Tgas per further 136-byte SHA3 block of the
    # app id's input, as `sign`): with a pk2 it burns ~11 Tgas with the receipt's fees (its pairing check: 6.4), plus
    # the callback's reservation (the reference's 15 covers less Wasm).
    "ckd_call_gas_attachment_requirement_tera_gas": 18,
    # Gas reserved for the CKD yield callback (the reference's 7).
    "return_ck_and_clean_state_on_success_call_tera_gas": 6,
    # Blocks a keygen / reshare attempt may run before the next one can start (key_events.py; the reference's 30).
    "key_event_timeout_blocks": 30,
}
# Module-level names are kept few: each one is a dict insert on every call, and past 47 the module dict rehashes.


def _config():
    import json

    raw = near.storage_read(CONFIG_KEY)
    if raw is None:
        return DEFAULT_CONFIG
    merged = dict(DEFAULT_CONFIG)  # a config stored before a field existed gets that field's default
    merged.update(json.loads(raw))
    return merged


def _set_config(value):
    import json

    if value is None:
        return
    if not isinstance(value, dict):
        fail("Invalid config: expected an object")
    merged = dict(_config())
    for name in value:
        if name not in DEFAULT_CONFIG:
            fail("Invalid config: unknown field " + name)
        amount = value[name]
        if name == "key_event_timeout_blocks":
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1 or amount > 1000000:
                fail("Invalid config: key_event_timeout_blocks must be an integer in [1, 1000000]")
        elif not isinstance(amount, int) or isinstance(amount, bool) or amount < 1 or amount > 300:
            fail("Invalid config: " + name + " must be an integer number of Tgas in [1, 300]")
        merged[name] = amount
    near.storage_write(CONFIG_KEY, json.dumps(merged))


# ---- governance -------------------------------------------------------------------------------------


@near.export
def init():
    """{"parameters": {"threshold", "participants"}, "init_config"?}: Running with no domains (contract only)."""
    import protocol

    require_no_deposit("init")
    require_private()
    call_args = args()
    protocol.init(call_args)
    _set_config(call_args.get("init_config"))


@near.export
def init_running():
    """{"parameters", "domains": [{"id", "scheme", "public_key"}], "init_config"?}: Running with those keys."""
    import protocol

    require_no_deposit("init_running")
    require_private()
    call_args = args()
    protocol.init_running(call_args)
    _set_config(call_args.get("init_config"))


@near.export
def vote_add_domains():
    require_no_deposit("vote_add_domains")
    import keygen

    keygen.vote_add_domains(args())


@near.export
def start_keygen_instance():
    require_no_deposit("start_keygen_instance")
    import keygen

    keygen.start_keygen_instance(args())


@near.export
def vote_pk():
    require_no_deposit("vote_pk")
    import keygen

    keygen.vote_pk(args())


@near.export
def vote_cancel_keygen():
    require_no_deposit("vote_cancel_keygen")
    import keygen

    keygen.vote_cancel_keygen(args())


@near.export
def vote_abort_key_event_instance():
    require_no_deposit("vote_abort_key_event_instance")
    import keygen

    keygen.vote_abort_key_event_instance(args())


@near.export
def vote_new_parameters():
    require_no_deposit("vote_new_parameters")
    import resharing

    resharing.vote_new_parameters(args())


@near.export
def start_reshare_instance():
    require_no_deposit("start_reshare_instance")
    import resharing

    resharing.start_reshare_instance(args())


@near.export
def vote_reshared():
    require_no_deposit("vote_reshared")
    import resharing

    resharing.vote_reshared(args())


@near.export
def vote_cancel_resharing():
    require_no_deposit("vote_cancel_resharing")
    import resharing

    resharing.vote_cancel_resharing(args())


@near.export
def update_config():
    """{"config": {...}}: change gas settings (contract account only)."""
    require_no_deposit("update_config")
    require_private()
    config_value = args().get("config")
    if config_value is None:
        fail("Invalid config: expected {\"config\": {<field>: Tgas, ...}}")
    _set_config(config_value)


# ---- sign / respond ---------------------------------------------------------------------------------


def _domain_or_fail(domain):
    import protocol

    key = protocol.domain_key(domain)
    if key is None:
        if not near.storage_has_key(protocol.STATE_KEY):
            fail(protocol.NOT_INITIALIZED)
        fail("The provided domain ID, " + str(domain) + ", was not found.")
    return key


@near.export
def sign():
    """Payable. {"request": {"path", "payload_v2": {"Ecdsa"|"Eddsa": hex}, "domain_id"}} (or legacy
    "payload": [32 ints], "key_version"). Yields; the transaction resolves with the MPC signature."""
    import signreq

    path, domain, kind, payload = signreq.parse_sign_args(args())
    scheme, _ = _domain_or_fail(domain)
    signreq.check_payload(kind, payload, domain, scheme)
    deposit = near.attached_deposit()
    if deposit < 1:
        fail("Attached deposit is lower than required. Attached: " + str(deposit) + ", required: 1")
    config = _config()
    caller = near.predecessor_account_id()
    import tweak as tweaks

    # Each further 136-byte block of the tweak's SHA3 input (a long path: ~3 Ggas per byte to parse and hash), and
    # every payload byte ~3 Ggas here and again in the callback (it parses the request): both are added on top.
    extra_blocks = (len(tweaks.TWEAK_PREFIX) + len(caller) + 1 + len(path.encode())) // 136
    payload_tgas = len(payload) // 300  # Tgas per 300 payload bytes
    required = (config["sign_call_gas_attachment_requirement_tera_gas"] + extra_blocks  # 1 Tgas per SHA3 block
                + 2 * payload_tgas) * TGAS
    prepaid = near.prepaid_gas()
    if prepaid < required:
        fail("Provided gas is lower than required. Provided: " + str(prepaid) + ", required: " + str(required))

    tweak = tweaks.derive_tweak(caller, path)
    if scheme == "Secp256k1" and int.from_bytes(tweak, "big") >= signreq.SECP256K1_N:
        fail("Derived tweak is not a valid secp256k1 scalar; use another path.")
    rid = signreq.request_id(domain, tweak, kind, payload)
    queue = signreq.read_queue(rid)
    if len(queue) >= signreq.MAX_FAN_OUT:
        fail("Pending-request queue is full for this request key (limit: " + str(signreq.MAX_FAN_OUT)
             + "). Wait for the pending requests to be answered or to time out.")
    counter = near.storage_read(COUNTER_KEY)
    number = 1 if counter is None else int(counter) + 1
    near.storage_write(COUNTER_KEY, str(number))
    request = signreq.request_json(domain, tweak, kind, payload)
    callback_args = '{"request":' + request + ',"rid":"' + rid.hex() + '","n":' + str(number) + "}"
    callback_gas = (config["return_signature_and_clean_state_on_success_call_tera_gas"] + payload_tgas) * TGAS
    promise, data_id = near.promise_yield_create(CALLBACK, callback_args, callback_gas, 0)
    data_id_hex = data_id.hex()
    queue.append([data_id_hex, number])
    signreq.write_queue(rid, queue)
    if deposit > 1:
        refund = near.promise_batch_create(caller)
        near.promise_batch_action_transfer(refund, deposit - 1)
        near.log_utf8("refund " + str(deposit - 1) + " to " + caller)
    emit_event("sign_request", '{"request":' + request + ',"caller":"' + caller + '","data_id":"' + data_id_hex + '"}')
    near.promise_return(promise)


@near.export
def respond():
    """{"request": {"tweak", "payload", "domain_id"}, "response": {...}}: a participant's answer, verified
    against the derived key; resumes every queued `sign` for that request."""
    import protocol
    import signreq
    import verify

    require_no_deposit("respond")
    state = protocol.load()
    responder = protocol.require_participant(state)
    if near.signer_account_id() != responder:
        fail("respond must be called directly by the participant's account, not through a contract.")
    call_args = args()
    domain, tweak, kind, payload = signreq.parse_request_object(call_args.get("request"))
    rid = signreq.request_id(domain, tweak, kind, payload)
    queue = signreq.read_queue(rid)
    if not queue:
        fail(signreq.REQUEST_NOT_FOUND)
    scheme, public_key = _domain_or_fail(domain)
    response = call_args.get("response")
    if not isinstance(response, dict) or response.get("scheme") != scheme:
        fail("Invalid response: expected a " + scheme + " response for domain " + str(domain))
    import kdf

    if scheme == "Secp256k1":
        big_r, s, recovery_id = verify.parse_secp256k1(response)
        root = kdf.parse_public_key(public_key, scheme)
        if not verify.verify_secp256k1(root, tweak, payload, big_r, s, recovery_id):
            fail(verify.INVALID_SIGNATURE)
        answer = verify.secp256k1_json(big_r, s, recovery_id)
    else:
        signature = verify.parse_ed25519(response)
        root = kdf.parse_public_key(public_key, scheme)
        if not verify.verify_ed25519(root, tweak, payload, signature, protocol.root_precomputed(domain)):
            fail(verify.INVALID_SIGNATURE)
        answer = verify.ed25519_json(signature)
    data_ids = []
    for entry in queue:
        near.promise_yield_resume(bytes.fromhex(entry[0]), answer)
        data_ids.append('"' + entry[0] + '"')
    signreq.write_queue(rid, [])
    request = signreq.request_json(domain, tweak, kind, payload)
    emit_event("sign_response", '{"request":' + request + ',"responder":"' + responder + '","data_ids":['
               + ",".join(data_ids) + '],"response":' + answer + "}")


@near.export
def return_signature_and_clean_state_on_success():
    """Yield callback: returns the signature, or (timeout) drops this yield's queue entry and fails."""
    require_no_deposit(CALLBACK)
    require_private()
    if near.promise_results_count() != 1:
        fail(CALLBACK + " is the yield callback of sign; it cannot be called directly.")
    status, data = near.promise_result(0)
    if status == 1:
        near.value_return(data)
        return
    import signreq

    signreq.drop_timed_out(args(), signreq.read_queue, signreq.write_queue, "sign_timeout",
                           _config()["fail_on_timeout_tera_gas"])


@near.export
def fail_on_timeout():
    require_no_deposit("fail_on_timeout")
    require_private()
    fail("Request has timed out.")


# ---- confidential key derivation (ckd.py) ---------------------------------------------------------


@near.export
def request_app_private_key():
    """Payable. {"request": {"derivation_path", "app_public_key": "bls12381g1:…" | {"pk1", "pk2"}, "domain_id"}}.
    Yields; the transaction resolves with {"big_y", "big_c"}."""
    import ckd

    ckd.request_app_private_key(_config())


@near.export
def respond_ckd():
    """{"request": <pending CKD request>, "response": {"big_y", "big_c"}}: a participant's answer."""
    import ckd

    ckd.respond_ckd()


@near.export
def return_ck_and_clean_state_on_success():
    """CKD yield callback: returns {"big_y", "big_c"}, or (timeout) drops this yield's queue entry and fails."""
    import ckd

    ckd.return_ck_and_clean_state_on_success(_config)


# ---- views ------------------------------------------------------------------------------------------


def _view_domain(call_args):
    domain = call_args.get("domain_id", 0)
    if not isinstance(domain, int) or isinstance(domain, bool) or domain < 0:
        fail("Invalid domain_id: expected a non-negative integer")
    return domain


@near.export
def public_key():
    """{"domain_id"?: 0} -> "secp256k1:<base58 X||Y>" | "ed25519:<base58>"."""
    require_no_deposit("public_key")
    domain = _view_domain(args())
    return_json(_domain_or_fail(domain)[1])


@near.export
def derived_public_key():
    """{"path", "predecessor"?, "domain_id"?} -> the key `sign` uses for (predecessor, path)."""
    import kdf

    require_no_deposit("derived_public_key")
    call_args = args()
    domain = _view_domain(call_args)
    path = call_args.get("path")
    if not isinstance(path, str):
        fail("Invalid path: expected a string")
    predecessor = call_args.get("predecessor")
    if predecessor is None:
        predecessor = near.predecessor_account_id()
    elif not is_account_id(predecessor):
        fail("Invalid predecessor: expected a NEAR account id")
    scheme, public_key_text = _domain_or_fail(domain)
    if scheme == "Bls12381":
        fail("Domain " + str(domain) + " is a Bls12381 domain: its derived keys are confidential (request them with "
             "request_app_private_key).")
    root = kdf.parse_public_key(public_key_text, scheme)
    tweak = kdf.derive_tweak(predecessor, path)
    if scheme == "Secp256k1":
        derived = kdf.derive_secp256k1(root, tweak)
        if derived is None:
            fail("Derived tweak is not a valid secp256k1 scalar; use another path.")
    else:
        import edwards
        import protocol

        derived = edwards.derive_ed25519(root, tweak, protocol.root_precomputed(domain))
    return_json(kdf.format_public_key(derived, scheme))


@near.export
def latest_key_version():
    """{"signature_scheme"?: "Secp256k1"} -> the highest domain id with that scheme."""
    import protocol

    require_no_deposit("latest_key_version")
    scheme = args().get("signature_scheme", "Secp256k1")
    if scheme not in protocol.SCHEMES:
        fail("Invalid signature_scheme: expected \"Secp256k1\", \"Ed25519\" or \"Bls12381\"")
    latest = None
    for domain in protocol.load()["domains"]:
        if domain["scheme"] == scheme:
            latest = domain["id"]
    if latest is None:
        fail("No key found for signature scheme " + str(scheme))
    return_json(latest)


@near.export
def get_pending_request():
    """{"request": {"tweak", "payload", "domain_id"}} -> null | {"data_id", "data_ids", "request_id"}."""
    import signreq

    require_no_deposit("get_pending_request")
    domain, tweak, kind, payload = signreq.parse_request_object(args().get("request"))
    rid = signreq.request_id(domain, tweak, kind, payload)
    queue = signreq.read_queue(rid)
    if not queue:
        return_json(None)
        return
    ids = [entry[0] for entry in queue]
    return_json({"data_id": ids[0], "data_ids": ids, "request_id": rid.hex()})


@near.export
def get_pending_ckd_request():
    """{"request": {"app_public_key", "app_id", "domain_id"}} -> null | {"data_id", "data_ids", "request_id"}."""
    import ckd

    ckd.get_pending_ckd_request()


@near.export
def state():
    import protocol

    require_no_deposit("state")
    return_json(protocol.view_state(protocol.load()))


@near.export
def config():
    require_no_deposit("config")
    return_json(_config())


@near.export
def version():
    require_no_deposit("version")
    return_json("0.1.0")


@near.export
def contract_source_metadata():
    """NEP-330 metadata (defined here so that nearc does not inject its own, which would keep a deposit)."""
    require_no_deposit("contract_source_metadata")
    near.value_return('{"standards":[{"standard":"nep330","version":"1.0.0"}]}')
