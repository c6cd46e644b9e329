"""Key events: one domain's keygen or reshare, run as numbered attempts with a timeout (near/mpc's KeyEvent).

An event is a JSON object stored inside the key-event document (key "x", see keygen.py / resharing.py):
    {"epoch_id", "domain_id", "scheme", "next_attempt_id",
     "instance": null | {"attempt_id", "started_in", "expires_on", "completed": [account_id, ...], "public_key"}}
The leader (the event's participant with the lowest id) starts attempt `next_attempt_id` with
`start_*_instance`; every participant of the event then votes success (`vote_pk` / `vote_reshared`) or abort.
An attempt is active while block_height < expires_on (started_in + 1 + key_event_timeout_blocks); the
contract only sees the clock when called, so a timed-out attempt is dropped by the next start or vote.
"""

import json

import near
from host import fail, read_json, require_no_deposit

DEFAULT_TIMEOUT_BLOCKS = 30  # contract.DEFAULT_CONFIG["key_event_timeout_blocks"], the reference's default
ID_MISMATCH = "Key event Id mismatch"
ACTIVE = "Can not start a new reshare or keygen instance while the current instance is still active."
NOT_ACTIVE = ("There is no active key event instance (none was started, or it timed out); the leader starts the "
              "next attempt with start_keygen_instance / start_reshare_instance.")
NOT_LEADER = "Voting account is not the leader of the current reshare or keygen instance."
ALREADY_VOTED = "Vote already casted."


def refuse_deposit(method):
    require_no_deposit(method)


def voter():
    """The calling account; governance calls must come from the account itself, not through a contract."""
    signer = near.signer_account_id()
    predecessor = near.predecessor_account_id()
    if signer != predecessor:
        fail("Caller must be the signer account (signer: " + signer + ", predecessor: " + predecessor + ")")
    return predecessor


def member(entries, account_id):
    for entry in entries:
        if entry[0] == account_id:
            return True
    return False


def require_member(entries, account_id):
    if not member(entries, account_id):
        fail("Caller is not a participant: " + account_id)


def leader(entries):
    best = entries[0]
    for entry in entries:
        if entry[1] < best[1]:
            best = entry
    return best[0]


def timeout_blocks():
    config = read_json("c")
    return DEFAULT_TIMEOUT_BLOCKS if config is None else config.get("key_event_timeout_blocks", DEFAULT_TIMEOUT_BLOCKS)


def new_event(epoch_id, domain):
    return {"epoch_id": epoch_id, "domain_id": domain["id"], "scheme": domain["scheme"], "next_attempt_id": 0,
            "instance": None}


def event_id(event, attempt_id):
    return {"epoch_id": event["epoch_id"], "domain_id": event["domain_id"], "attempt_id": attempt_id}


def active(event):
    """The running attempt, or None (none started, or it timed out)."""
    instance = event["instance"]
    if instance is None or near.block_height() >= instance["expires_on"]:
        return None
    return instance


def parse_id(value):
    ok = isinstance(value, dict) and len(value) == 3
    if ok:
        for name in ("epoch_id", "domain_id", "attempt_id"):
            field = value.get(name)
            if not isinstance(field, int) or isinstance(field, bool) or field < 0:
                ok = False
    if not ok:
        fail("Invalid key_event_id: expected {\"epoch_id\": n, \"domain_id\": n, \"attempt_id\": n}")
    return value


def _mismatch(expected, got):
    fail(ID_MISMATCH + ". Expected: " + json.dumps(expected) + ", got: " + json.dumps(got))


def start(event, key_event_id, entries, account_id):
    """Start the next attempt (leader only). Returns the id of an attempt that timed out in between, or None."""
    key_event_id = parse_id(key_event_id)
    require_member(entries, account_id)
    timed_out = None
    instance = event["instance"]
    if instance is not None and active(event) is None:
        timed_out = event_id(event, instance["attempt_id"])
        event["instance"] = None
    if event["instance"] is not None:
        fail(ACTIVE)
    expected = event_id(event, event["next_attempt_id"])
    if key_event_id != expected:
        _mismatch(expected, key_event_id)
    if account_id != leader(entries):
        fail(NOT_LEADER)
    now = near.block_height()
    event["instance"] = {"attempt_id": event["next_attempt_id"], "started_in": now,
                         "expires_on": now + 1 + timeout_blocks(), "completed": [], "public_key": None}
    event["next_attempt_id"] += 1
    return timed_out


def _verify_vote(event, key_event_id, entries, account_id):
    key_event_id = parse_id(key_event_id)
    require_member(entries, account_id)
    instance = active(event)
    if instance is None:
        fail(NOT_ACTIVE)
    expected = event_id(event, instance["attempt_id"])
    if key_event_id != expected:
        _mismatch(expected, key_event_id)
    return instance


def vote_success(event, key_event_id, entries, account_id, public_key):
    """Record `account_id`'s success vote for `public_key`. Returns "done" (every participant of the event
    voted), "voted", "repeat" (the same vote again: no change) or "disagreement" (another key was voted
    before: the attempt is aborted, as in the reference)."""
    instance = _verify_vote(event, key_event_id, entries, account_id)
    if instance["public_key"] is not None and instance["public_key"] != public_key:
        event["instance"] = None
        return "disagreement"
    instance["public_key"] = public_key
    if account_id in instance["completed"]:
        return "repeat"
    instance["completed"].append(account_id)
    return "done" if len(instance["completed"]) == len(entries) else "voted"


def vote_abort(event, key_event_id, entries, account_id):
    """Abort the running attempt (any participant of the event that has not voted success for it)."""
    instance = _verify_vote(event, key_event_id, entries, account_id)
    if account_id in instance["completed"]:
        fail(ALREADY_VOTED)
    event["instance"] = None
    return event_id(event, instance["attempt_id"])


def view(event, entries):
    """The event as the `state` view shows it; `key_event_id` is the running attempt's id or null."""
    instance = event["instance"]
    running = active(event)
    out = {"key_event_id": None if running is None else event_id(event, running["attempt_id"]),
           "epoch_id": event["epoch_id"], "domain_id": event["domain_id"], "scheme": event["scheme"],
           "leader": leader(entries), "next_attempt_id": event["next_attempt_id"], "instance": None, "votes": {}}
    if instance is not None:
        out["instance"] = {"attempt_id": instance["attempt_id"], "started_in": instance["started_in"],
                           "expires_on": instance["expires_on"], "completed": instance["completed"],
                           "public_key": instance["public_key"], "timed_out": running is None}
        if running is not None:
            for account_id in instance["completed"]:
                out["votes"][account_id] = instance["public_key"]
    return out
