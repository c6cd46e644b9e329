"""Protocol state: participants, threshold, domains and their keys; init; the `state` view.

The running parameters are one small JSON document under key "s" (what `respond` loads):
    {"kind": "Running" | "Initializing" | "Resharing", "epoch": 0, "threshold": t,
     "participants": {"next_id": n, "participants": [[account_id, id, {"tls_public_key", "url"}], ...]},
     "domains": [{"id": 0, "scheme": "Secp256k1", "public_key": "secp256k1:..."}], "next_domain_id": n,
     "add_votes": {account_id: [domain, ...]}}
While Resharing, "s" keeps the previous (still signing) participants until the new epoch starts. The key-event
document (keygen.py / resharing.py) lives under "x" and the votes for new parameters under "v", so neither
`sign` nor `respond` reads them. The keyed domains are also mirrored under "k<domain_id>" as
"<scheme> <public key string>" so that `sign` and `respond` read a few bytes instead of the whole document.
"""

import json

import near
from host import fail, is_account_id, read_json, write_json

STATE_KEY = "s"
SCHEMES = ("Secp256k1", "Ed25519", "Bls12381")
# near/mpc's DomainPurpose: Bls12381 domains derive app keys (CKD), the others sign.
PURPOSES = {"Secp256k1": "Sign", "Ed25519": "Sign", "Bls12381": "CKD"}
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
    """The Ed25519 root of a domain in edwards.precomputed() form (96 bytes), the Bls12381 master key uncompressed
    (192 bytes), or None."""
    return near.storage_read("e" + str(domain_id))


def store_domain(state, domain, precomputed):
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
        "add_votes": {},
    }


def init(args):
    _require_uninitialized()
    state = _new_state(validate_parameters(args.get("parameters")))
    save(state)


def check_key(scheme, public_key):
    """Validate a domain key; return its Ed25519 edwards.precomputed() form / Bls12381 uncompressed form (None
    for secp256k1)."""
    import kdf

    try:
        raw = kdf.parse_public_key(public_key, scheme)
        if scheme == "Ed25519":
            import edwards

            return edwards.precomputed(raw)
        if scheme == "Bls12381":
            import bls

            return bls.check_master_key(raw)
    except Exception as exc:  # noqa: BLE001 - KeyFormatError / PointError / bad types alike
        fail("Invalid public key for " + scheme + ": " + str(exc))
    return None


def domain_spec(domain, expected_id):
    if not isinstance(domain, dict):
        fail("Invalid domain: expected {\"id\": n, \"scheme\": \"Secp256k1\" | \"Ed25519\" | \"Bls12381\"}")
    if domain.get("id") != expected_id or isinstance(domain.get("id"), bool):
        fail("Invalid domain id: expected " + str(expected_id) + ", got " + json.dumps(domain.get("id")))
    if domain.get("scheme") not in SCHEMES:
        fail("Invalid domain scheme: " + json.dumps(domain.get("scheme")) + " (expected Secp256k1, Ed25519 or Bls12381)")
    purpose = domain.get("purpose")
    if purpose is not None and purpose != PURPOSES[domain["scheme"]]:
        fail("Invalid domain purpose: " + json.dumps(purpose) + " (a " + domain["scheme"] + " domain's purpose is "
             + PURPOSES[domain["scheme"]] + ")")
    return {"id": expected_id, "scheme": domain["scheme"]}


def init_running(args):
    """Start Running with given domains and keys (tests and migrations)."""
    _require_uninitialized()
    state = _new_state(validate_parameters(args.get("parameters")))
    domains = args.get("domains")
    if not isinstance(domains, list):
        fail("Invalid domains: expected a list of {\"id\", \"scheme\", \"public_key\"}")
    for index in range(len(domains)):
        spec = domain_spec(domains[index], index)
        public_key = domains[index].get("public_key")
        precomputed = check_key(spec["scheme"], public_key)
        spec["public_key"] = public_key
        store_domain(state, spec, precomputed)
    state["next_domain_id"] = len(domains)
    save(state)


KEY_EVENT_KEY = "x"
VOTES_KEY = "v"


def entries(state):
    """[[account_id, id, info], ...] of the running participants."""
    return state["participants"]["participants"]


def view_state(state):
    """The `state` view: the running parameters, plus the key event of Initializing / Resharing and the
    pending votes for new parameters (see docs/contract.md for the shape)."""
    import key_events

    out = {"protocol_state": state["kind"], "epoch": state["epoch"], "threshold": state["threshold"],
           "participants": state["participants"], "domains": state["domains"],
           "next_domain_id": state["next_domain_id"], "add_domains_votes": state["add_votes"]}
    votes = read_json(VOTES_KEY)
    out["parameters_votes"] = {} if votes is None else votes["votes"]
    out["previously_cancelled_resharing_epoch_id"] = None if votes is None else votes["cancelled_epoch"]
    doc = read_json(KEY_EVENT_KEY)
    if doc is None:
        return out
    if doc["kind"] == "Initializing":
        gen = key_events.view(doc["event"], entries(state))
        gen["queued_domains"] = doc["queue"]
        out["generating_key"] = gen
        out["cancel_keygen_votes"] = doc["cancel_votes"]
        return out
    proposal = doc["proposal"]
    out["prospective_epoch_id"] = doc["prospective_epoch_id"]
    out["proposal"] = proposal
    out["resharing_key"] = key_events.view(doc["event"], proposal["participants"]["participants"])
    progress = []
    for domain in state["domains"]:
        status = "pending"
        if domain["id"] in doc["reshared"]:
            status = "reshared"
        elif domain["id"] == doc["event"]["domain_id"]:
            status = "resharing"
        progress.append({"domain_id": domain["id"], "status": status})
    out["domain_progress"] = progress
    out["cancel_resharing_votes"] = doc["cancel_votes"]
    return out
