"""New participants and threshold (Running -> Resharing -> Running), near/mpc's ResharingContractState.

`vote_new_parameters` collects ballots {"prospective_epoch_id", "proposal"} under key "v":
    {"votes": {account_id: ballot}, "cancelled_epoch": null | epoch id of the last cancelled resharing}
A proposal passes when every proposed participant and at least `threshold` current participants voted the
same ballot; accounts that are not yet participants may vote only once `threshold` current participants have.
Then the key-event document (key "x") is
    {"kind": "Resharing", "prospective_epoch_id", "proposal", "reshared": [domain_id, ...],
     "event": <key event of the domain being reshared>, "cancel_votes": [account_id, ...]}
and "s" keeps the previous parameters (those participants go on signing with their shares) until every
domain is reshared (`start_reshare_instance` by the leader of the new set, `vote_reshared` by every new
participant); then "s" gets the proposal, epoch = prospective epoch, public keys unchanged.
`vote_cancel_resharing` by `threshold` previous participants returns to the previous Running state (the
cancelled epoch id is not reused). While Resharing, a new proposal for prospective epoch + 1 restarts it.
"""

import json

import key_events
import near
import protocol
from host import emit_event, fail, read_json, write_json

NOT_RESHARING = "Protocol state is not resharing."
VOTER_PENDING = "Candidates can only cast a vote after `threshold` participants casted one to admit them"


def _votes():
    votes = read_json(protocol.VOTES_KEY)
    return {"votes": {}, "cancelled_epoch": None} if votes is None else votes


def _index(entries):
    by_account = {}
    by_id = {}
    for entry in entries:
        by_account[entry[0]] = entry
        by_id[entry[1]] = entry[0]
    return by_account, by_id


def validate_proposal(state, proposal):
    """The proposal checked on its own (protocol.validate_parameters) and against the running parameters."""
    parameters = protocol.validate_parameters(proposal)
    old_by_account, old_by_id = _index(protocol.entries(state))
    old_next_id = state["participants"]["next_id"]
    new_ids = []
    continuing = 0
    for account_id, pid, info in parameters["participants"]["participants"]:
        old = old_by_account.get(account_id)
        if old is not None:
            if pid != old[1]:
                fail("Existing participant " + account_id + " changed ID from " + str(old[1]) + " to " + str(pid) + ".")
            if info != old[2]:
                fail("Existing participant " + account_id + " changed info (url or tls_public_key).")
            continuing += 1
        else:
            if pid in old_by_id:
                fail("New participant " + account_id + " reuses ID " + str(pid) + " already assigned to existing "
                     + "participant " + old_by_id[pid] + ".")
            new_ids.append(pid)
    if continuing < state["threshold"]:
        fail("Set of proposed participants must contain at least `threshold` old participants (threshold "
             + str(state["threshold"]) + ", found " + str(continuing) + ").")
    next_id = parameters["participants"]["next_id"]
    if new_ids:
        low = min(new_ids)
        high = max(new_ids)
        if high - low != len(new_ids) - 1 or low != old_next_id:
            fail("New Participant ids need to be unique and contiguous, starting at next_id " + str(old_next_id) + ".")
        if next_id != high + 1:
            fail("New Participant ids need to not skip any unused participant ids (next_id must be "
                 + str(high + 1) + ").")
    elif next_id < old_next_id:
        fail("Invalid participants.next_id: it must not decrease (currently " + str(old_next_id) + ").")
    return parameters


def _count(votes, ballot, entries):
    count = 0
    for entry in entries:
        if votes.get(entry[0]) == ballot:
            count += 1
    return count


def vote_new_parameters(args):
    """{"prospective_epoch_id", "proposal": {"threshold", "participants"}}: a current participant or an
    account named in the proposal votes for new parameters; returns whether the proposal passed."""
    key_events.refuse_deposit("vote_new_parameters")
    account_id = key_events.voter()
    state = protocol.load()
    votes = _votes()
    doc = None
    if state["kind"] == "Running":
        base = state["epoch"] if votes["cancelled_epoch"] is None else votes["cancelled_epoch"]
    elif state["kind"] == "Resharing":
        doc = read_json(protocol.KEY_EVENT_KEY)
        base = doc["prospective_epoch_id"]
    else:
        fail("Protocol state is not running, nor resharing.")
    epoch = args.get("prospective_epoch_id")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch != base + 1:
        fail("Provided Epoch Id, " + json.dumps(epoch) + ", does not match expected, " + str(base + 1) + ".")
    proposal = args.get("proposal")
    if not isinstance(proposal, dict):
        fail("Invalid proposal: expected {\"threshold\": t, \"participants\": {\"next_id\", \"participants\"}}")
    proposal = validate_proposal(state, proposal)
    current = protocol.entries(state)
    proposed = proposal["participants"]["participants"]
    is_current = key_events.member(current, account_id)
    if not is_current and not key_events.member(proposed, account_id):
        fail("Caller is neither a participant nor named in the proposal: " + account_id)
    ballot = {"prospective_epoch_id": epoch, "proposal": proposal}
    if not is_current and _count(votes["votes"], ballot, current) < state["threshold"]:
        fail(VOTER_PENDING)
    votes["votes"][account_id] = ballot
    passed = (_count(votes["votes"], ballot, proposed) == len(proposed)
              and _count(votes["votes"], ballot, current) >= state["threshold"])
    if not passed:
        write_json(protocol.VOTES_KEY, votes)
    elif not state["domains"]:
        # Nothing to reshare: the new parameters take effect at once (as in the reference).
        _finish(state, epoch, proposal)
    else:
        near.storage_remove(protocol.VOTES_KEY)
        event = key_events.new_event(epoch, state["domains"][0])
        write_json(protocol.KEY_EVENT_KEY, {"kind": "Resharing", "prospective_epoch_id": epoch, "proposal": proposal,
                                            "reshared": [], "event": event, "cancel_votes": []})
        restarted = state["kind"] == "Resharing"
        state["kind"] = "Resharing"
        protocol.save(state)
        emit_event("resharing_started", '{"epoch_id":' + str(state["epoch"]) + ',"prospective_epoch_id":'
                   + str(epoch) + ',"proposal":' + json.dumps(proposal) + ',"leader":'
                   + json.dumps(key_events.leader(proposed)) + ',"replaces_previous_proposal":'
                   + json.dumps(restarted) + "}")
    near.value_return(json.dumps(passed))


def _finish(state, epoch, proposal):
    """The new epoch starts: the proposal's participants and threshold, the same keys."""
    previous = state["epoch"]
    state["kind"] = "Running"
    state["epoch"] = epoch
    state["threshold"] = proposal["threshold"]
    state["participants"] = proposal["participants"]
    kept = {}
    for account_id in state["add_votes"]:
        if key_events.member(protocol.entries(state), account_id):
            kept[account_id] = state["add_votes"][account_id]
    state["add_votes"] = kept
    protocol.save(state)
    near.storage_remove(protocol.KEY_EVENT_KEY)
    near.storage_remove(protocol.VOTES_KEY)
    emit_event("resharing_completed", '{"previous_epoch_id":' + str(previous) + ',"epoch_id":' + str(epoch)
               + ',"threshold":' + str(proposal["threshold"]) + ',"participants":'
               + json.dumps(proposal["participants"]) + "}")


def _load():
    state = protocol.load()
    if state["kind"] != "Resharing":
        fail(NOT_RESHARING)
    doc = read_json(protocol.KEY_EVENT_KEY)
    return state, doc, doc["proposal"]["participants"]["participants"]


def start_reshare_instance(args):
    """{"key_event_id"}: the new set's leader starts the next reshare attempt for the current domain."""
    import keygen

    key_events.refuse_deposit("start_reshare_instance")
    account_id = key_events.voter()
    _, doc, entries = _load()
    timed_out = key_events.start(doc["event"], args.get("key_event_id"), entries, account_id)
    write_json(protocol.KEY_EVENT_KEY, doc)
    keygen.emit_started("reshare", doc["event"], timed_out)


def vote_reshared(args):
    """{"key_event_id"}: a new participant holds its verified share of the current domain's key."""
    key_events.refuse_deposit("vote_reshared")
    account_id = key_events.voter()
    state, doc, entries = _load()
    event = doc["event"]
    public_key = protocol.domain_key(event["domain_id"])[1]
    key_event_id = args.get("key_event_id")
    outcome = key_events.vote_success(event, key_event_id, entries, account_id, public_key)
    if outcome == "done":
        doc["reshared"].append(event["domain_id"])
        emit_event("domain_reshared", '{"key_event_id":' + json.dumps(key_event_id) + ',"public_key":"'
                   + public_key + '"}')
        if len(doc["reshared"]) < len(state["domains"]):
            doc["event"] = key_events.new_event(doc["prospective_epoch_id"], state["domains"][len(doc["reshared"])])
        else:
            _finish(state, doc["prospective_epoch_id"], doc["proposal"])
            doc = None
    if doc is not None and outcome != "repeat":
        write_json(protocol.KEY_EVENT_KEY, doc)
    near.value_return(json.dumps(state["kind"]))


def vote_cancel_resharing(args):
    """`threshold` participants of the previous epoch return to it; the prospective epoch id is not reused."""
    key_events.refuse_deposit("vote_cancel_resharing")
    account_id = key_events.voter()
    state, doc, _ = _load()
    key_events.require_member(protocol.entries(state), account_id)
    if account_id not in doc["cancel_votes"]:
        doc["cancel_votes"].append(account_id)
    cancelled = len(doc["cancel_votes"]) >= state["threshold"]
    if cancelled:
        state["kind"] = "Running"
        protocol.save(state)
        near.storage_remove(protocol.KEY_EVENT_KEY)
        write_json(protocol.VOTES_KEY, {"votes": {}, "cancelled_epoch": doc["prospective_epoch_id"]})
        emit_event("resharing_cancelled", '{"epoch_id":' + str(state["epoch"]) + ',"cancelled_epoch_id":'
                   + str(doc["prospective_epoch_id"]) + "}")
    else:
        write_json(protocol.KEY_EVENT_KEY, doc)
    near.value_return(json.dumps(cancelled))
