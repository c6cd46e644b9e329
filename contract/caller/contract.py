"""An example contract that asks the signer for signatures on behalf of its users (a model to copy).

    init({"signer_id": "signer.near"})                       # once, by the contract account
    request_signature({"path": "eth-1", "payload": "<64 hex>", "domain_id"?: 0})   # payable, >= 1 yocto
        -> the signer's response JSON, via `on_signature`; or {"error": "..."} when the request timed out
    last_signature({"account_id"}) -> the last response stored for that user, or null

Each user gets their own keys: the signer derives from (this contract's account, path), and this contract
uses path = "<user account>/<user path>". One yoctoNEAR is forwarded to the signer; any excess is refunded.
"""

import json

import near

TGAS = 1_000_000_000_000
SIGN_GAS = 50 * TGAS  # what the signer needs (its `config` view), with room for long paths
CALLBACK_GAS = 10 * TGAS


def _args():
    raw = near.input()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except Exception:  # noqa: BLE001 - any bad input becomes a clean panic
        near.panic_utf8("Failed to deserialize input from JSON.")
    if not isinstance(value, dict):
        near.panic_utf8("Failed to deserialize input from JSON: expected an object.")
    return value


@near.export
def init():
    if near.predecessor_account_id() != near.current_account_id():
        near.panic_utf8("init is private")
    if near.storage_has_key("signer"):
        near.panic_utf8("already initialized")
    signer_id = _args().get("signer_id")
    if not isinstance(signer_id, str) or not signer_id:
        near.panic_utf8("signer_id must be an account id")
    near.storage_write("signer", signer_id)


@near.export
def request_signature():
    args = _args()
    signer_id = near.storage_read("signer")
    if signer_id is None:
        near.panic_utf8("not initialized")
    path = args.get("path")
    payload = args.get("payload")
    domain_id = args.get("domain_id", 0)
    if not isinstance(path, str) or not isinstance(payload, str) or not isinstance(domain_id, int):
        near.panic_utf8("expected {\"path\": str, \"payload\": hex, \"domain_id\"?: int}")
    attached = near.attached_deposit()
    if attached < 1:
        near.panic_utf8("attach at least 1 yoctoNEAR")
    user = near.predecessor_account_id()
    if attached > 1:
        refund = near.promise_batch_create(user)
        near.promise_batch_action_transfer(refund, attached - 1)
    kind = "Ecdsa" if domain_id == 0 else "Eddsa"
    sign_args = json.dumps({"request": {"path": user + "/" + path, "payload_v2": {kind: payload},
                                        "domain_id": domain_id}})
    promise = near.promise_create(signer_id.decode(), "sign", sign_args, 1, SIGN_GAS)
    callback = near.promise_then(promise, near.current_account_id(), "on_signature",
                                 json.dumps({"user": user}), 0, CALLBACK_GAS)
    near.promise_return(callback)


@near.export
def on_signature():
    """Callback: store and return the signature; on a timeout (or any signer error) return an error object."""
    if near.predecessor_account_id() != near.current_account_id():
        near.panic_utf8("on_signature is private")
    user = _args()["user"]
    status, data = near.promise_result(0)
    if status == 1:
        near.storage_write("sig:" + user, data)
        near.value_return(data)
        return
    near.log_utf8("signature request for " + user + " failed (timed out or rejected)")
    near.value_return(json.dumps({"error": "signature request failed or timed out"}))


@near.export
def last_signature():
    account_id = _args().get("account_id", "")
    stored = near.storage_read("sig:" + str(account_id))
    near.value_return(stored if stored is not None else "null")
