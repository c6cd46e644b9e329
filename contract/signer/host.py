"""Thin helpers over the `near` host module: arguments, storage, panics, events, returns.

Contracts built by nearc run on MicroPython; this module (and the rest of contract/signer) is written in
the subset both MicroPython and CPython accept, without near-sdk-py (importing it costs ~3M Wasm ops per
call and its decorators swallow bad JSON input).
"""

import json

import near

TGAS = 1_000_000_000_000
EVENT_STANDARD = "chainsig"
EVENT_VERSION = "1.0.0"


def fail(message):
    """Abort the call: the receipt fails with `Smart contract panicked: <message>` and state rolls back."""
    near.panic_utf8(message)


def args():
    """The call's JSON arguments as a dict ({} for an empty input); panics on anything else."""
    raw = near.input()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except Exception:  # noqa: BLE001 - any bad input becomes a clean panic
        fail("Failed to deserialize input from JSON.")
    if not isinstance(value, dict):
        fail("Failed to deserialize input from JSON: expected an object.")
    return value


def read_json(key):
    raw = near.storage_read(key)
    return None if raw is None else json.loads(raw)


def write_json(key, value):
    near.storage_write(key, json.dumps(value))


def return_json(value):
    near.value_return(json.dumps(value))


def return_raw_json(text):
    """Return an already-serialized JSON document."""
    near.value_return(text)


def log(message):
    near.log_utf8(message)


def emit_event(event, data_json):
    """Log a NEP-297 event; `data_json` is the serialized JSON object of the single data entry."""
    near.log_utf8(
        'EVENT_JSON:{"standard":"' + EVENT_STANDARD + '","version":"' + EVENT_VERSION
        + '","event":"' + event + '","data":[' + data_json + "]}"
    )


def require_no_deposit(method):
    """near-sdk's check for non-payable methods, first thing in each (views too): the panic returns the deposit."""
    if near.attached_deposit():
        fail("Method " + method + " doesn't accept deposit")


def is_account_id(value):
    """NEAR's account id rules: 2..64 characters a-z 0-9, a single '.', '-' or '_' only between two of them."""
    if not isinstance(value, str) or len(value) < 2 or len(value) > 64:
        return False
    after_separator = True
    for char in value:
        if char == "." or char == "-" or char == "_":
            if after_separator:
                return False
            after_separator = True
        elif ("a" <= char <= "z") or ("0" <= char <= "9"):
            after_separator = False
        else:
            return False
    return not after_separator


def require_private():
    """Only the contract account itself may call (near-sdk's #[private])."""
    if near.predecessor_account_id() != near.current_account_id():
        fail("Method is private: only " + near.current_account_id() + " may call it")


def transfer(receiver_id, amount):
    """Send `amount` yoctoNEAR to `receiver_id` (a detached promise)."""
    promise = near.promise_batch_create(receiver_id)
    near.promise_batch_action_transfer(promise, amount)
