"""An example contract that hands out confidential app keys (CKD) only to holders of its token (a model to copy).

    init({"signer_id": "signer.near", "owner_id"?: <this account>})       # once, by the contract account
    mint({"account_id"}) / burn({"account_id"})                           # the owner grants / revokes the token
    is_holder({"account_id"}) -> bool
    request_app_private_key({"request": {"derivation_path", "app_public_key", "domain_id"}})          # payable
        -> the signer's {"big_y", "big_c"} via `on_key`, or {"error": "..."} when the request failed or timed out

The token is the simplest honest one: a set of holders kept here, minted by the owner (an NFT contract's
`nft_tokens_for_owner` read by a cross-contract call would fit the same place). A non-holder's call panics before
anything is sent, so the whole deposit comes back. The method has the signer's name and arguments and forwards the
request unchanged, so a client calls it exactly as it would call the signer (`chainsig ckd --via <this contract>`).
The signer derives the secret from (this contract's account, derivation path): every holder asking for a path gets
the same secret, so content encrypted under it can be read by holders only — "decrypt if you own the token".
One yoctoNEAR goes to the signer; any excess is refunded.
"""

import json

import near

TGAS = 1_000_000_000_000
CKD_GAS = 50 * TGAS  # what the signer's `request_app_private_key` needs (its `config` view), with room
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


def _account(value, name):
    if not isinstance(value, str) or len(value) < 2 or len(value) > 64:
        near.panic_utf8(name + " must be an account id")
    return value


def _require_owner():
    owner = near.storage_read("owner")
    if owner is None:
        near.panic_utf8("not initialized")
    if near.predecessor_account_id() != owner.decode():
        near.panic_utf8("only the owner " + owner.decode() + " may mint or burn")


@near.export
def init():
    if near.predecessor_account_id() != near.current_account_id():
        near.panic_utf8("init is private")
    if near.storage_has_key("signer"):
        near.panic_utf8("already initialized")
    args = _args()
    near.storage_write("signer", _account(args.get("signer_id"), "signer_id"))
    near.storage_write("owner", _account(args.get("owner_id", near.current_account_id()), "owner_id"))


@near.export
def mint():
    _require_owner()
    near.storage_write("h:" + _account(_args().get("account_id"), "account_id"), "1")


@near.export
def burn():
    _require_owner()
    near.storage_remove("h:" + _account(_args().get("account_id"), "account_id"))


@near.export
def is_holder():
    account_id = _args().get("account_id")
    held = isinstance(account_id, str) and near.storage_has_key("h:" + account_id)
    near.value_return("true" if held else "false")


@near.export
def request_app_private_key():
    request = _args().get("request")
    signer_id = near.storage_read("signer")
    if signer_id is None:
        near.panic_utf8("not initialized")
    user = near.predecessor_account_id()
    if not near.storage_has_key("h:" + user):
        near.panic_utf8(user + " holds no token of " + near.current_account_id() + ": no key for non-holders")
    if (not isinstance(request, dict) or not isinstance(request.get("derivation_path"), str)
            or not isinstance(request.get("domain_id"), int) or request.get("app_public_key") is None):
        near.panic_utf8("expected {\"request\": {\"derivation_path\": str, \"app_public_key\", \"domain_id\": int}}")
    attached = near.attached_deposit()
    if attached < 1:
        near.panic_utf8("attach at least 1 yoctoNEAR")
    if attached > 1:
        refund = near.promise_batch_create(user)
        near.promise_batch_action_transfer(refund, attached - 1)
    ckd_args = json.dumps({"request": {"derivation_path": request["derivation_path"],
                                       "app_public_key": request["app_public_key"],
                                       "domain_id": request["domain_id"]}})
    promise = near.promise_create(signer_id.decode(), "request_app_private_key", ckd_args, 1, CKD_GAS)
    callback = near.promise_then(promise, near.current_account_id(), "on_key", json.dumps({"user": user}), 0,
                                 CALLBACK_GAS)
    near.promise_return(callback)


@near.export
def on_key():
    """Callback: return the signer's response; on a timeout (or any signer error) an error object."""
    if near.predecessor_account_id() != near.current_account_id():
        near.panic_utf8("on_key is private")
    user = _args()["user"]
    status, data = near.promise_result(0)
    if status == 1:
        near.value_return(data)
        return
    near.log_utf8("key request for " + user + " failed (timed out or rejected)")
    near.value_return(json.dumps({"error": "key request failed or timed out"}))
