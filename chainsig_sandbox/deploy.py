"""Deploy the signer contract (and optionally the example caller) to any NEAR network, idempotently.

One code path for every network: the localnet, a near-sandbox, testnet and mainnet differ only in the RPC URL and
the paying account's key. Steps, each skipped when already done:

1. check the payer account exists and the key is one of its access keys;
2. create the contract account (a sub-account of the payer, holding the payer's public key) when missing;
3. deploy the Wasm when the account has no code, or redeploy it with `upgrade` (state is kept);
4. `init` with the participants when the contract's `state` says it is not initialized; an initialized contract
   whose participants differ from the requested ones is an error (changing them is the participants' vote);
5. the same for the caller example (`init` with the signer's id).

`dry_run` does every check and reports what it would do without sending a transaction. Every refusal is a
`DeployError` with a one-line reason. The chain is reached through the harness's JSON-RPC client
(`localnet.workspaces`, which speaks nearcore's RPC and is tested against it), never the embedded chain itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import base58

from chainsig.credentials import NearCredentials, validate_account_id
from chainsig.errors import ClientError
from chainsig.networks import NetworkSettings

__all__ = [
    "CallerPlan",
    "DeployError",
    "DeployPlan",
    "DeployReport",
    "Step",
    "default_initial_balance",
    "deploy",
    "load_key_file",
    "load_participants",
]

NEAR = 10**24
TGAS = 10**12
STORAGE_YOCTO_PER_BYTE = 10**19  # nearcore's storage_amount_per_byte
NO_CODE_HASH = "11111111111111111111111111111111"  # base58 of 32 zero bytes: an account without a contract
NOT_INITIALIZED = "not initialized"  # in the signer's "The protocol is not initialized." panic


class DeployError(Exception):
    """The deploy cannot go on; the message is one line that says why."""


def _one_line(text: object, limit: int = 400) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ---- inputs ---------------------------------------------------------------------------------------------------------


def load_key_file(path: Path, account_id: str | None = None) -> NearCredentials:
    """A NEAR CLI key file {"account_id", "public_key", "secret_key"|"private_key"}; errors never echo the secret."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise DeployError(f"cannot read key file {path}: {exc.strerror}") from None
    try:
        return NearCredentials.from_json(text, account_id)
    except ClientError as exc:
        raise DeployError(f"bad key file {path}: {exc}") from None


def load_participants(path: Path) -> dict[str, Any]:
    """`init`'s `parameters` from a JSON file, checked here so that a bad file changes nothing on chain."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise DeployError(f"cannot read participants file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise DeployError(f"participants file {path} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and "parameters" in data and "threshold" not in data:
        data = data["parameters"]  # also accept {"parameters": {...}} (e.g. a cluster.json)

    def bad(why: str) -> DeployError:
        return DeployError(f"participants file {path}: {why}")

    if not isinstance(data, dict):
        raise bad('expected {"threshold", "participants": {"next_id", "participants": [...]}}')
    threshold, inner = data.get("threshold"), data.get("participants")
    if not isinstance(inner, dict) or not isinstance(inner.get("participants"), list):
        raise bad('"participants" must be {"next_id": n, "participants": [[account_id, id, {...}], ...]}')
    entries, next_id = inner["participants"], inner.get("next_id")
    if isinstance(next_id, bool) or not isinstance(next_id, int):
        raise bad('"participants.next_id" must be an integer')
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= len(entries):
        raise bad(f'"threshold" must be an integer in 1..{len(entries)} (the number of participants)')
    seen_ids: set[int] = set()
    seen_accounts: set[str] = set()
    for n, entry in enumerate(entries):
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], dict)):
            raise bad(f"participant {n} must be [account_id, id, {{\"tls_public_key\", \"url\"}}]")
        account, pid, info = entry
        try:
            validate_account_id(account)
        except ClientError as exc:
            raise bad(f"participant {n}: {exc}") from None
        if isinstance(pid, bool) or not isinstance(pid, int) or not 0 <= pid < next_id or pid in seen_ids:
            raise bad(f"participant {n}: id must be a distinct integer below next_id ({next_id})")
        if account in seen_accounts:
            raise bad(f"participant {n}: {account} is listed twice")
        key, url = info.get("tls_public_key"), info.get("url")
        if not isinstance(key, str) or not _is_ed25519_key(key):
            raise bad(f'participant {n}: "tls_public_key" must be "ed25519:<base58 of 32 bytes>"')
        if not isinstance(url, str) or not url:
            raise bad(f'participant {n}: "url" must be a non-empty string')
        seen_ids.add(pid)
        seen_accounts.add(account)
    return {"threshold": threshold, "participants": {"next_id": next_id, "participants": entries}}


def _is_ed25519_key(text: str) -> bool:
    prefix, _, body = text.partition(":")
    try:
        return prefix == "ed25519" and len(base58.b58decode(body)) == 32
    except ValueError:
        return False


def default_initial_balance(wasm_bytes: int) -> int:
    """Storage staked for the code (+10 %) plus 2 NEAR for the contract's state (pending requests, keys), in yocto."""
    staked = wasm_bytes * STORAGE_YOCTO_PER_BYTE * 11 // 10
    return -(-staked // NEAR) * NEAR + 2 * NEAR


def code_hash(wasm: bytes) -> str:
    """The `code_hash` nearcore reports for an account running `wasm`."""
    return base58.b58encode(hashlib.sha256(wasm).digest()).decode()


@dataclass(frozen=True)
class CallerPlan:
    """Also deploy the example caller contract (contract/caller) to `account_id` and point it at the signer."""

    account_id: str
    wasm: bytes = field(repr=False)


@dataclass(frozen=True)
class DeployPlan:
    network: NetworkSettings
    rpc_url: str
    payer: NearCredentials
    contract_id: str
    wasm: bytes = field(repr=False)
    parameters: dict[str, Any] | None = None
    init_config: dict[str, Any] | None = None  # `init`'s optional config (e.g. key_event_timeout_blocks)
    initial_balance_yocto: int | None = None
    upgrade: bool = False
    dry_run: bool = False
    caller: CallerPlan | None = None
    credentials_dir: Path | None = None  # NEAR CLI's ~/.near-credentials/<network>: keys of existing contract accounts


# ---- outputs --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing the deploy did (`done`), would do (dry run) or found already done (`kept`)."""

    action: str  # create_account | deploy | upgrade | init | kept | would_<action>
    account_id: str
    detail: str
    tx_hash: str | None = None


@dataclass(frozen=True)
class DeployReport:
    network: NetworkSettings
    rpc_url: str
    contract_id: str
    steps: tuple[Step, ...]
    version: str | None
    code_hash: str | None
    protocol_state: str | None
    dry_run: bool

    def lines(self) -> list[str]:
        out = [f"network {self.network.name} ({self.rpc_url}), signer {self.contract_id}"
               + (" -- dry run, nothing sent" if self.dry_run else "")]
        for step in self.steps:
            mark = "=" if step.action == "kept" else ("~" if step.action.startswith("would_") else "+")
            tx = f" (tx {step.tx_hash})" if step.tx_hash else ""
            out.append(f"{mark} {step.account_id}: {step.detail}{tx}")
        if self.version is not None:
            out.append(f"{self.contract_id}: version {self.version}, code hash {self.code_hash}, "
                       f"state {self.protocol_state}")
        link = self.network.explorer_account(self.contract_id)
        out.append(f"explorer: {link}" if link else
                   f"explorer: none for {self.network.name}; inspect with `chainsig`/RPC views at {self.rpc_url}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"network": self.network.name, "rpc_url": self.rpc_url, "contract_id": self.contract_id,
                "dry_run": self.dry_run, "version": self.version, "code_hash": self.code_hash,
                "protocol_state": self.protocol_state,
                "steps": [{"action": s.action, "account_id": s.account_id, "detail": s.detail,
                           "tx_hash": s.tx_hash} for s in self.steps],
                "explorer": self.network.explorer_account(self.contract_id)}


# ---- the deploy -----------------------------------------------------------------------------------------------------


async def deploy(plan: DeployPlan) -> DeployReport:
    """Bring `plan.contract_id` to: deployed, initialized (and the caller too); see the module docstring."""
    from localnet.rpc.home import ValidatorKey
    from localnet.workspaces import RpcTransportError, SecretKey, connect

    validate_contract_ids(plan)
    payer = ValidatorKey(plan.payer.account_id, SecretKey.from_string(plan.payer.secret_key.reveal()))
    worker = connect(plan.rpc_url, payer)
    try:
        return await _Deployer(plan, worker).run()
    except RpcTransportError as exc:
        raise DeployError(f"RPC {plan.rpc_url}: {_one_line(exc)}") from None
    finally:
        await worker.close()


def validate_contract_ids(plan: DeployPlan) -> None:
    for what, account in (("contract id", plan.contract_id),
                          ("caller id", plan.caller.account_id if plan.caller else None)):
        if account is None:
            continue
        try:
            validate_account_id(account, what)
        except ClientError as exc:
            raise DeployError(str(exc)) from None


class _Deployer:
    def __init__(self, plan: DeployPlan, worker: Any) -> None:
        self.plan = plan
        self.worker = worker
        self.steps: list[Step] = []

    def _step(self, action: str, account_id: str, detail: str, tx_hash: str | None = None) -> None:
        self.steps.append(Step(action, account_id, detail, tx_hash))

    async def _account(self, account_id: str) -> dict[str, Any] | None:
        from localnet.workspaces import RpcCallError

        try:
            view: dict[str, Any] = await self.worker.view_account(account_id)
            return view
        except RpcCallError as exc:
            if exc.cause_name == "UNKNOWN_ACCOUNT":
                return None
            raise DeployError(f"view_account {account_id}: {_one_line(exc)}") from None

    async def _has_key(self, account_id: str, public_key: str) -> bool:
        from localnet.workspaces import RpcCallError, ViewFailed

        try:
            await self.worker.view_access_key(account_id, public_key)
            return True
        except (RpcCallError, ViewFailed):
            return False

    async def _send(self, what: str, account_id: str, transaction: Any) -> str:
        """Send, wait for the final outcome, and turn any failure into a one-line DeployError."""
        from localnet.workspaces import RpcCallError, TransactionFailed

        try:
            result = (await transaction.transact()).into_result()
        except TransactionFailed as exc:
            raise DeployError(f"{what} on {account_id} failed: {_one_line(exc.failure)}") from None
        except RpcCallError as exc:
            if exc.cause_name == "TIMEOUT_ERROR":
                raise DeployError(f"{what} on {account_id}: the RPC timed out waiting for the outcome; run again "
                                  "(the script picks up where the chain is)") from None
            raise DeployError(f"{what} on {account_id}: {_one_line(exc)}") from None
        tx_hash: str = result.tx_hash
        return tx_hash

    async def _signer_for(self, account_id: str, exists: bool) -> Any:
        """An Account that can sign for `account_id`: the payer's key, or its NEAR CLI credentials file."""
        from localnet.workspaces import SecretKey

        payer_key = SecretKey.from_string(self.plan.payer.secret_key.reveal())
        if not exists or account_id == self.plan.payer.account_id:
            return self.worker.account(account_id, payer_key)
        if await self._has_key(account_id, str(payer_key.public_key)):
            return self.worker.account(account_id, payer_key)
        if self.plan.credentials_dir is not None:
            path = self.plan.credentials_dir / f"{account_id}.json"
            if path.is_file():
                creds = load_key_file(path, account_id)
                key = SecretKey.from_string(creds.secret_key.reveal())
                if await self._has_key(account_id, str(key.public_key)):
                    return self.worker.account(account_id, key)
        raise DeployError(f"{account_id} exists but neither {self.plan.payer.account_id}'s key nor a credentials file "
                          f"for it is one of its access keys")

    async def _ensure_code(self, account_id: str, wasm: bytes, label: str, balance: int) -> tuple[Any, bool]:
        """Create the account if missing and deploy `wasm` if it has no code (or `upgrade`); returns (signer,
        whether code is on chain now or would be)."""
        plan = self.plan
        view = await self._account(account_id)
        if view is None:
            payer_id = plan.payer.account_id
            if not account_id.endswith("." + payer_id):
                raise DeployError(f"{account_id} does not exist on {plan.network.name} and is not a sub-account of "
                                  f"{payer_id}; create it first or pick a sub-account id")
            payer = await self._account(payer_id)
            assert payer is not None
            available = int(payer["amount"])
            if available < balance + NEAR // 10:
                raise DeployError(f"{payer_id} holds {available / NEAR:.2f} NEAR; creating {account_id} with "
                                  f"{balance / NEAR:.2f} NEAR (+ fees) needs more (or lower --initial-balance)")
            signer = await self._signer_for(account_id, exists=False)
            detail = f"create account with {balance / NEAR:g} NEAR and {payer_id}'s key"
            if plan.dry_run:
                self._step("would_create_account", account_id, detail)
            else:
                payer_account = self.worker.root_account()
                tx = payer_account.batch(account_id).create_account().transfer(balance).add_key(signer.public_key)
                self._step("create_account", account_id, detail, await self._send("create account", account_id, tx))
            current_hash = NO_CODE_HASH
        else:
            current_hash = str(view["code_hash"])
            signer = await self._signer_for(account_id, exists=True)
        local_hash = code_hash(wasm)
        if current_hash == NO_CODE_HASH or plan.upgrade:
            action = "deploy" if current_hash == NO_CODE_HASH else "upgrade"
            same = " (same code as deployed)" if current_hash == local_hash else ""
            detail = f"{action} {label} ({len(wasm)} bytes, code hash {local_hash}){same}"
            if plan.dry_run:
                self._step("would_" + action, account_id, detail)
            else:
                tx = signer.batch(account_id).deploy(wasm)
                self._step(action, account_id, detail, await self._send(action, account_id, tx))
        else:
            relation = ("the local build" if current_hash == local_hash
                        else f"not the local build {local_hash}: pass --upgrade to redeploy")
            self._step("kept", account_id, f"{label} already deployed (code hash {current_hash}, {relation})")
        return signer, not (plan.dry_run and current_hash == NO_CODE_HASH)

    async def _view(self, account_id: str, method: str, args: Any = None) -> Any:
        return (await self.worker.view(account_id, method, args if args is not None else {})).json()

    async def _signer_state(self, contract_id: str) -> dict[str, Any] | None:
        """The `state` view, or None when the contract says it is not initialized."""
        from localnet.workspaces import RpcCallError, ViewFailed

        try:
            state: dict[str, Any] = await self._view(contract_id, "state")
            return state
        except (ViewFailed, RpcCallError) as exc:
            if NOT_INITIALIZED in str(exc) or NOT_INITIALIZED in str(getattr(exc, "data", "")):
                return None
            raise DeployError(f"{contract_id} does not answer the signer's `state` view: {_one_line(exc)}") from None

    async def _survey_signer(self) -> dict[str, Any] | None:
        """Before any transaction: the signer's current `state` (None when not deployed or not initialized), and
        a refusal when the request cannot be met (no participants for a fresh contract, different participants)."""
        plan, cid = self.plan, self.plan.contract_id
        view = await self._account(cid)
        state = None
        if view is not None and str(view["code_hash"]) != NO_CODE_HASH:
            state = await self._signer_state(cid)
        if state is None and plan.parameters is None:
            raise DeployError(f"{cid} is not initialized yet: pass --participants FILE with init's parameters")
        if state is not None and plan.parameters is not None:
            on_chain = {"threshold": state.get("threshold"), "participants": state.get("participants")}
            if _canonical(on_chain) != _canonical(plan.parameters):
                raise DeployError(f"{cid} is already initialized with other participants or threshold "
                                  f"({_describe(on_chain)}); omit --participants to keep them (changing them is the "
                                  "participants' vote)")
        return state

    async def _survey_caller(self, caller: CallerPlan) -> bytes:
        """The signer id the caller stores (b"" when not deployed or not initialized); refuses another signer."""
        view = await self._account(caller.account_id)
        if view is None or str(view["code_hash"]) == NO_CODE_HASH:
            return b""
        stored: bytes = (await self.worker.view_state(caller.account_id, b"signer")).get(b"signer", b"")
        if stored and stored.decode() != self.plan.contract_id:
            raise DeployError(f"{caller.account_id} is already initialized for signer {stored.decode()}, "
                              f"not {self.plan.contract_id}")
        return stored

    async def _ensure_init(self, signer: Any, state: dict[str, Any] | None) -> None:
        plan, cid = self.plan, self.plan.contract_id
        if state is not None:
            on_chain = {"threshold": state.get("threshold"), "participants": state.get("participants")}
            self._step("kept", cid, f"already initialized: {_describe(on_chain)}, "
                                    f"state {state.get('protocol_state')}")
            return
        assert plan.parameters is not None  # _survey_signer refused otherwise
        detail = f"init with {_describe(plan.parameters)}"
        if plan.dry_run:
            self._step("would_init", cid, detail)
            return
        init_args: dict[str, Any] = {"parameters": plan.parameters}
        if plan.init_config is not None:
            init_args["init_config"] = plan.init_config
        tx = signer.call(cid, "init").args_json(init_args).gas(300 * TGAS)
        self._step("init", cid, detail, await self._send("init", cid, tx))

    async def _ensure_caller(self, caller: CallerPlan, stored: bytes) -> None:
        plan = self.plan
        signer, _ = await self._ensure_code(caller.account_id, caller.wasm, "caller.wasm",
                                            default_initial_balance(len(caller.wasm)))
        if stored:
            self._step("kept", caller.account_id, f"caller already initialized (signer {plan.contract_id})")
            return
        detail = f"init caller with signer_id {plan.contract_id}"
        if plan.dry_run:
            self._step("would_init", caller.account_id, detail)
            return
        tx = signer.call(caller.account_id, "init").args_json({"signer_id": plan.contract_id}).gas(30 * TGAS)
        self._step("init", caller.account_id, detail, await self._send("init", caller.account_id, tx))

    async def run(self) -> DeployReport:
        from localnet.workspaces import SecretKey

        plan = self.plan
        payer_id = plan.payer.account_id
        if await self._account(payer_id) is None:
            raise DeployError(f"account {payer_id} does not exist on {plan.network.name} ({plan.rpc_url})")
        public_key = str(SecretKey.from_string(plan.payer.secret_key.reveal()).public_key)
        if not await self._has_key(payer_id, public_key):
            raise DeployError(f"the key file's key {public_key} is not an access key of {payer_id}")
        state = await self._survey_signer()
        caller_signer = await self._survey_caller(plan.caller) if plan.caller is not None else b""
        balance = plan.initial_balance_yocto or default_initial_balance(len(plan.wasm))
        signer, code_on_chain = await self._ensure_code(plan.contract_id, plan.wasm, "signer.wasm", balance)
        await self._ensure_init(signer, state)
        if plan.caller is not None:
            await self._ensure_caller(plan.caller, caller_signer)
        version = deployed_hash = protocol_state = None
        if code_on_chain:
            version = str(await self._view(plan.contract_id, "version"))
            deployed = await self._account(plan.contract_id)
            deployed_hash = str(deployed["code_hash"]) if deployed else None
            state = await self._signer_state(plan.contract_id)
            protocol_state = str(state.get("protocol_state")) if state else "not initialized"
        return DeployReport(plan.network, plan.rpc_url, plan.contract_id, tuple(self.steps), version, deployed_hash,
                            protocol_state, plan.dry_run)


def _canonical(parameters: dict[str, Any]) -> str:
    inner = parameters.get("participants") or {}
    entries = sorted(json.dumps(e, sort_keys=True) for e in inner.get("participants", []))
    return json.dumps([parameters.get("threshold"), entries], sort_keys=True)


def _describe(parameters: dict[str, Any]) -> str:
    entries = (parameters.get("participants") or {}).get("participants", [])
    return f"{len(entries)} participants, threshold {parameters.get('threshold')}"

