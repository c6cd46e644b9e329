"""One MPC node, as wiring: it builds the stages, routes control messages to them and runs their loops.

    chain ─ Indexer ─ RequestService.follow_updates ─ RequestQueue ─ RequestService.serve/lead ─ provider ─ Responder
    chain ─ KeyEventCoordinator (membership, key shares, keygen, resharing) ─ NodeContext (read by every stage)
    mesh  ─ control router ─ provider.follow (tasks a leader asks for) / coordinator (reshare packages) / heights

Stages share a `NodeContext`; each signature scheme is a `SchemeProvider` (`mpc_service/providers/`). A failed
request never kills a loop; protocol errors naming a culprit leave the culprit out of new signing sets for a while.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from typing import Any

from mpc_service.assets import AssetStore
from mpc_service.chain.indexer import Indexer
from mpc_service.chain.rpc import JsonRpc
from mpc_service.checks import TaskRefused
from mpc_service.config import NodeConfig
from mpc_service.context import CONTROL, NodeContext, PeerReport
from mpc_service.control import ControlMessage, ControlMessageError, HeightReport, ResharePackage, decode_control
from mpc_service.coordinator import KeyEventCoordinator
from mpc_service.errors import MpcError
from mpc_service.keys import AccountKey, load_near_key_file, load_storage_secret
from mpc_service.protocol import ProtocolError
from mpc_service.providers import PROVIDERS, SchemeProvider
from mpc_service.responder import Responder
from mpc_service.runner import ProtocolTimeout
from mpc_service.service import RequestService
from mpc_service.status import StatusServer
from mpc_service.types import ParticipantId

__all__ = ["MpcNode", "NodeStartError"]

log = logging.getLogger("mpc_service.node")

FOLLOWER_TASKS_PER_PEER = 32  # protocol instances one peer may have this node run for it at once
HEIGHT_REPORT_S = 1.0  # how often a node tells its peers its indexer height


class NodeStartError(MpcError):
    """The node cannot start (bad key files, unusable data directory)."""


class MpcNode:
    """A running node; `await start()`, then `await wait()` or `await stop()`."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        try:
            p2p = load_near_key_file(config.p2p_key_file)
            storage_secret = load_storage_secret(config.storage_secret_file)
            account_keys = [load_near_key_file(p) for p in config.responder.access_key_files] or [p2p]
        except MpcError as exc:
            raise NodeStartError(str(exc)) from None
        try:
            config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(config.data_dir, 0o700)  # the storage secret's ciphertexts and the node's state live here
            store = AssetStore(config.data_dir / "assets.sqlite", storage_secret)
        except (OSError, MpcError) as exc:
            raise NodeStartError(f"data_dir {config.data_dir}: {exc}") from None
        self.rpc = JsonRpc(config.chain.rpc_url)
        self.indexer = Indexer(self.rpc, config.chain.contract_id, config.data_dir / "indexer.sqlite",
                               start_height=config.chain.start_height, poll_interval_s=config.chain.poll_interval_s,
                               rescan_blocks=config.queue.expiry_blocks)
        self.responder = Responder(config.chain.rpc_url, config.account_id, config.chain.contract_id,
                                   [k.key_pair for k in account_keys if isinstance(k, AccountKey)],
                                   gas_tgas=config.responder.gas_tgas, max_attempts=config.responder.max_attempts)
        self.ctx = NodeContext(config, store, self.indexer)
        self.providers: dict[str, SchemeProvider] = {cls.scheme: cls(self.ctx) for cls in PROVIDERS}
        self._routes: dict[type[ControlMessage], SchemeProvider] = {
            kind: provider for provider in self.providers.values() for kind in provider.follows}
        self.coordinator = KeyEventCoordinator(self.ctx, self.rpc, self.responder, p2p,
                                               {s: p.group for s, p in self.providers.items()})
        self.service = RequestService(self.ctx, self.indexer, self.rpc, self.responder, self.providers)
        self.status = StatusServer(self.snapshot, config.status.listen_host, config.status.listen_port,
                                   config.data_dir / "status_addr")
        self._following: dict[ParticipantId, int] = {}  # follower tasks in flight per leader
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopped = asyncio.Event()
        self.started_at = time.monotonic()

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.status.start()
        loops = [("indexer", self.indexer.run()), ("updates", self.service.follow_updates()),
                 ("coordinator", self.coordinator.run()), ("queue", self.service.serve()),
                 ("control", self._route_control()), ("heights", self._report_height()),
                 *((f"upkeep-{scheme}", p.upkeep()) for scheme, p in self.providers.items())]
        self._tasks = [asyncio.create_task(coro, name=name) for name, coro in loops]
        for task in self._tasks:
            task.add_done_callback(self._task_died)
        log.info("node started", extra={"account": self.ctx.account_id, "status": self.status.url})

    def _task_died(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("node task crashed", extra={"task": task.get_name(), "error": repr(task.exception())})
            self._stopped.set()

    async def wait(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        """Cancel every task, close the mesh, the status server, the RPC sessions and the stores."""
        self._stopped.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.ctx.cancel_children()
        await self.coordinator.close()
        if self.ctx.net is not None:
            await self.ctx.net.close()
        await self.status.stop()
        await self.responder.close()
        await self.rpc.close()
        self.indexer.close()
        self.ctx.store.close()
        log.info("node stopped")

    # ---- control messages -----------------------------------------------------------------------------------------
    async def _report_height(self) -> None:
        ctx = self.ctx
        while True:
            await asyncio.sleep(HEIGHT_REPORT_S)
            if ctx.net is not None and ctx.me is not None:
                await ctx.send_control(list({*ctx.participants, *ctx.proposed}),
                                       HeightReport(self.indexer.processed_height,
                                                    ctx.epoch if ctx.epoch is not None else -1))

    async def _route_control(self) -> None:
        ctx = self.ctx
        while ctx.net is None:
            await asyncio.sleep(0.05)
        inbox = ctx.net.inbox(CONTROL)
        while True:
            sender, data = await inbox.recv()
            try:
                message = decode_control(data)
            except ControlMessageError as exc:
                ctx.note(sender, "malformed_messages")
                ctx.exclude(sender)  # left out of new signing sets for a while
                log.warning(f"participant {sender} sent a malformed control message",
                            extra={"culprit": sender, "error": str(exc)})
                continue
            if isinstance(message, HeightReport):
                ctx.peer_heights[sender] = PeerReport(message.height, message.epoch, time.monotonic(),
                                                     self.indexer.processed_height)
                continue
            if isinstance(message, ResharePackage):
                self.coordinator.receive_package(sender, message)
                continue
            provider = self._routes.get(type(message))
            if provider is None:
                continue
            if self._following.get(sender, 0) >= FOLLOWER_TASKS_PER_PEER:
                ctx.note(sender, "tasks_over_limit")
                log.warning(f"participant {sender} has too many tasks running here; refused",
                            extra={"peer": sender, "kind": message.kind})
                continue
            self._following[sender] = self._following.get(sender, 0) + 1
            ctx.spawn(self._follow(provider, sender, message), f"follow-{message.kind}")

    async def _follow(self, provider: SchemeProvider, sender: ParticipantId, message: ControlMessage) -> None:
        ctx = self.ctx
        what = f"{message.kind} (follower of {sender})"
        try:
            await provider.follow(sender, message)
        except TaskRefused as exc:
            ctx.metrics["tasks_refused"] += 1
            ctx.note(sender, "tasks_refused")
            log.warning(f"{what} refused: {exc}", extra={"peer": sender})
        except (ProtocolError, ProtocolTimeout) as exc:
            ctx.blame(exc, what)
        except MpcError as exc:
            log.warning(f"{what} failed", extra={"error": repr(exc)})
        finally:
            self._following[sender] -= 1

    # ---- status ---------------------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        ctx = self.ctx
        lat = sorted(self.service.latencies_ms)
        live = ctx.live()
        net = ctx.net
        pools: dict[str, Any] = {}
        for provider in self.providers.values():
            pools.update(provider.pool_status())
        return {
            "account_id": ctx.account_id, "participant_id": ctx.me if ctx.me is not None else -1,
            "protocol_state": ctx.protocol_state, "epoch": ctx.epoch,
            "threshold": ctx.threshold, "domains": {str(d): s for d, s in ctx.keyed_schemes().items()},
            "keyshares": sorted(int(d) for d in ctx.keyshares),
            "height": {"processed": self.indexer.processed_height, "latest": self.indexer.latest_height},
            "peers_connected": len(net.connected()) if net is not None else 0,
            "peers_live": len(live) - 1 if live else 0,
            "peers": {str(p): {"connected": net is not None and p in net.connected(),
                               "height": ctx.peer_heights[p].height if p in ctx.peer_heights else None,
                               "epoch": ctx.peer_heights[p].epoch if p in ctx.peer_heights else None,
                               "live": p in live} for p in ctx.participants if p != ctx.me},
            "requests": {**ctx.metrics, "pending": len(ctx.queue) if ctx.queue else 0},
            "pools": pools,
            "misbehaviour": ctx.misbehaviour_report(),
            "latency_ms": {"p50": lat[len(lat) // 2] if lat else 0.0,
                           "p95": lat[min(len(lat) - 1, int(len(lat) * 0.95))] if lat else 0.0,
                           "mean": statistics.fmean(lat) if lat else 0.0, "count": len(lat)},
            "responder": {"submitted": self.responder.submitted, "failed": self.responder.failed},
            "uptime_s": round(time.monotonic() - self.started_at, 1),
        }
