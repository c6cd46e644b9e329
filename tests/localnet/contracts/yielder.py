"""Yielder: a localnet test contract for NEP-519 yield/resume.

`start` creates a yield whose callback is `on_resume`, records the data id (hex) in state and returns it
(the transaction stays pending). `resume({"data_id": hex, "payload": str})` resumes it; the callback
returns the payload, or panics "yield timed out" when the 200-block timeout fired instead.

Relies on the project's patched MicroPython (contract/patches/webassembly-near.patch):
`near.promise_yield_create` returns the 32-byte data id as bytes, `near.promise_yield_resume` accepts bytes.
"""

import json

import near

TGAS = 1_000_000_000_000
PENDING_KEY = "pending"  # JSON object: yield number (str) -> {"data_id": hex, "tag": str}
COUNTER_KEY = "yields"


def _args():
    raw = near.input()
    return json.loads(raw) if raw else {}


def _pending():
    raw = near.storage_read(PENDING_KEY)
    return json.loads(raw) if raw else {}


@near.export
def start():
    """{"tag"?: str}: yield to `on_resume`; logs and records the data id; the tx resolves with the callback."""
    tag = str(_args().get("tag", ""))
    raw_counter = near.storage_read(COUNTER_KEY)
    number = int(raw_counter) + 1 if raw_counter else 1
    near.storage_write(COUNTER_KEY, str(number))
    promise, data_id = near.promise_yield_create("on_resume", json.dumps({"n": number, "tag": tag}), 10 * TGAS, 0)
    data_id_hex = data_id.hex()
    pending = _pending()
    pending[str(number)] = {"data_id": data_id_hex, "tag": tag}
    near.storage_write(PENDING_KEY, json.dumps(pending))
    near.log_utf8("yield created " + data_id_hex)
    near.promise_return(promise)


@near.export
def resume():
    """{"data_id": hex, "payload": str} -> true if a waiting yield was resumed."""
    args = _args()
    resumed = near.promise_yield_resume(bytes.fromhex(args["data_id"]), args["payload"])
    near.value_return(json.dumps(resumed))


@near.export
def on_resume():
    """Yield callback: forgets the pending entry; returns {"tag", "payload"} or fails "yield timed out"."""
    args = _args()
    pending = _pending()
    pending.pop(str(args["n"]), None)
    near.storage_write(PENDING_KEY, json.dumps(pending))
    status, data = near.promise_result(0)
    if status != 1:
        # A panic would roll back the state cleanup above, so return a failure marker instead.
        near.log_utf8("yield timed out")
        near.value_return(json.dumps({"tag": args["tag"], "timed_out": True}))
        return
    near.value_return(json.dumps({"tag": args["tag"], "payload": data.decode()}))


@near.export
def pending():
    """View: the data ids (hex) of yields started and not yet called back, oldest first."""
    entries = _pending()
    numbers = sorted(int(n) for n in entries)
    near.value_return(json.dumps([entries[str(n)]["data_id"] for n in numbers]))
