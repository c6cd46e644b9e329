"""Protocol state and governance: participants, threshold, domains and their keys, keygen votes.

Stored as one JSON document under key "s":
    {"kind": "Running" | "Initializing", "epoch": 0, "threshold": t,
     "participants": {"next_id": n, "participants": [[account_id, id, {"tls_public_key", "url"}], ...]},
     "domains": [{"id": 0, "scheme": "Secp256k1", "public_key": "secp256k1:..."}], "next_domain_id": n,
     "add_votes": {account_id: [domain, ...]},
     "keygen": null | {"domain_id", "scheme", "attempt_id", "votes": {account_id: public_key}, "queue": [domain, ...]}}
The keyed domains are also mirrored under "k<domain_id>" as "<scheme> <public key string>" so that `sign`
and `respond` read a few bytes instead of the whole document.
"""

import json

import near
from host import fail, is_account_id, read_json, write_json

STATE_KEY = "s"
SCHEMES = ("Secp256k1", "Ed25519")
NOT_INITIALIZED = "The protocol is not initialized."


def load():
    """The protocol state document (panics if `init` has not run)."""
    state = read_json(STATE_KEY)
    if state is None:
        fail(NOT_INITIALIZED)
    return state


def save(state):
    write_json(STATE_KEY, state)


def domain_key(domain_id):
    """(scheme, public key string) of a keyed domain, or None."""
    raw = near.storage_read("k" + str(domain_id))
    if raw is None:
        return None
    scheme, key = raw.decode().split(" ")
    return scheme, key


def root_precomputed(domain_id):
    """The Ed25519 root of a domain in edwards.precomputed() form (96 bytes), or None."""
    return near.storage_read("e" + str(domain_id))


def _store_domain(state, domain, precomputed):
    state["domains"].append(domain)
    near.storage_write("k" + str(domain["id"]), domain["scheme"] + " " + domain["public_key"])
    if precomputed is not None:
        near.storage_write("e" + str(domain["id"]), precomputed)


def is_participant(state, account_id):
    for entry in state["participants"]["participants"]:
        if entry[0] == account_id:
            return True
    return False


def require_participant(state):
    account_id = near.predecessor_account_id()
    if not is_participant(state, account_id):
        fail("Caller is not a participant: " + account_id)
    return account_id


def _int(value, name, low=0):
    if not isinstance(value, int) or isinstance(value, bool) or value < low or value >= 2**32:
        fail("Invalid " + name + ": expected an integer in [" + str(low) + ", 2^32)")
    return value


def validate_parameters(parameters):
    """The `parameters` argument of init/init_running, checked (reference's ThresholdParameters rules)."""
    if not isinstance(parameters, dict):
        fail("Invalid parameters: expected an object with 'threshold' and 'participants'")
    threshold = _int(parameters.get("threshold"), "threshold", 1)
    participants = parameters.get("participants")
    if not isinstance(participants, dict) or not isinstance(participants.get("participants"), list):
        fail("Invalid participants: expected {\"next_id\": n, \"participants\": [[account_id, id, info], ...]}")
    next_id = _int(participants.get("next_id"), "participants.next_id")
    entries = participants["participants"]
    accounts = {}
    ids = {}
    for entry in entries:
        if not isinstance(entry, list) or len(entry) != 3:
            fail("Invalid participant entry: expected [account_id, id, {\"tls_public_key\", \"url\"}]")
        if not is_account_id(entry[0]):
            fail("Invalid participant account id: " + json.dumps(entry[0]))
        pid = _int(entry[1], "participant id")
        info = entry[2]
        if not isinstance(info, dict) or not isinstance(info.get("tls_public_key"), str) \
                or not isinstance(info.get("url"), str):
            fail("Invalid participant info for " + entry[0] + ": expected {\"tls_public_key\": str, \"url\": str}")
        if not _is_ed25519_key(info["tls_public_key"]):
            fail("Invalid participant info for " + entry[0] + ": tls_public_key must be an ed25519:<base58 32 bytes> key")
        if entry[0] in accounts:
            fail("Duplicate participant account: " + entry[0])
        if pid in ids:
            fail("Duplicate participant id: " + str(pid))
        if pid >= next_id:
            fail("Participant id " + str(pid) + " must be below next_id " + str(next_id))
        accounts[entry[0]] = True
        ids[pid] = True
    n = len(entries)
    if n < 2:
        fail("Invalid threshold parameters: at least 2 participants are required, got " + str(n))
    if threshold > n:
        fail("Invalid threshold parameters: threshold " + str(threshold) + " exceeds the " + str(n) + " participants")
    if 10 * threshold < 6 * n:
        fail("Invalid threshold parameters: threshold " + str(threshold) + " is below 60% of " + str(n)
             + " participants")
    return {"threshold": threshold, "participants": {"next_id": next_id, "participants": entries}}


def _is_ed25519_key(text):
    import kdf

    try:
        kdf.parse_public_key(text, "Ed25519")
    except kdf.KeyFormatError:
        return False
    return True


def _require_uninitialized():
    if near.storage_has_key(STATE_KEY):
        fail("The contract is already initialized.")


def _new_state(parameters):
    return {
        "kind": "Running", "epoch": 0, "threshold": parameters["threshold"],
        "participants": parameters["participants"], "domains": [], "next_domain_id": 0,
        "add_votes": {}, "keygen": None,
    }


def init(args):
    _require_uninitialized()
    state = _new_state(validate_parameters(args.get("parameters")))
    save(state)


def _check_key(scheme, public_key):
    """Validate a domain key; for Ed25519 return its edwards.precomputed() form (None for secp256k1)."""
    import kdf

    try:
        raw = kdf.parse_public_key(public_key, scheme)
        if scheme == "Ed25519":
            import edwards

            return edwards.precomputed(raw)
    except Exception as exc:  # noqa: BLE001 - KeyFormatError / PointError / bad types alike
        fail("Invalid public key for " + scheme + ": " + str(exc))
    return None


def _domain_spec(domain, expected_id):
    if not isinstance(domain, dict):
        fail("Invalid domain: expected {\"id\": n, \"scheme\": \"Secp256k1\" | \"Ed25519\"}")
    if domain.get("id") != expected_id or isinstance(domain.get("id"), bool):
        fail("Invalid domain id: expected " + str(expected_id) + ", got " + json.dumps(domain.get("id")))
    if domain.get("scheme") not in SCHEMES:
        fail("Invalid domain scheme: " + json.dumps(domain.get("scheme")) + " (expected Secp256k1 or Ed25519)")
    return {"id": expected_id, "scheme": domain["scheme"]}


def init_running(args):
    """Start Running with given domains and keys (tests and migrations)."""
    _require_uninitialized()
    state = _new_state(validate_parameters(args.get("parameters")))
    domains = args.get("domains")
    if not isinstance(domains, list):
        fail("Invalid domains: expected a list of {\"id\", \"scheme\", \"public_key\"}")
    for index in range(len(domains)):
        spec = _domain_spec(domains[index], index)
        public_key = domains[index].get("public_key")
        precomputed = _check_key(spec["scheme"], public_key)
        spec["public_key"] = public_key
        _store_domain(state, spec, precomputed)
    state["next_domain_id"] = len(domains)
    save(state)


def vote_add_domains(args):
    """A participant proposes new domains; when every participant voted the same list, keygen starts."""
    state = load()
    if state["kind"] != "Running":
        fail("The protocol is not Running.")
    voter = require_participant(state)
    domains = args.get("domains")
    if not isinstance(domains, list) or not domains:
        fail("Invalid domains: expected a non-empty list of {\"id\", \"scheme\"}")
    proposal = [_domain_spec(domains[i], state["next_domain_id"] + i) for i in range(len(domains))]
    state["add_votes"][voter] = proposal
    agreeing = 0
    for vote in state["add_votes"].values():
        if vote == proposal:
            agreeing += 1
    if agreeing == len(state["participants"]["participants"]):
        state["add_votes"] = {}
        state["kind"] = "Initializing"
        _start_keygen(state, proposal[0], proposal[1:])
    save(state)
    near.value_return(json.dumps(state["kind"] == "Initializing"))


def _start_keygen(state, domain, queue):
    state["keygen"] = {"domain_id": domain["id"], "scheme": domain["scheme"], "attempt_id": 0, "votes": {},
                       "queue": queue}


def key_event_id(state):
    keygen = state["keygen"]
    return {"epoch_id": state["epoch"], "domain_id": keygen["domain_id"], "attempt_id": keygen["attempt_id"]}


def vote_pk(args):
    """A participant reports the key the current keygen produced; when all agree the domain gets that key."""
    state = load()
    if state["kind"] != "Initializing":
        fail("The protocol is not Initializing.")
    voter = require_participant(state)
    expected = key_event_id(state)
    if args.get("key_event_id") != expected:
        fail("Key event id mismatch: expected " + json.dumps(expected))
    keygen = state["keygen"]
    public_key = args.get("public_key")
    precomputed = _check_key(keygen["scheme"], public_key)
    previous = keygen["votes"].get(voter)
    if previous is not None and previous != public_key:
        fail("Vote already casted for a different public key.")
    keygen["votes"][voter] = public_key
    agreeing = 0
    for vote in keygen["votes"].values():
        if vote == public_key:
            agreeing += 1
    if agreeing == len(state["participants"]["participants"]):
        _store_domain(state, {"id": keygen["domain_id"], "scheme": keygen["scheme"], "public_key": public_key},
                      precomputed)
        state["next_domain_id"] = keygen["domain_id"] + 1
        if keygen["queue"]:
            _start_keygen(state, keygen["queue"][0], keygen["queue"][1:])
        else:
            state["keygen"] = None
            state["kind"] = "Running"
    save(state)
    near.value_return(json.dumps(state["kind"]))


def view_state(state):
    """The `state` view: the stored document plus the current key event id while Initializing."""
    out = {"protocol_state": state["kind"], "epoch": state["epoch"], "threshold": state["threshold"],
           "participants": state["participants"], "domains": state["domains"],
           "next_domain_id": state["next_domain_id"], "add_domains_votes": state["add_votes"]}
    if state["keygen"] is not None:
        keygen = state["keygen"]
        out["generating_key"] = {"key_event_id": key_event_id(state), "scheme": keygen["scheme"],
                                 "votes": keygen["votes"], "queued_domains": keygen["queue"]}
    return out
