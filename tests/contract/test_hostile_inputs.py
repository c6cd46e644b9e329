"""Hostile arguments for every exported method of the signer, generated with Hypothesis.

For each method: bytes that are not a JSON object, random JSON objects, and valid arguments with one defect
(a field dropped, retyped, out of range, a bad hex / key / account id, an extra conflicting field), from
random callers (an outsider, a participant, the contract itself) with random deposits and gas. Every call
must end in a clean panic with our own message (never an internal exception, a host error or a trap), leave
the contract's storage byte for byte as it was, and cost the caller exactly the gas it burnt (the deposit
comes back). Views may also answer; a deposit sent to a view is refused like any other.

The four deployments (Running with two keyed domains and two patched pending requests, Initializing with a
keygen for domain 2, uninitialized, Running with a Bls12381 domain 2 and a patched pending CKD request) are made
once per session. Examples per method are bounded so that the
file runs in about two minutes on a loaded machine.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import base58
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainsig.kdf import derive_tweak
from chainsig_sandbox.standin_ckd import G1_PREFIX, G2_PREFIX, StandInCkdKeys, app_id, app_public_key, encode_point
from localnet.workspaces import NEAR, TGAS, Account, Contract, ViewFailed, Worker
from mpc_service.chain.events import request_id_of
from mpc_service.protocol.ckd import CkdRequesterKey
from mpc_service.protocol.groups import BLS12381_G1
from tests.contract.conftest import deploy_signer, parameters
from tests.contract.network import SECP256K1_N, Network
from tests.contract.test_deposits import PAYABLE, exported_methods

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "30"))
HOSTILE = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                          HealthCheck.data_too_large])
GAS = 100 * TGAS
# Texts that mean an exception escaped or the runtime, not the contract, refused the call.
INTERNAL = re.compile(r"Traceback|Error\b|NoneType|explicit guest panic|has no attribute|can't convert|unsupported|"
                      r"not subscriptable|not iterable|out of memory|index out of range|recover error|"
                      r"invalid promise|outside the bounds|unreachable")
ACCOUNT_RE = re.compile(r"^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$")
DROP = object()  # a field value meaning "remove the field"


# ---- deployments ----------------------------------------------------------------------------------------


@dataclass
class World:
    """The session's four signer deployments and the accounts that call them."""

    network: Network
    running: Contract
    initializing: Contract
    fresh: Contract
    participants: list[Account]
    initializing_participants: list[Account]
    fresh_participants: list[Account]
    outsider: Account
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> request object with a queue
    keygen_event: dict[str, int] = field(default_factory=dict)
    ckd: Contract | None = None  # Running with a Bls12381 domain 2; pending["Ckd"] is its patched CKD request
    ckd_participants: list[Account] = field(default_factory=list)
    ckd_keys: StandInCkdKeys | None = None

    def callers(self, contract: Contract) -> dict[str, Account]:
        ckd_id = self.ckd.id if self.ckd is not None else ""
        nodes = {self.fresh.id: self.fresh_participants, ckd_id: self.ckd_participants,
                 self.initializing.id: self.initializing_participants}.get(contract.id, self.participants)
        return {"outsider": self.outsider, "participant": nodes[0], "contract": contract.as_account()}


_world: dict[str, tuple[Any, ...]] = {}


async def _setup(worker: Worker, wasm: bytes, network: Network) -> tuple[Any, ...]:
    running = await deploy_signer(worker, wasm, network)
    initializing = await deploy_signer(worker, wasm, network, n=3)
    fresh = await deploy_signer(worker, wasm, None)
    outsider = await worker.dev_create_account(initial_balance=50 * NEAR)
    proposal = {"domains": [{"id": 2, "scheme": "Secp256k1"}]}
    for node in initializing.participants:
        (await node.call(initializing.contract.id, "vote_add_domains").args_json(proposal).gas(GAS).transact()) \
            .into_result()
    # Keygen runs as attempts: the event's leader starts one, so that vote_pk has a running attempt to vote on.
    gen = (await initializing.contract.view("state")).json()["generating_key"]
    leader = next(p for p in initializing.participants if p.id == gen["leader"])
    start = {"epoch_id": gen["epoch_id"], "domain_id": gen["domain_id"], "attempt_id": gen["next_attempt_id"]}
    (await leader.call(initializing.contract.id, "start_keygen_instance").args_json({"key_event_id": start})
     .gas(GAS).transact()).into_result()
    event = (await initializing.contract.view("state")).json()["generating_key"]["key_event_id"]
    # Requests whose queue holds a yield that does not exist: `respond` gets past "request not found" to the
    # response checks, and nothing times out under the test (a real yield would, after 200 blocks).
    pending = {}
    for kind, domain, size in (("Ecdsa", 0, 32), ("Eddsa", 1, 40)):
        payload = os.urandom(size)
        tweak = derive_tweak(outsider.id, "hostile-" + kind)
        request = {"tweak": tweak.hex(), "payload": {kind: payload.hex()}, "domain_id": domain}
        rid = bytes(request_id_of(domain, tweak, kind, payload))
        await worker.patch_state(running.contract.id, b"p" + rid, json.dumps([[os.urandom(32).hex(), 1]]).encode())
        pending[kind] = request
    # The CKD deployment: domains 0, 1 and a Bls12381 domain 2, with a verifiable (pk1, pk2) request pending.
    ckd_keys = StandInCkdKeys.generate()
    ckd = await deploy_signer(worker, wasm, None)
    (await ckd.contract.call("init_running").args_json(
        {"parameters": parameters(ckd.participants), "domains": [*network.domains(), ckd_keys.domain(2)]})
     .gas(300 * TGAS).transact()).into_result()
    requester = CkdRequesterKey.generate(secrets.SystemRandom())
    ident = app_id(outsider.id, "hostile-ckd")
    ckd_request = {"app_public_key": app_public_key(requester, verifiable=True), "app_id": ident.hex(), "domain_id": 2}
    rid = hashlib.sha256(b"ckd" + (2).to_bytes(4, "little") + ident + bytes(requester.public_key)
                         + bytes(requester.public_key_g2)).digest()
    await worker.patch_state(ckd.contract.id, b"q" + rid, json.dumps([[os.urandom(32).hex(), 1]]).encode())
    pending["Ckd"] = ckd_request
    return (running.contract.id, running.contract.secret_key, [(p.id, p.secret_key) for p in running.participants],
            initializing.contract.id, initializing.contract.secret_key,
            [(p.id, p.secret_key) for p in initializing.participants], fresh.contract.id, fresh.contract.secret_key, [(p.id, p.secret_key) for p in fresh.participants],
            outsider.id, outsider.secret_key, pending, event, ckd.contract.id, ckd.contract.secret_key,
            [(p.id, p.secret_key) for p in ckd.participants], ckd_keys)


@pytest.fixture
async def world(worker: Worker, signer_wasm: bytes, network: Network) -> World:
    if "world" not in _world:
        _world["world"] = await _setup(worker, signer_wasm, network)
    (rid, rkey, parts, iid, ikey, iparts, fid, fkey, fparts, oid, okey, pending, event, cid, ckey, cparts,
     ckd_keys) = _world["world"]
    return World(network, Contract(worker, rid, rkey), Contract(worker, iid, ikey), Contract(worker, fid, fkey),
                 [worker.account(a, k) for a, k in parts], [worker.account(a, k) for a, k in iparts],
                 [worker.account(a, k) for a, k in fparts], worker.account(oid, okey), pending, event,
                 Contract(worker, cid, ckey), [worker.account(a, k) for a, k in cparts], ckd_keys)


# ---- strategies -----------------------------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                    st.sampled_from([-1, 2**32, 2**64, 10**40, -(10**40)]),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=8)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def not_a(kind: type) -> st.SearchStrategy[Any]:
    """Any JSON value but a `kind`, and not null (null means "absent", which DROP covers)."""
    if kind is int:
        return json_values.filter(lambda v: v is not None and not is_int(v))
    return json_values.filter(lambda v: v is not None and not isinstance(v, kind))


def hex_text(lengths: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    return lengths.flatmap(lambda n: st.binary(min_size=n, max_size=n)).map(bytes.hex)


not_hex = st.one_of(st.text(min_size=1, max_size=20).filter(lambda t: not re.fullmatch(r"([0-9a-fA-F]{2})*", t)),
                    hex_text(st.integers(0, 40)).map(lambda h: h + "a"))


def bad_bytes(size: int) -> st.SearchStrategy[Any]:
    """Not `size` bytes as hex / a byte list."""
    return st.one_of(not_hex, hex_text(st.integers(0, size + 8).filter(lambda n: n != size)),
                     st.lists(st.integers(-5, 300), min_size=size, max_size=size).filter(
                         lambda xs: any(x < 0 or x > 255 for x in xs)),
                     not_a(str).filter(lambda v: not isinstance(v, list) or len(v) != size))


def other_than(value: Any, base: st.SearchStrategy[Any] = json_values) -> st.SearchStrategy[Any]:
    return base.filter(lambda v: v != value)


bad_u32 = st.one_of(not_a(int), st.sampled_from([-1, -(2**40), 2**32, 2**64, 10**30]))
bad_account = st.one_of(not_a(str), st.sampled_from(["", "a", "A.near", "a..b", "-ab", "ab-", "a b", "ä.near", "a" * 65,
                                                     "alice@near", "ab_.near"]),
                        st.text(max_size=70).filter(lambda t: not (2 <= len(t) <= 64 and ACCOUNT_RE.match(t))))
bad_ed25519_text = st.one_of(not_a(str), st.text(max_size=30),
                             st.binary(max_size=40).filter(lambda b: len(b) != 32).map(
                                 lambda b: "ed25519:" + base58.b58encode(b).decode()),
                             st.binary(min_size=32, max_size=32).map(lambda b: "secp256k1:" + base58.b58encode(b).decode()),
                             st.just("ed25519:0OIl"))
# 64 random bytes are a point on secp256k1 with probability ~2^-256: an invalid key that parses as base58.
bad_secp_text = st.one_of(not_a(str), st.text(max_size=30),
                          st.binary(min_size=64, max_size=64).map(lambda b: "secp256k1:" + base58.b58encode(b).decode()),
                          st.binary(max_size=70).filter(lambda b: len(b) != 64).map(
                              lambda b: "secp256k1:" + base58.b58encode(b).decode()))
bad_ecdsa_payload = st.one_of(bad_bytes(32), st.just("00" * 32), st.just([0] * 32),
                              st.integers(SECP256K1_N, 2**256 - 1).map(lambda v: v.to_bytes(32, "big").hex()))
bad_gas_config = st.one_of(not_a(int), st.integers(-(2**40), 0), st.integers(301, 2**70))
scheme_name = st.sampled_from(["Secp256k1", "Ed25519"])
bad_scheme = st.one_of(not_a(str), st.text(max_size=12).filter(lambda t: t not in ("Secp256k1", "Ed25519")))
raw_inputs = st.one_of(st.binary(max_size=48), st.sampled_from([
    b"", b"null", b"[]", b'"x"', b"1", b"\xff\xfe", b"{", b'{"a":1,}', b"[" * 300, b'{"request":' + b"[" * 200,
    b'{"a":' + b"[" * 400 + b"]" * 400 + b"}", b'{"a": NaN}', b'{"a": 1e999}', b'{"\\ud800": 1}'])).filter(
    lambda raw: not raw.strip().startswith(b"{") or not _is_json_object(raw))


def _is_json_object(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


def junk_object() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.text(max_size=10), json_values, max_size=5)


# ---- method specs ---------------------------------------------------------------------------------------

Path = tuple[Any, ...]


@dataclass(frozen=True)
class Spec:
    """How to call a method validly, and the defects that must each make the call fail."""

    target: str  # "running" | "initializing" | "fresh" | "ckd"
    caller: str  # the valid caller: "outsider" | "participant" | "contract"
    base: Callable[[World], dict[str, Any]]
    fields: Callable[[World, dict[str, Any]], list[tuple[Path, st.SearchStrategy[Any]]]]
    deposit: int = 0
    gas: int = GAS
    view: bool = False
    any_caller: bool = False


def _sign_base(w: World) -> dict[str, Any]:
    return {"request": {"path": "hostile", "payload_v2": {"Ecdsa": os.urandom(32).hex()}, "domain_id": 0}}


def _sign_fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
    return [
        (("request",), st.one_of(st.just(DROP), not_a(dict))),
        (("request", "path"), st.one_of(st.just(DROP), not_a(str))),
        (("request", "payload_v2"), st.one_of(st.just(DROP), not_a(dict), st.just({}),
                                              st.just({"Rsa": "11" * 32}),
                                              st.just({"Ecdsa": "11" * 32, "Eddsa": "11" * 32}))),
        (("request", "payload_v2", "Ecdsa"), st.one_of(st.just(DROP), bad_ecdsa_payload)),
        (("request", "domain_id"), st.one_of(bad_u32, st.sampled_from([1, 2, 7, 2**32 - 1]))),
        (("request", "payload"), bad_ecdsa_payload),  # invalid as a legacy payload too
        (("request", "key_version"), st.just(0)),
    ]


def _respond_base(w: World, kind: str) -> dict[str, Any]:
    request = w.pending[kind]
    return {"request": json.loads(json.dumps(request)), "response": w.network.respond(request)}


def _respond_fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
    request = a["request"]
    ((kind, payload),) = request["payload"].items()
    size = len(bytes.fromhex(payload))
    response = a["response"]
    fields: list[tuple[Path, st.SearchStrategy[Any]]] = [
        (("request",), st.one_of(st.just(DROP), not_a(dict))),
        (("request", "tweak"), st.one_of(st.just(DROP), bad_bytes(32), other_than(request["tweak"], hex_text(st.just(32))))),
        (("request", "payload"), st.one_of(st.just(DROP), not_a(dict), st.just({}),
                                           st.just({"Ecdsa": payload, "Eddsa": payload}))),
        (("request", "payload", kind), st.one_of(st.just(DROP), not_hex, other_than(payload, hex_text(st.just(size))))),
        (("request", "domain_id"), st.one_of(bad_u32, other_than(request["domain_id"], st.integers(0, 5)))),
        (("response",), st.one_of(st.just(DROP), not_a(dict))),
        (("response", "scheme"), other_than(response["scheme"])),
    ]
    if kind == "Ecdsa":
        v = response["recovery_id"]
        fields += [
            (("response", "big_r"), st.one_of(st.just(DROP), not_a(dict))),
            (("response", "big_r", "affine_point"),
             st.one_of(st.just(DROP), bad_bytes(33), other_than(response["big_r"]["affine_point"],
                                                               hex_text(st.just(33))))),
            (("response", "s", "scalar"), st.one_of(st.just(DROP), bad_bytes(32),
                                                    other_than(response["s"]["scalar"], hex_text(st.just(32))))),
            (("response", "recovery_id"), st.one_of(st.just(DROP), other_than(v), st.just(float(v)), st.just(1 - v))),
        ]
    else:
        fields += [(("response", "signature"), st.one_of(
            st.just(DROP), bad_bytes(64), other_than(response["signature"], st.lists(st.integers(0, 255), min_size=64,
                                                                                     max_size=64))))]
    return fields


bad_g1_text = st.one_of(not_a(str), st.text(max_size=30),
                        st.binary(max_size=60).filter(lambda b: len(b) != 48).map(lambda b: G1_PREFIX + base58.b58encode(b).decode()),
                        st.binary(min_size=48, max_size=48).map(lambda b: "ed25519:" + base58.b58encode(b).decode()),
                        st.just(encode_point(BLS12381_G1.identity, G1_PREFIX)), st.just(G1_PREFIX + "0OIl"))


def _other_g1() -> str:
    return encode_point(BLS12381_G1.base_mul(secrets.randbelow(BLS12381_G1.order - 1) + 1), G1_PREFIX)


def _ckd_request_base(w: World) -> dict[str, Any]:
    key = CkdRequesterKey.generate(secrets.SystemRandom())
    return {"request": {"derivation_path": "hostile", "app_public_key": app_public_key(key, verifiable=True),
                        "domain_id": 2}}


def _ckd_request_fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
    pk2 = a["request"]["app_public_key"]["pk2"]
    return [
        (("request",), st.one_of(st.just(DROP), not_a(dict))),
        (("request", "derivation_path"), st.one_of(st.just(DROP), not_a(str))),
        (("request", "app_public_key"), st.one_of(st.just(DROP), bad_g1_text, st.just({}),
                                                  st.builds(lambda: {"pk1": _other_g1(), "pk2": pk2}))),
        (("request", "app_public_key", "pk1"), st.one_of(st.just(DROP), bad_g1_text)),
        (("request", "app_public_key", "pk2"), st.one_of(st.just(DROP), bad_g1_text.map(
            lambda v: v.replace(G1_PREFIX, G2_PREFIX) if isinstance(v, str) else v))),
        (("request", "domain_id"), st.one_of(st.just(DROP), bad_u32, st.sampled_from([0, 1, 3, 7]))),
    ]


def _respond_ckd_base(w: World) -> dict[str, Any]:
    request = w.pending["Ckd"]
    assert w.ckd_keys is not None
    return {"request": json.loads(json.dumps(request)), "response": w.ckd_keys.respond(request)}


def _respond_ckd_fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
    request = a["request"]
    return [
        (("request",), st.one_of(st.just(DROP), not_a(dict))),
        (("request", "app_id"), st.one_of(st.just(DROP), bad_bytes(32), other_than(request["app_id"],
                                                                                    hex_text(st.just(32))))),
        (("request", "app_public_key"), st.one_of(st.just(DROP), bad_g1_text, st.builds(_other_g1),
                                                  st.just(request["app_public_key"]["pk1"]))),
        (("request", "app_public_key", "pk1"), st.one_of(st.just(DROP), bad_g1_text, st.builds(_other_g1))),
        (("request", "domain_id"), st.one_of(bad_u32, other_than(2, st.integers(0, 5)))),
        (("response",), st.one_of(st.just(DROP), not_a(dict))),
        (("response", "big_y"), st.one_of(st.just(DROP), bad_g1_text, st.builds(_other_g1))),
        (("response", "big_c"), st.one_of(st.just(DROP), bad_g1_text, st.builds(_other_g1))),
    ]


def _vote_add_fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
    return [
        (("domains",), st.one_of(st.just(DROP), not_a(list), st.just([]))),
        (("domains", 0), not_a(dict)),
        (("domains", 0, "id"), st.one_of(st.just(DROP), other_than(2))),
        (("domains", 0, "scheme"), st.one_of(st.just(DROP), bad_scheme)),
    ]


def _vote_pk_fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
    event = a["key_event_id"]
    return [
        (("key_event_id",), st.one_of(st.just(DROP), other_than(event))),
        *((("key_event_id", name), st.one_of(st.just(DROP), other_than(event[name]))) for name in event),
        (("public_key",), st.one_of(st.just(DROP), bad_secp_text)),
    ]


def _init_base(w: World, running: bool) -> dict[str, Any]:
    args: dict[str, Any] = {"parameters": parameters(w.fresh_participants)}
    if running:
        args["domains"] = w.network.domains()
    return args


def _init_fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
    entries = a["parameters"]["participants"]["participants"]
    n = len(entries)
    p: Path = ("parameters", "participants", "participants")
    fields: list[tuple[Path, st.SearchStrategy[Any]]] = [
        (("parameters",), st.one_of(st.just(DROP), not_a(dict))),
        (("parameters", "threshold"), st.one_of(st.just(DROP), json_values.filter(lambda v: v not in (2, 3)))),
        (("parameters", "participants"), st.one_of(st.just(DROP), not_a(dict))),
        (("parameters", "participants", "next_id"),
         st.one_of(st.just(DROP), json_values.filter(lambda v: not (is_int(v) and n <= v < 2**32)))),
        (p, st.one_of(st.just(DROP), not_a(list), st.just([]), st.just(entries[:1]), st.just(entries + entries[:1]))),
        (("init_config",), st.one_of(not_a(dict).filter(lambda v: v is not None), st.just({"x_unknown": 1}),
                                     bad_gas_config.map(lambda g: {"fail_on_timeout_tera_gas": g}))),
    ]
    for i in range(n):
        others = [e for j, e in enumerate(entries) if j != i]
        fields += [
            ((*p, i), st.one_of(not_a(list), st.just(entries[i][:2]), st.just([*entries[i], 1]))),
            ((*p, i, 0), st.one_of(bad_account, st.sampled_from([e[0] for e in others]))),
            ((*p, i, 1), st.one_of(json_values.filter(lambda v: not (is_int(v) and 0 <= v < n)),
                                   st.sampled_from([e[1] for e in others]))),
            ((*p, i, 2), not_a(dict)),
            ((*p, i, 2, "tls_public_key"), st.one_of(st.just(DROP), bad_ed25519_text)),
            ((*p, i, 2, "url"), st.one_of(st.just(DROP), not_a(str))),
        ]
    if "domains" in a:
        fields += [
            (("domains",), st.one_of(st.just(DROP), not_a(list))),
            (("domains", 0), not_a(dict)),
            (("domains", 1, "id"), st.one_of(st.just(DROP), other_than(1))),
            (("domains", 0, "scheme"), st.one_of(st.just(DROP), bad_scheme, st.just("Ed25519"))),
            (("domains", 0, "public_key"), st.one_of(st.just(DROP), bad_secp_text)),
            (("domains", 1, "public_key"), st.one_of(st.just(DROP), bad_ed25519_text)),
        ]
    return fields


def _update_config_fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
    return [
        (("config",), st.one_of(st.just(DROP), not_a(dict))),
        (("config", "fail_on_timeout_tera_gas"), bad_gas_config),
        (("config", "x_unknown"), json_values),
    ]


def _no_fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
    return []


def _view_fields(*paths: Path) -> Callable[[World, dict[str, Any]], list[tuple[Path, st.SearchStrategy[Any]]]]:
    def fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
        special = {"predecessor": bad_account, "domain_id": bad_u32, "path": not_a(str), "request": not_a(dict),
                   "tweak": bad_bytes(32), "signature_scheme": bad_scheme}
        return [(p, st.one_of(st.just(DROP), special.get(str(p[-1]), json_values), json_values)) for p in paths]
    return fields


def _pending_view(w: World) -> dict[str, Any]:
    return {"request": json.loads(json.dumps(w.pending["Ecdsa"]))}


def _key_event_base(w: World) -> dict[str, Any]:
    return {"key_event_id": {"epoch_id": 0, "domain_id": 0, "attempt_id": 0}}


def _key_event_fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
    return [(("key_event_id",), st.one_of(st.just(DROP), not_a(dict))),
            *[(("key_event_id", f), st.one_of(st.just(DROP), bad_u32)) for f in ("epoch_id", "domain_id", "attempt_id")]]


def _proposal_base(w: World) -> dict[str, Any]:
    """A well-formed proposal (the running participants, same threshold) voted while Initializing: refused."""
    return {"prospective_epoch_id": 1, "proposal": _init_base(w, False)["parameters"]}


def _proposal_fields(w: World, a: dict[str, Any]) -> list[tuple[Path, st.SearchStrategy[Any]]]:
    return [(("prospective_epoch_id",), st.one_of(st.just(DROP), bad_u32)),
            (("proposal",), st.one_of(st.just(DROP), not_a(dict))),
            (("proposal", "threshold"), st.one_of(st.just(DROP), bad_u32, st.sampled_from([0, 1, 100]))),
            (("proposal", "participants"), st.one_of(st.just(DROP), not_a(dict), json_values))]


SPECS: dict[str, Spec] = {
    "sign": Spec("running", "outsider", _sign_base, _sign_fields, deposit=1, gas=50 * TGAS, any_caller=True),
    "respond": Spec("running", "participant", lambda w: _respond_base(w, "Ecdsa"), _respond_fields),
    "respond/ed25519": Spec("running", "participant", lambda w: _respond_base(w, "Eddsa"), _respond_fields),
    "vote_add_domains": Spec("running", "participant", lambda w: {"domains": [{"id": 2, "scheme": "Secp256k1"}]},
                             _vote_add_fields),
    "vote_pk": Spec("initializing", "participant",
                    lambda w: {"key_event_id": dict(w.keygen_event), "public_key": w.network.domains()[0]["public_key"]},
                    _vote_pk_fields),
    "init": Spec("fresh", "contract", lambda w: _init_base(w, False), _init_fields),
    "init_running": Spec("fresh", "contract", lambda w: _init_base(w, True), _init_fields),
    "update_config": Spec("running", "contract", lambda w: {"config": {"fail_on_timeout_tera_gas": 4}},
                          _update_config_fields),
    "return_signature_and_clean_state_on_success": Spec("running", "contract", lambda w: {}, _no_fields),
    "request_app_private_key": Spec("ckd", "outsider", _ckd_request_base, _ckd_request_fields, deposit=1,
                                    gas=50 * TGAS, any_caller=True),
    "respond_ckd": Spec("ckd", "participant", _respond_ckd_base, _respond_ckd_fields),
    "return_ck_and_clean_state_on_success": Spec("ckd", "contract", lambda w: {}, _no_fields),
    "get_pending_ckd_request": Spec("ckd", "outsider", lambda w: {"request": json.loads(json.dumps(w.pending["Ckd"]))},
                                    _view_fields(("request",), ("request", "app_id"), ("request", "app_public_key"),
                                                 ("request", "domain_id")), view=True),
    "fail_on_timeout": Spec("running", "contract", lambda w: {}, _no_fields),
    "public_key": Spec("running", "outsider", lambda w: {"domain_id": 1}, _view_fields(("domain_id",)), view=True),
    "derived_public_key": Spec("running", "outsider",
                               lambda w: {"path": "p", "predecessor": "alice.near", "domain_id": 0},
                               _view_fields(("path",), ("predecessor",), ("domain_id",)), view=True),
    "latest_key_version": Spec("running", "outsider", lambda w: {"signature_scheme": "Ed25519"},
                               _view_fields(("signature_scheme",)), view=True),
    "get_pending_request": Spec("running", "outsider", _pending_view,
                                _view_fields(("request",), ("request", "tweak"), ("request", "payload"),
                                             ("request", "domain_id")), view=True),
    "state": Spec("initializing", "outsider", lambda w: {}, _no_fields, view=True),
    "config": Spec("running", "outsider", lambda w: {}, _no_fields, view=True),
    "version": Spec("running", "outsider", lambda w: {}, _no_fields, view=True),
    "contract_source_metadata": Spec("running", "outsider", lambda w: {}, _no_fields, view=True),
    # Key events outside their state (Running has no keygen or resharing; Initializing takes no proposal).
    "start_keygen_instance": Spec("running", "participant", _key_event_base, _key_event_fields),
    "vote_abort_key_event_instance": Spec("running", "participant", _key_event_base, _key_event_fields),
    "start_reshare_instance": Spec("running", "participant", _key_event_base, _key_event_fields),
    "vote_reshared": Spec("running", "participant", _key_event_base, _key_event_fields),
    "vote_cancel_keygen": Spec("running", "participant", lambda w: {"next_domain_id": 2},
                               lambda w, a: [(("next_domain_id",), st.one_of(st.just(DROP), bad_u32))]),
    "vote_cancel_resharing": Spec("running", "participant", lambda w: {}, _no_fields),
    "vote_new_parameters": Spec("initializing", "participant", _proposal_base, _proposal_fields),
}
# Methods whose every call fails whatever the arguments (only the yield machinery may call them).
# Methods whose spec calls them in a state where even valid arguments are refused (the key-event methods outside
# their state): the property is then that hostile arguments are refused cleanly and change nothing.
ALWAYS_FAILS = {"return_signature_and_clean_state_on_success", "return_ck_and_clean_state_on_success", "fail_on_timeout", "start_keygen_instance",
                "vote_cancel_keygen", "vote_abort_key_event_instance", "vote_new_parameters",
                "start_reshare_instance", "vote_reshared", "vote_cancel_resharing"}


def set_path(args: Any, path: Path, value: Any) -> Any:
    """`args` with the value at `path` replaced (or removed for DROP); missing containers stop the walk."""
    out = json.loads(json.dumps(args))
    node = out
    for key in path[:-1]:
        present = (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and key < len(node))
        if not present:
            return out
        node = node[key]
    last = path[-1]
    if isinstance(node, dict):
        if value is DROP:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        if value is DROP:
            del node[last]
        else:
            node[last] = value
    return out


@dataclass(frozen=True)
class Case:
    """One generated call; it must fail when it has a defect (a view may answer anything else)."""

    raw: bytes
    caller: str
    deposit: int
    gas: int
    via_rpc: bool
    low_gas: bool
    defects: tuple[str, ...]


@st.composite
def cases(draw: st.DrawFn, spec: Spec, w: World) -> Case:
    args = spec.base(w)
    defects: list[str] = []
    shape = draw(st.sampled_from(["mutate", "mutate", "mutate", "junk", "raw"]))
    fields = spec.fields(w, args)
    if shape == "mutate" and fields:
        # One defect per example: two could cancel out (e.g. two participants swapping account ids).
        path, bad = draw(st.sampled_from(fields))
        args = set_path(args, path, draw(bad))
        defects.append("arg " + "/".join(map(str, path)))
        if draw(st.booleans()):  # unknown fields are ignored (as serde does), never a defect on their own
            args = set_path(args, ("x_" + draw(st.text(max_size=6)),), draw(json_values))
        raw = json.dumps(args).encode()
    elif shape == "junk":
        raw = json.dumps(draw(junk_object())).encode()
        defects.append("junk object")
    elif shape == "raw":
        raw = draw(raw_inputs)
        defects.append("not a JSON object")
    else:
        raw = json.dumps(args).encode()
    via_rpc = spec.view and draw(st.booleans())
    caller, deposit, gas, low_gas = spec.caller, spec.deposit, spec.gas, False
    if not via_rpc:
        caller = draw(st.sampled_from(["outsider", "participant", "contract"])) if draw(st.booleans()) else spec.caller
        if caller != spec.caller and not (spec.view or spec.any_caller):
            defects.append("caller " + caller)
        deposit = draw(st.sampled_from([spec.deposit, spec.deposit, 0, 1, NEAR // 10, NEAR]))
        if deposit != spec.deposit and (spec.deposit == 0 or deposit == 0):
            defects.append(f"deposit {deposit}")
        low_gas = draw(st.integers(0, 9)) == 0
        if low_gas:
            gas = draw(st.integers(1, 16)) * TGAS
    if spec.view:  # a view may answer hostile arguments, but must refuse a deposit
        defects = [d for d in defects if d.startswith("deposit")]
    return Case(raw, caller, deposit, gas, via_rpc, low_gas, tuple(defects))


# ---- the property ---------------------------------------------------------------------------------------


def contract_of(w: World, spec: Spec) -> Contract:
    contracts = {"running": w.running, "initializing": w.initializing, "fresh": w.fresh}
    if w.ckd is not None:
        contracts["ckd"] = w.ckd
    return contracts[spec.target]


PANIC_PREFIX = "Smart contract panicked: "
VIEW_PANIC = re.compile(r'GuestPanic \{ panic_msg: "(.*)" \}')


def assert_clean(message: str, logs: list[str] | tuple[str, ...], case: Case, low_gas: bool) -> None:
    """A clean refusal: our panic text (or, with little gas attached, the runtime's gas error), no escaped exception."""
    assert not any("Traceback" in line or "Error:" in line for line in logs), (case, logs)
    if low_gas and "Exceeded the prepaid gas" in message:
        return
    view = VIEW_PANIC.search(message)
    assert message.startswith(PANIC_PREFIX) or view, (case, message)
    panic = view.group(1) if view else message[len(PANIC_PREFIX):]
    assert panic and not INTERNAL.search(panic), (case, message)


def failure_message(failure: Any) -> str:
    try:
        return str(failure["ActionError"]["kind"]["FunctionCallError"]["ExecutionError"])
    except (KeyError, TypeError):
        return json.dumps(failure)


async def check(w: World, method: str, spec: Spec, case: Case, storage: dict[bytes, bytes],
                balances: dict[str, int]) -> None:
    """One call; `storage` is the contract's storage before the test, `balances` the callers' last balances."""
    contract = contract_of(w, spec)
    name = method.split("/")[0]
    if case.via_rpc:
        try:
            await contract.view(name, case.raw)
        except ViewFailed as failed:
            # derived_public_key without "predecessor" reads the predecessor, which a view does not have (as in
            # near/mpc; documented): the runtime's own clear error, nothing the contract could tell apart.
            if name != "derived_public_key" or 'ProhibitedInView { method_name: "predecessor_account_id" }' \
                    not in str(failed):
                assert_clean(str(failed), failed.logs, case, False)
        assert await contract.view_state() == storage
        return
    caller = w.callers(contract)[case.caller]
    if caller.id not in balances:
        balances[caller.id] = int((await caller.view_account())["amount"])
    before = balances.pop(caller.id)  # put back only when the call checked out (shrinking replays calls)
    result = await caller.call(contract.id, name).args(case.raw).deposit(case.deposit).gas(case.gas).transact()
    if case.defects or name in ALWAYS_FAILS:
        assert result.is_failure, (case, result.status)
    if result.is_failure:
        assert_clean(failure_message(result.failure), result.logs, case, case.low_gas)
    assert await contract.view_state() == storage, case
    if caller.id != contract.id:
        burnt = sum(o.tokens_burnt for o in result.outcomes)
        after = int((await caller.view_account())["amount"])
        assert before - after == burnt, (case, "deposit kept")
        balances[caller.id] = after


@pytest.mark.parametrize("method", sorted(SPECS))
async def test_hostile_arguments(worker: Worker, world: World, method: str) -> None:
    spec = SPECS[method]
    storage = await contract_of(world, spec).view_state()
    balances: dict[str, int] = {}  # only this test moves these accounts' balances

    # Hypothesis drives the examples from a worker thread; each call runs on this test's event loop.
    @HOSTILE
    @given(data=st.data())
    def prop(data: st.DataObject) -> None:
        case = data.draw(cases(spec, world))
        future = asyncio.run_coroutine_threadsafe(check(world, method, spec, case, storage, balances), loop)
        future.result(timeout=120)

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(prop)


def test_every_exported_method_has_a_spec(signer_wasm: bytes) -> None:
    methods = {m.split("/")[0] for m in SPECS}
    missing = exported_methods(signer_wasm) - methods
    assert not missing, f"exported methods without hostile-input coverage: {sorted(missing)}"
    assert PAYABLE <= methods
