"""Property-based tests of every JSON-RPC method of the embedded node (hypothesis).

Two runs per method, with a bounded number of examples each:
- hostile params (any JSON value, the documented keys with any values, base58-looking and oversized strings):
  every answer is strict JSON with the request's id, either a result or nearcore's error of the right kind —
  PARSE_ERROR (HTTP 400) or one of the method's handler errors (HTTP 200) — never INTERNAL_ERROR; the accounts'
  state is exactly as it was after each method's run (and after each hostile `sandbox_patch_state`);
- params of the documented shapes with random values: never PARSE_ERROR, only results or handler errors.

The node is this module's own, so fast-forwards and patches made here do not reach other test files.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import base58
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localnet.chain.keys import SecretKey
from localnet.chain.transaction import sign_transaction
from localnet.rpc.methods import BlockTicker, RpcMethods
from localnet.types import FunctionCall, PublicKey, Transfer
from localnet.workspaces import BackgroundNode
from localnet.workspaces.pytest_plugin import start_background_node

PROBE = "fuzz-probe.test.near"  # an account with a key and storage, written once; must never change here
PATCHED = "fuzz-patched.test.near"  # the one account the documented-shape patches write to
HOSTILE_EXAMPLES = 50
SHAPED_EXAMPLES = 30
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# The handler errors (cause names) each method may answer with, as nearcore's RPC does; PARSE_ERROR is allowed
# for every method when the params are hostile.
HANDLER_CAUSES: dict[str, set[str]] = {
    "status": set(),
    "block": {"UNKNOWN_BLOCK"},
    "chunk": {"UNKNOWN_BLOCK", "UNKNOWN_CHUNK"},
    "gas_price": {"UNKNOWN_BLOCK"},
    "validators": {"UNKNOWN_BLOCK", "UNKNOWN_EPOCH"},
    "query": {"UNKNOWN_BLOCK", "GARBAGE_COLLECTED_BLOCK", "UNKNOWN_ACCOUNT", "INVALID_ACCOUNT", "NO_CONTRACT_CODE"},
    "send_tx": {"INVALID_TRANSACTION"},
    "broadcast_tx_async": {"INVALID_TRANSACTION"},
    "broadcast_tx_commit": {"INVALID_TRANSACTION"},
    "tx": {"UNKNOWN_TRANSACTION", "INVALID_TRANSACTION"},
    "EXPERIMENTAL_tx_status": {"UNKNOWN_TRANSACTION", "INVALID_TRANSACTION"},
    "EXPERIMENTAL_receipt": {"UNKNOWN_RECEIPT"},
    "EXPERIMENTAL_protocol_config": {"UNKNOWN_BLOCK"},
    "sandbox_patch_state": set(),
    "sandbox_fast_forward": set(),
}
DOCUMENTED_KEYS: dict[str, list[str]] = {
    "status": [],
    "block": ["block_id", "finality", "sync_checkpoint"],
    "chunk": ["chunk_id", "block_id", "shard_id"],
    "gas_price": ["block_id"],
    "validators": ["epoch_id", "block_id", "latest"],
    "query": ["request_type", "finality", "block_id", "account_id", "public_key", "method_name", "args_base64",
              "prefix_base64", "include_proof", "sync_checkpoint"],
    "send_tx": ["signed_tx_base64", "wait_until"],
    "broadcast_tx_async": ["signed_tx_base64"],
    "broadcast_tx_commit": ["signed_tx_base64"],
    "tx": ["tx_hash", "sender_account_id", "wait_until", "signed_tx_base64"],
    "EXPERIMENTAL_tx_status": ["tx_hash", "sender_account_id", "wait_until", "signed_tx_base64"],
    "EXPERIMENTAL_receipt": ["receipt_id"],
    "EXPERIMENTAL_protocol_config": ["finality", "block_id", "sync_checkpoint"],
    "sandbox_patch_state": ["records"],
    "sandbox_fast_forward": ["delta_height"],
}
METHODS = sorted(HANDLER_CAUSES)


# ---- client ----------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} in a response: not strict JSON")


_connections = threading.local()


def _post(url: str, method: str, params: Any, request_id: Any = 1) -> tuple[int, Any]:
    """POST one request on a kept-alive connection (a new one after any failure)."""
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()
    address = urllib.parse.urlsplit(url)
    connection: http.client.HTTPConnection | None = getattr(_connections, url, None)
    if connection is None:
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=60)
        setattr(_connections, url, connection)
    try:
        connection.request("POST", "/", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        status, text = response.status, response.read()
    except (OSError, http.client.HTTPException):
        connection.close()
        delattr(_connections, url)
        raise
    return status, json.loads(text, parse_constant=_refuse_constant)


def _call(url: str, method: str, params: Any) -> Any:
    status, answer = _post(url, method, params)
    assert status == 200 and "result" in answer, answer
    return answer["result"]


def _query(url: str, request_type: str, account_id: str, **fields: Any) -> Any:
    return _call(url, "query", {"request_type": request_type, "finality": "final", "account_id": account_id, **fields})


def _fingerprint(url: str) -> list[Any]:
    """What the writing methods must not change: both accounts' records, keys and storage (no block stamps)."""
    out = []
    for account_id in ("test.near", PROBE):
        for request_type in ("view_account", "view_access_key_list", "view_state"):
            view = _query(url, request_type, account_id)
            out.append({k: v for k, v in view.items() if k not in ("block_height", "block_hash")})
    return out


def _assert_well_formed(method: str, request_id: Any, status: int, answer: Any, *, shaped: bool) -> None:
    assert answer["jsonrpc"] == "2.0"
    assert answer["id"] == request_id
    if "result" in answer:
        assert status == 200, answer
        return
    error = answer["error"]
    cause = error["cause"]["name"]
    assert cause != "INTERNAL_ERROR", answer
    assert error["data"], answer
    if cause == "PARSE_ERROR" and not shaped:
        assert (status, error["name"], error["code"]) == (400, "REQUEST_VALIDATION_ERROR", -32700), answer
        return
    assert cause in HANDLER_CAUSES[method], answer
    assert (status, error["name"], error["code"]) == (200, "HANDLER_ERROR", -32000), answer


# ---- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    node = start_background_node("embedded", tmp_path_factory.mktemp("node-fuzz"), block_time_ms=100)
    try:
        url = node.rpc_addr
        probe_key = str(SecretKey.generate().public_key)
        _call(url, "sandbox_patch_state", {"records": [
            {"Account": {"account_id": PROBE, "account": {"amount": str(10**24), "locked": "0", "storage_usage": 500}}},
            {"AccessKey": {"account_id": PROBE, "public_key": probe_key,
                           "access_key": {"nonce": 5, "permission": "FullAccess"}}},
            {"Data": {"account_id": PROBE, "data_key": base64.b64encode(b"k").decode(),
                      "value": base64.b64encode(b"v").decode()}},
            {"Account": {"account_id": PATCHED, "account": {"amount": "1", "locked": "0", "storage_usage": 0}}},
        ]})
        yield url
    finally:
        _stop(node)


def _stop(node: BackgroundNode) -> None:
    node.stop()


def test_the_fuzzed_methods_are_every_method_the_node_serves() -> None:
    assert sorted(RpcMethods(None, BlockTicker()).names) == METHODS  # type: ignore[arg-type]


# ---- hostile params --------------------------------------------------------------------------------

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_strings = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=_B58_ALPHABET, min_size=30, max_size=50),  # hash-like, mostly the wrong length
    st.sampled_from(["z" * 3_000, "1" * 45, "z" * 100_000]),  # would be slow to decode if not bounded
    st.sampled_from(["final", "optimistic", "genesis", "NONE", "FINAL", "test.near", PROBE, "ed25519:",
                     "view_account", "call_function", "view_state", "FullAccess", "latest", "%%%", "AA==", ""]),
    st.binary(max_size=40).map(lambda raw: base64.b64encode(raw).decode()),
    st.binary(min_size=32, max_size=32).map(lambda raw: base58.b58encode(raw).decode()),
)
_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.sampled_from([-1, 0, 1, 2**32, 2**63, 2**64 - 1, 2**64, 2**128, 10**7, 10**7 + 1]),
    st.floats(allow_nan=False, allow_infinity=False), _strings,
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=8,
)


def _hostile(method: str) -> st.SearchStrategy[Any]:
    keys = DOCUMENTED_KEYS[method] or ["x"]
    keyed = st.dictionaries(st.sampled_from(keys), _json, max_size=len(keys))
    records = st.fixed_dictionaries({"records": st.lists(
        st.dictionaries(st.sampled_from(["Account", "Data", "Contract", "AccessKey", "PostponedReceipt", "x"]),
                        st.dictionaries(st.sampled_from(["account_id", "account", "data_key", "value", "code",
                                                         "public_key", "access_key"]), _json, max_size=4),
                        max_size=2),
        max_size=4,
    )})
    shapes = [_json, keyed, st.lists(_json, max_size=3), st.lists(_strings, min_size=1, max_size=2)]
    if method == "sandbox_patch_state":
        shapes.append(records.map(lambda params: _with_probe_record(params)))
    return st.one_of(*shapes)


def _with_probe_record(params: dict[str, Any]) -> dict[str, Any]:
    """Hostile records that target the probe account, after a valid one that would change it if applied."""
    good = {"Data": {"account_id": PROBE, "data_key": base64.b64encode(b"k").decode(),
                     "value": base64.b64encode(b"changed").decode()}}
    bad = {"Data": {"account_id": PROBE, "data_key": 5, "value": ""}}
    return {"records": [good, *params["records"], bad]}


@pytest.mark.parametrize("method", METHODS)
def test_hostile_params_get_a_clear_error_and_change_nothing(node_url: str, method: str) -> None:
    before = _fingerprint(node_url)
    probe_values = _query(node_url, "view_state", PROBE)["values"]

    @settings(FUZZ, max_examples=HOSTILE_EXAMPLES)
    @given(params=_hostile(method), request_id=st.one_of(st.integers(), st.text(max_size=8), st.none()))
    def check(params: Any, request_id: Any) -> None:
        status, answer = _post(node_url, method, params, request_id)
        _assert_well_formed(method, request_id, status, answer, shaped=False)
        if method == "sandbox_patch_state":  # every hostile patch ends with a bad record after a good one
            assert _query(node_url, "view_state", PROBE)["values"] == probe_values

    check()
    assert _fingerprint(node_url) == before
    assert _call(node_url, "status", [])["sync_info"]["latest_block_height"] >= 1


# ---- documented shapes -----------------------------------------------------------------------------

_hash = st.binary(min_size=32, max_size=32).map(lambda raw: base58.b58encode(raw).decode())
_block_id = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 40), _hash)
_finality = st.sampled_from(["optimistic", "near-final", "final"])
_account_id = st.one_of(
    st.sampled_from(["test.near", PROBE, "nobody.test.near"]),
    st.from_regex(r"[a-z0-9]{2,12}(\.[a-z0-9]{2,8})?", fullmatch=True),
)
_public_key = st.one_of(
    st.binary(min_size=32, max_size=32).map(lambda raw: str(PublicKey(0, raw))),
    st.binary(min_size=64, max_size=64).map(lambda raw: str(PublicKey(1, raw))),
)
_b64 = st.binary(max_size=64).map(lambda raw: base64.b64encode(raw).decode())
_wait = st.sampled_from(["NONE", "INCLUDED", "EXECUTED_OPTIMISTIC", "INCLUDED_FINAL", "EXECUTED", "FINAL"])
_block_ref = st.one_of(
    st.fixed_dictionaries({"finality": _finality}),
    st.fixed_dictionaries({"block_id": _block_id}),
    st.fixed_dictionaries({"sync_checkpoint": st.sampled_from(["genesis", "earliest_available"])}),
)


@st.composite
def _query_params(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        account = draw(_account_id)
        path = draw(st.sampled_from([f"account/{account}", f"access_key/{account}", f"code/{account}",
                                     f"contract/{account}", f"call/{account}/get",
                                     f"access_key/{account}/{draw(_public_key)}"]))
        return [path, base58.b58encode(draw(st.binary(max_size=64))).decode()]
    request_type = draw(st.sampled_from(["view_account", "view_code", "view_state", "view_access_key",
                                         "view_access_key_list", "call_function"]))
    params = {"request_type": request_type, "account_id": draw(_account_id), **draw(_block_ref)}
    if request_type == "view_state":
        params["prefix_base64"] = draw(_b64)
    elif request_type == "view_access_key":
        params["public_key"] = draw(_public_key)
    elif request_type == "call_function":
        params["method_name"] = draw(st.text(min_size=1, max_size=20))
        params["args_base64"] = draw(_b64)
    return params


@st.composite
def _signed_tx(draw: st.DrawFn) -> str:
    """A well-formed signed transaction that the chain must refuse (a key nobody holds), base64."""
    key = SecretKey.from_bytes(draw(st.binary(min_size=32, max_size=32)))
    actions = draw(st.lists(st.one_of(
        st.integers(0, 10**30).map(Transfer),
        st.builds(FunctionCall, st.text(min_size=1, max_size=10), st.binary(max_size=40),
                  st.integers(1, 300 * 10**12), st.integers(0, 10**24)),
    ), min_size=1, max_size=3))
    raw = sign_transaction(draw(_account_id), key, None, draw(st.integers(1, 2**64 - 1)), draw(_account_id),
                           draw(st.binary(min_size=32, max_size=32)), actions)
    return base64.b64encode(raw).decode()


def _patch_records() -> st.SearchStrategy[Any]:
    u128 = st.integers(0, 2**128 - 1)
    account = st.fixed_dictionaries({"account_id": st.just(PATCHED), "account": st.fixed_dictionaries(
        {"amount": u128.map(str), "locked": u128.map(str), "storage_usage": st.integers(0, 2**64 - 1)})})
    data = st.fixed_dictionaries({"account_id": st.just(PATCHED), "data_key": _b64, "value": _b64})
    access_key = st.fixed_dictionaries({"account_id": st.just(PATCHED), "public_key": _public_key,
                                        "access_key": st.fixed_dictionaries({
                                            "nonce": st.integers(0, 2**64 - 1),
                                            "permission": st.one_of(st.just("FullAccess"), st.fixed_dictionaries(
                                                {"FunctionCall": st.fixed_dictionaries({
                                                    "allowance": st.one_of(st.none(), u128.map(str)),
                                                    "receiver_id": _account_id,
                                                    "method_names": st.lists(st.text(max_size=8), max_size=3)})}))})})
    record = st.one_of(account.map(lambda r: {"Account": r}), data.map(lambda r: {"Data": r}),
                       access_key.map(lambda r: {"AccessKey": r}))
    return st.fixed_dictionaries({"records": st.lists(record, max_size=4)})


SHAPED: dict[str, st.SearchStrategy[Any]] = {
    "status": st.sampled_from([[], None, {}]),
    "block": st.one_of(_block_ref, st.tuples(_block_id).map(list)),
    "chunk": st.one_of(st.fixed_dictionaries({"chunk_id": _hash}), st.tuples(_hash).map(list),
                       st.fixed_dictionaries({"block_id": _block_id, "shard_id": st.integers(0, 3)})),
    "gas_price": st.one_of(st.just([None]), st.tuples(_block_id).map(list),
                           st.fixed_dictionaries({"block_id": _block_id})),
    "validators": st.one_of(st.just([None]), st.tuples(_hash).map(list), st.fixed_dictionaries({"epoch_id": _hash}),
                            st.fixed_dictionaries({"block_id": _block_id})),
    "query": _query_params(),
    "send_tx": st.fixed_dictionaries({"signed_tx_base64": _signed_tx(), "wait_until": _wait}),
    "broadcast_tx_async": st.tuples(_signed_tx()).map(list),
    "broadcast_tx_commit": st.tuples(_signed_tx()).map(list),
    "tx": st.one_of(st.tuples(_hash, _account_id).map(list),
                    st.fixed_dictionaries({"tx_hash": _hash, "sender_account_id": _account_id, "wait_until": _wait})),
    "EXPERIMENTAL_tx_status": st.fixed_dictionaries(
        {"tx_hash": _hash, "sender_account_id": _account_id, "wait_until": _wait}),
    "EXPERIMENTAL_receipt": st.one_of(st.fixed_dictionaries({"receipt_id": _hash}), st.tuples(_hash).map(list)),
    "EXPERIMENTAL_protocol_config": _block_ref,
    "sandbox_patch_state": _patch_records(),
    "sandbox_fast_forward": st.fixed_dictionaries({"delta_height": st.integers(1, 5)}),
}


@pytest.mark.parametrize("method", METHODS)
def test_documented_shapes_are_never_parse_errors(node_url: str, method: str) -> None:
    probe_before = _fingerprint(node_url)

    @settings(FUZZ, max_examples=SHAPED_EXAMPLES)
    @given(params=SHAPED[method])
    def check(params: Any) -> None:
        height = _call(node_url, "status", [])["sync_info"]["latest_block_height"] if method == "sandbox_fast_forward" else 0
        status, answer = _post(node_url, method, params, "shaped")
        _assert_well_formed(method, "shaped", status, answer, shaped=True)
        if method == "sandbox_patch_state":
            assert answer["result"] == {}
            written = {r["Data"]["data_key"]: r["Data"]["value"] for r in params["records"] if "Data" in r}
            stored = {v["key"]: v["value"] for v in _query(node_url, "view_state", PATCHED)["values"]}
            assert {key: stored.get(key) for key in written} == written
        if method == "sandbox_fast_forward":
            assert answer["result"] == {}
            after = _call(node_url, "status", [])["sync_info"]["latest_block_height"]
            assert after >= height + params["delta_height"]

    check()
    # Refused transactions, patches of another account and fast-forwards leave the probe account alone.
    assert _fingerprint(node_url) == probe_before
