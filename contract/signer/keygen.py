"""Adding domains and generating their keys (Running -> Initializing -> Running), near/mpc's InitializingContractState.

`vote_add_domains` by every participant moves to Initializing; the key-event document (key "x") is then
    {"kind": "Initializing", "event": <key event of the domain being generated>, "queue": [domain, ...],
     "cancel_votes": [account_id, ...]}
Per domain in order: the leader calls `start_keygen_instance`, the nodes run the DKG and every participant
calls `vote_pk` with the key; when all voted the same key the domain gets it (see key_events.py for attempts,
timeouts and aborts). `vote_cancel_keygen` by `threshold` participants returns to Running, keeping the keys
generated so far; the dropped domains' ids are not reused.
"""

import json

import key_events
import near
import protocol
from host import emit_event, fail, read_json, write_json

NOT_INITIALIZING = "Protocol state is not initializing."


def _load():
    state = protocol.load()
    if state["kind"] != "Initializing":
        fail(NOT_INITIALIZING)
    return state, read_json(protocol.KEY_EVENT_KEY)


def vote_add_domains(args):
    """A participant proposes new domains; when every participant voted the same list, keygen starts."""
    key_events.refuse_deposit("vote_add_domains")
    state = protocol.load()
    if state["kind"] != "Running":
        fail("The protocol is not Running.")
    voter = protocol.require_participant(state)
    domains = args.get("domains")
    if not isinstance(domains, list) or not domains:
        fail("Invalid domains: expected a non-empty list of {\"id\", \"scheme\"}")
    proposal = [protocol.domain_spec(domains[i], state["next_domain_id"] + i) for i in range(len(domains))]
    state["add_votes"][voter] = proposal
    agreeing = 0
    for vote in state["add_votes"].values():
        if vote == proposal:
            agreeing += 1
    started = agreeing == len(protocol.entries(state))
    if started:
        state["add_votes"] = {}
        state["kind"] = "Initializing"
        state["next_domain_id"] = proposal[-1]["id"] + 1
        event = key_events.new_event(state["epoch"], proposal[0])
        write_json(protocol.KEY_EVENT_KEY, {"kind": "Initializing", "event": event, "queue": proposal[1:],
                                            "cancel_votes": []})
        emit_event("keygen_started", '{"epoch_id":' + str(state["epoch"]) + ',"domains":' + json.dumps(proposal)
                   + ',"leader":' + json.dumps(key_events.leader(protocol.entries(state))) + "}")
    protocol.save(state)
    near.value_return(json.dumps(started))


def start_keygen_instance(args):
    """{"key_event_id"}: the leader starts the next keygen attempt for the current domain."""
    key_events.refuse_deposit("start_keygen_instance")
    account_id = key_events.voter()
    state, doc = _load()
    event = doc["event"]
    timed_out = key_events.start(event, args.get("key_event_id"), protocol.entries(state), account_id)
    write_json(protocol.KEY_EVENT_KEY, doc)
    emit_started("keygen", event, timed_out)


def emit_started(kind, event, timed_out):
    instance = event["instance"]
    emit_event("key_event_started", '{"kind":"' + kind + '","key_event_id":'
               + json.dumps(key_events.event_id(event, instance["attempt_id"])) + ',"expires_on":'
               + str(instance["expires_on"]) + ',"timed_out":' + json.dumps(timed_out) + "}")


def emit_aborted(kind, key_event_id, reason, account_id):
    emit_event("key_event_aborted", '{"kind":"' + kind + '","key_event_id":' + json.dumps(key_event_id)
               + ',"reason":"' + reason + '","by":"' + account_id + '"}')


def vote_pk(args):
    """{"key_event_id", "public_key"}: a participant reports the key the running attempt produced."""
    key_events.refuse_deposit("vote_pk")
    account_id = key_events.voter()
    state, doc = _load()
    event = doc["event"]
    public_key = args.get("public_key")
    precomputed = protocol.check_key(event["scheme"], public_key)
    key_event_id = args.get("key_event_id")
    outcome = key_events.vote_success(event, key_event_id, protocol.entries(state), account_id, public_key)
    if outcome == "disagreement":
        emit_aborted("keygen", key_event_id, "public_key_disagreement", account_id)
    elif outcome == "done":
        domain = {"id": event["domain_id"], "scheme": event["scheme"], "public_key": public_key}
        protocol.store_domain(state, domain, precomputed)
        emit_event("key_generated", '{"key_event_id":' + json.dumps(key_event_id) + ',"public_key":"'
                   + public_key + '"}')
        if doc["queue"]:
            doc["event"] = key_events.new_event(state["epoch"], doc["queue"][0])
            doc["queue"] = doc["queue"][1:]
        else:
            doc = None
            state["kind"] = "Running"
            emit_event("keygen_completed", '{"epoch_id":' + str(state["epoch"]) + ',"domains":'
                       + json.dumps(state["domains"]) + "}")
        protocol.save(state)
    if doc is None:
        near.storage_remove(protocol.KEY_EVENT_KEY)
    elif outcome != "repeat":
        write_json(protocol.KEY_EVENT_KEY, doc)
    near.value_return(json.dumps(state["kind"]))


def vote_cancel_keygen(args):
    """{"next_domain_id"}: `threshold` participants return to Running; domains without a key are dropped."""
    key_events.refuse_deposit("vote_cancel_keygen")
    account_id = key_events.voter()
    state, doc = _load()
    key_events.require_member(protocol.entries(state), account_id)
    if args.get("next_domain_id") != state["next_domain_id"] or isinstance(args.get("next_domain_id"), bool):
        fail("Next domain ID mismatch: expected " + str(state["next_domain_id"]) + ", got "
             + json.dumps(args.get("next_domain_id")))
    if account_id not in doc["cancel_votes"]:
        doc["cancel_votes"].append(account_id)
    cancelled = len(doc["cancel_votes"]) >= state["threshold"]
    if cancelled:
        dropped = [doc["event"]["domain_id"]]
        for domain in doc["queue"]:
            dropped.append(domain["id"])
        state["kind"] = "Running"
        protocol.save(state)
        near.storage_remove(protocol.KEY_EVENT_KEY)
        emit_event("keygen_cancelled", '{"epoch_id":' + str(state["epoch"]) + ',"dropped_domains":'
                   + json.dumps(dropped) + ',"next_domain_id":' + str(state["next_domain_id"]) + "}")
    else:
        write_json(protocol.KEY_EVENT_KEY, doc)
    near.value_return(json.dumps(cancelled))


def vote_abort_key_event_instance(args):
    """{"key_event_id"}: a participant of the event aborts the running keygen or reshare attempt."""
    key_events.refuse_deposit("vote_abort_key_event_instance")
    account_id = key_events.voter()
    state = protocol.load()
    if state["kind"] not in ("Initializing", "Resharing"):
        fail("Protocol state is not initializing, nor resharing.")
    doc = read_json(protocol.KEY_EVENT_KEY)
    if state["kind"] == "Initializing":
        entries, kind = protocol.entries(state), "keygen"
    else:
        entries, kind = doc["proposal"]["participants"]["participants"], "reshare"
    aborted = key_events.vote_abort(doc["event"], args.get("key_event_id"), entries, account_id)
    write_json(protocol.KEY_EVENT_KEY, doc)
    emit_aborted(kind, aborted, "vote", account_id)
