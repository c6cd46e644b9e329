"""Gas burnt per signer-contract method on the embedded localnet, against the targets, and the localnet's CPU time
per signing flow.

    python benchmarks/bench_contract.py [--flows N]

Targets (issue 14; the figure before it in brackets): `sign` accepted with 10 Tgas attached (17) and burning
<= 5 Tgas (9.2), `respond` <= 6 Tgas secp256k1 (6.4) / <= 8 Tgas Ed25519 (21.4), a trivial view <= 1 Tgas of VM
gas (what a `query call_function` burns: contract loading + execution; as a transaction the receipt adds the
fixed 0.89 Tgas function-call fees), localnet CPU <= 10 ms per sign -> respond -> callback flow (~28).
Confidential key derivation (no target yet): `request_app_private_key` and `respond_ckd` with a bare pk1 and with
(pk1, pk2), whose pairing checks dominate (`ckd_request_tgas`, `respond_ckd_tgas`).
Views are also run as transactions so that their gas is reported. Then a profile: each method run straight
through `localnet.runtime` with its gas split into contract loading, Wasm operators and host functions.
The last line is JSON with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainsig_sandbox.standin import (
    Deployment,
    StandInKeys,
    deploy_running_signer,
    participant_parameters,
    submit_sign,
    wait_event,
)
from chainsig_sandbox.standin_ckd import StandInCkdKeys, app_public_key
from contract.build import PROJECT_CONTRACTS, build_contract
from localnet.chain.costs import action_exec_gas
from localnet.rpc.node import LocalnetNode, NodeConfig
from localnet.runtime.fees import ACTION_FEES
from localnet.types import FunctionCall
from localnet.workspaces import TGAS, BackgroundNode, ExecutionFinalResult, Worker, connect

SIGN_ATTACHED_TARGET = 10 * TGAS
SIGN_BURNT_TARGET = 5 * TGAS
RESPOND_TARGETS = {"secp256k1": 6 * TGAS, "ed25519": 8 * TGAS}
VIEW_TARGET = 1 * TGAS
CPU_TARGET_MS = 10.0
BEFORE = {"sign_required_tgas": 17.0, "sign_burnt_tgas": 9.2, "respond_tgas": {"secp256k1": 6.45, "ed25519": 21.4},
          "view_tgas": 3.0, "localnet_cpu_ms_per_flow": 28.0}


def _node_cpu_s() -> float:
    """CPU seconds of every thread but the main one (the in-process node; the client runs on the main thread)."""
    main = threading.main_thread().native_id
    ticks = 0
    for task in Path("/proc/self/task").iterdir():
        if int(task.name) == main:
            continue
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def vm_gas(method: str, args: dict[str, Any], receipt_burnt: int) -> int:
    """The receipt's gas minus its fixed action fees: what the VM burnt (= the gas of a view call)."""
    action = FunctionCall(method_name=method, args=json.dumps(args).encode(), gas=0, deposit=0)
    return receipt_burnt - ACTION_FEES.action_receipt_creation.exec_fee() - action_exec_gas(action)


def tgas(gas: int) -> str:
    return f"{gas / TGAS:6.2f} Tgas"


def by_receipt(result: ExecutionFinalResult) -> list[tuple[str, int]]:
    return [(o.executor_id, o.gas_burnt) for o in result.receipt_outcomes]


async def governance(worker: Worker, wasm: bytes) -> list[tuple[str, int, int | None]]:
    """init, vote_add_domains, start_keygen_instance and vote_pk (the last vote of a round stores the key), then a
    resharing onto one more participant: vote_new_parameters, start_reshare_instance, vote_reshared."""
    d = await deploy_running_signer(worker, wasm, None)
    contract, nodes, keys = d.contract, d.participants, StandInKeys.generate().domains()
    rows: list[tuple[str, int, int | None]] = []

    def burnt(done: ExecutionFinalResult) -> int:
        return done.into_result().receipt_outcomes[0].gas_burnt

    init = {"parameters": participant_parameters(nodes), "init_config": {"key_event_timeout_blocks": 100_000}}
    done = await contract.call("init").args_json(init).gas(300 * TGAS).transact()
    rows.append(("init (3 participants)", burnt(done), None))
    proposal = {"domains": [{"id": 0, "scheme": "Secp256k1"}, {"id": 1, "scheme": "Ed25519"}]}
    for node in nodes:
        done = await node.call(contract.id, "vote_add_domains").args_json(proposal).gas(300 * TGAS).transact()
    rows.append(("vote_add_domains (last vote)", burnt(done), None))
    for domain in (0, 1):
        event = {"epoch_id": 0, "domain_id": domain, "attempt_id": 0}
        done = await nodes[0].call(contract.id, "start_keygen_instance").args_json({"key_event_id": event}) \
            .gas(300 * TGAS).transact()
        if domain == 0:
            rows.append(("start_keygen_instance", burnt(done), None))
        for node in nodes:
            done = await node.call(contract.id, "vote_pk").args_json(
                {"key_event_id": event, "public_key": keys[domain]["public_key"]}).gas(300 * TGAS).transact()
        rows.append((f"vote_pk ({keys[domain]['scheme']}, last vote)", burnt(done), None))
    newcomer = await worker.dev_create_account()
    entries = [*participant_parameters(nodes)["participants"]["participants"],
               [newcomer.id, 3, {"tls_public_key": "ed25519:" + "1" * 32, "url": "http://127.0.0.1:3003"}]]
    vote = {"prospective_epoch_id": 1,
            "proposal": {"threshold": 3, "participants": {"next_id": 4, "participants": entries}}}
    for node in [*nodes, newcomer]:
        done = await node.call(contract.id, "vote_new_parameters").args_json(vote).gas(300 * TGAS).transact()
    rows.append(("vote_new_parameters (4 participants, last vote)", burnt(done), None))
    for domain in (0, 1):
        event = {"epoch_id": 1, "domain_id": domain, "attempt_id": 0}
        done = await nodes[0].call(contract.id, "start_reshare_instance").args_json({"key_event_id": event}) \
            .gas(300 * TGAS).transact()
        if domain == 0:
            rows.append(("start_reshare_instance", burnt(done), None))
        for node in [*nodes, newcomer]:
            done = await node.call(contract.id, "vote_reshared").args_json({"key_event_id": event}) \
                .gas(300 * TGAS).transact()
    rows.append(("vote_reshared (last vote: new epoch)", burnt(done), None))
    return rows


async def flows_cpu(worker: Worker, d: Deployment, user: Any, flows: int) -> float:
    """Node CPU milliseconds per sign -> respond -> callback flow, `flows` secp256k1 flows run concurrently."""
    cid = d.contract.id
    keys = d.keys
    assert keys is not None, "flows need a running signer with stand-in keys"

    async def one(i: int) -> None:
        pending = await submit_sign(user, cid, {"path": f"cpu-{i}", "payload_v2": {"Ecdsa": os.urandom(32).hex()},
                                                "domain_id": 0})
        item = await wait_event(pending)
        response = keys.respond(item["request"])
        (await d.participants[i % len(d.participants)].call(cid, "respond").args_json(
            {"request": item["request"], "response": response}).gas(300 * TGAS).transact()).into_result()
        (await pending.wait()).into_result()

    await one(-1)  # warm-up: compiled module, caches
    idle0, wall0 = _node_cpu_s(), time.monotonic()
    await asyncio.sleep(2.0)
    idle_rate = (_node_cpu_s() - idle0) / (time.monotonic() - wall0)
    cpu0, wall0 = _node_cpu_s(), time.monotonic()
    await asyncio.gather(*(one(i) for i in range(flows)))
    cpu, wall = _node_cpu_s() - cpu0, time.monotonic() - wall0
    busy = max(0.0, cpu - idle_rate * wall)
    print(f"localnet CPU: {cpu * 1000:.0f} ms for {flows} concurrent flows in {wall:.2f} s (idle block production "
          f"{idle_rate * 1000:.0f} ms/s): {cpu * 1000 / flows:.1f} ms per flow, {busy * 1000 / flows:.1f} ms without the "
          "idle share")
    return busy * 1000 / flows


async def ckd_gas(worker: Worker, wasm: bytes, figures: dict[str, Any]) -> list[tuple[str, int, int | None]]:
    """request_app_private_key (with exactly the configured minimum attached) and respond_ckd, with a bare pk1 and with
    (pk1, pk2), on a signer whose domain 2 is Bls12381."""
    import secrets

    from mpc_service.protocol.ckd import CkdRequesterKey

    keys = StandInCkdKeys.generate()
    d = await deploy_running_signer(worker, wasm, None)
    init = {"parameters": participant_parameters(d.participants), "domains": [*StandInKeys.generate().domains(),
                                                                                keys.domain(2)]}
    (await d.contract.call("init_running").args_json(init).gas(300 * TGAS).transact()).into_result()
    cid = d.contract.id
    minimum = (await d.contract.view("config")).json()["ckd_call_gas_attachment_requirement_tera_gas"] * TGAS
    user = await worker.dev_create_account()
    rows: list[tuple[str, int, int | None]] = []
    figures["ckd_request_tgas"], figures["respond_ckd_tgas"] = {}, {}
    for label, verifiable in (("pk1", False), ("pk1+pk2", True)):
        key = app_public_key(CkdRequesterKey.generate(secrets.SystemRandom()), verifiable=verifiable)
        pending = await user.call(cid, "request_app_private_key").args_json(
            {"request": {"derivation_path": "bench", "app_public_key": key, "domain_id": 2}}) \
            .deposit(1).gas(minimum).transact_async()
        item = await wait_event(pending, "ckd_request")
        done = await d.participants[0].call(cid, "respond_ckd").args_json(
            {"request": item["request"], "response": keys.respond(item["request"])}).gas(300 * TGAS).transact()
        done.into_result()
        result = await pending.wait()
        result.into_result()
        receipts = [g for who, g in by_receipt(result) if who == cid]
        respond_gas = done.receipt_outcomes[0].gas_burnt
        rows.append((f"request_app_private_key ({label}): burnt", receipts[0], None))
        rows.append((f"callback ({label}, success)", receipts[-1], None))
        rows.append((f"respond_ckd ({label})", respond_gas, None))
        figures["ckd_request_tgas"][label] = round(receipts[0] / TGAS, 2)
        figures["respond_ckd_tgas"][label] = round(respond_gas / TGAS, 2)
    rows.append(("request_app_private_key: configured minimum attachment", minimum, None))
    figures["ckd_required_tgas"] = minimum / TGAS
    return rows


def profile(wasm: bytes, network: StandInKeys) -> list[tuple[str, int, int, int, int]]:
    """(method, burnt, loading, operators, host) gas of each method run straight through localnet.runtime."""
    from localnet.runtime import run_function_call
    from localnet.runtime.api import PromiseResult, PromiseResultStatus
    from localnet.runtime.fees import EXT_COSTS, REGULAR_OP_COST

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "localnet"))
    from test_runtime_support import MemoryExternal, make_context

    ext = MemoryExternal()
    rows: list[tuple[str, int, int, int, int]] = []
    loading = EXT_COSTS.contract_loading_bytes * len(wasm) + EXT_COSTS.contract_loading_base

    def run(label: str, method: str, args: dict[str, Any], **context: Any) -> Any:
        ctx = make_context(current_account_id="signer.near", predecessor_account_id=context.pop("pred", "signer.near"),
                           input=json.dumps(args).encode(), **context)
        ctx = dataclasses.replace(ctx, signer_account_id=ctx.predecessor_account_id)
        outcome = run_function_call(wasm, method, ctx, ext)
        assert outcome.error is None, (label, outcome.error)
        ops = outcome.wasm_ops * REGULAR_OP_COST
        rows.append((label, outcome.burnt_gas, loading, ops, outcome.burnt_gas - loading - ops))
        return outcome

    nodes = [f"n{i}.near" for i in range(3)]
    params = {"threshold": 2, "participants": {"next_id": 3, "participants": [
        [n, i, {"tls_public_key": "ed25519:" + "1" * 32, "url": "http://127.0.0.1"}] for i, n in enumerate(nodes)]}}
    run("init_running", "init_running", {"parameters": params, "domains": network.domains()})
    run("version (view)", "version", {}, is_view=True)
    for domain, kind, size in ((0, "Ecdsa", 32), (1, "Eddsa", 64)):
        scheme = ("secp256k1", "ed25519")[domain]
        out = run(f"sign ({scheme})", "sign", {"request": {"path": "bench", "payload_v2": {kind: os.urandom(size).hex()},
                                                           "domain_id": domain}}, pred="alice.near", attached_deposit=1)
        event = next(json.loads(line.split(":", 1)[1]) for line in out.logs if '"sign_request"' in line)
        item = event["data"][0]
        ext.waiting_yields.add(bytes.fromhex(item["data_id"]))
        run(f"respond ({scheme})", "respond", {"request": item["request"], "response": network.respond(item["request"])},
            pred=nodes[0])
    answer = json.dumps(network.respond(item["request"])).encode()
    callback_args = {"request": item["request"], "rid": "00" * 32, "n": 1}
    run("callback (success)", "return_signature_and_clean_state_on_success", callback_args,
        promise_results=(PromiseResult(PromiseResultStatus.SUCCESS, answer),))
    run("derived_public_key (ed25519, view)", "derived_public_key",
        {"path": "x", "predecessor": "alice.near", "domain_id": 1}, is_view=True)
    return rows


async def bench(flows: int) -> None:
    wasm = build_contract(PROJECT_CONTRACTS["signer"], "signer").read_bytes()
    figures: dict[str, Any] = {"wasm_bytes": len(wasm)}
    with tempfile.TemporaryDirectory() as home:
        node = BackgroundNode(LocalnetNode(NodeConfig(home=Path(home), block_time_ms=20, wait_timeout_s=10.0)))
        node.start()
        try:
            worker = connect(node.rpc_addr, node.validator)
            stand_in = StandInKeys.generate()
            d = await deploy_running_signer(worker, wasm, stand_in)
            cid = d.contract.id
            user = await worker.dev_create_account()
            config = (await d.contract.view("config")).json()
            minimum = config["sign_call_gas_attachment_requirement_tera_gas"] * TGAS
            rows: list[tuple[str, int, int | None]] = []
            figures["respond_tgas"] = {}
            sign_burnt: list[int] = []
            for domain, kind, payload in ((0, "Ecdsa", os.urandom(32)), (1, "Eddsa", os.urandom(64))):
                scheme = "secp256k1" if domain == 0 else "ed25519"
                # attached: exactly the configured minimum (the contract refuses less)
                pending = await submit_sign(user, cid, {"path": "bench", "payload_v2": {kind: payload.hex()},
                                                        "domain_id": domain}, deposit=10, gas=minimum)
                item = await wait_event(pending)
                response = stand_in.respond(item["request"])
                done = await d.participants[0].call(cid, "respond").args_json(
                    {"request": item["request"], "response": response}).gas(300 * TGAS).transact()
                done.into_result()
                result = await pending.wait()
                result.into_result()
                receipts = [g for who, g in by_receipt(result) if who == cid]
                # receipts executed by the contract: sign, then the yield callback (the refund runs on the user).
                sign_burnt.append(receipts[0])
                rows.append((f"sign ({scheme}, with refund): burnt", receipts[0], SIGN_BURNT_TARGET))
                rows.append((f"callback ({scheme}, success)", receipts[-1], None))
                respond_gas = done.receipt_outcomes[0].gas_burnt
                rows.append((f"respond ({scheme})", respond_gas, RESPOND_TARGETS[scheme]))
                figures["respond_tgas"][scheme] = round(respond_gas / TGAS, 2)
            # The timeout path with exactly the minimum attached: the callback cleans up, fail_on_timeout fails.
            pending = await submit_sign(user, cid, {"path": "bench", "payload_v2": {"Ecdsa": os.urandom(32).hex()}},
                                        gas=minimum)
            await wait_event(pending)
            await worker.fast_forward(200)
            timed_out = await pending.wait()
            assert "Request has timed out." in str(timed_out.failure), timed_out.failure
            receipts = [g for who, g in by_receipt(timed_out) if who == cid]
            rows.append(("callback (timeout path)", receipts[1], None))
            rows.append(("fail_on_timeout", receipts[2], None))
            reserved = config["return_signature_and_clean_state_on_success_call_tera_gas"] * TGAS
            rows.append(("sign: burnt + callback reservation", max(sign_burnt) + reserved, SIGN_ATTACHED_TARGET))
            rows.append(("sign: configured minimum attachment (used above)", minimum, SIGN_ATTACHED_TARGET))
            figures["sign_required_tgas"] = minimum / TGAS
            figures["sign_burnt_tgas"] = round(max(sign_burnt) / TGAS, 2)
            for method, args in (("version", {}), ("config", {}), ("state", {}), ("public_key", {"domain_id": 0}),
                                 ("derived_public_key", {"path": "x", "predecessor": user.id, "domain_id": 0}),
                                 ("derived_public_key", {"path": "x", "predecessor": user.id, "domain_id": 1})):
                done = await user.call(cid, method).args_json(args).gas(300 * TGAS).transact()
                done.into_result()
                label = method + ("" if "domain_id" not in args else f" (domain {args['domain_id']})")
                burnt = done.receipt_outcomes[0].gas_burnt
                rows.append((label + " as a transaction", burnt, None))
                if method == "version":
                    view = vm_gas(method, args, burnt)
                    rows.append(("version as a view (VM gas)", view, VIEW_TARGET))
                    figures["view_tgas"] = round(view / TGAS, 2)
            rows.extend(await governance(worker, wasm))
            rows.extend(await ckd_gas(worker, wasm, figures))
            print(f"{'method':52} {'gas':>12}  target")
            for label, gas, target in rows:
                verdict = "" if target is None else f"<= {tgas(target)}  {'OK' if gas <= target else 'OVER'}"
                print(f"{label:52} {tgas(gas)}  {verdict}")
            cpu_ms = await flows_cpu(worker, d, user, flows)
            figures["localnet_cpu_ms_per_flow"] = round(cpu_ms, 1)
            await worker.close()
        finally:
            node.stop()
    fixed_fees = ACTION_FEES.action_receipt_creation.exec_fee() + ACTION_FEES.function_call_base.exec_fee()
    print(f"\nprofile ({len(wasm) // 1024} KiB Wasm; the {fixed_fees / TGAS:.2f} Tgas function-call fees of a receipt"
          " are not included):")
    print(f"{'method':40} {'VM gas':>8} {'loading':>8} {'wasm ops':>9} {'host fns':>9}")
    for label, burnt, loading, ops, host in profile(wasm, StandInKeys.generate()):
        print(f"{label:40} {burnt / TGAS:8.2f} {loading / TGAS:8.2f} {ops / TGAS:9.2f} {host / TGAS:9.2f}")
    targets = {"sign_required_tgas": 10, "sign_burnt_tgas": 5, "respond_tgas": {"secp256k1": 6, "ed25519": 8},
               "view_tgas": 1, "localnet_cpu_ms_per_flow": CPU_TARGET_MS}
    print("before (issue 14):", json.dumps(BEFORE))
    print("targets:", json.dumps(targets))
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=20, help="concurrent signing flows for the CPU figure")
    asyncio.run(bench(parser.parse_args().flows))
