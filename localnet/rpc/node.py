"""The localnet node: an aiohttp JSON-RPC server on 127.0.0.1 plus a block producer on a timer.

The node owns the asyncio loop. The chain is synchronous and is only ever called from this loop's thread
(request handlers and the block timer), so it is never entered concurrently.

    node = LocalnetNode(NodeConfig(home=Path("/tmp/ln")))
    await node.start()          # binds, writes DIR/validator_key.json and DIR/rpc_addr
    print(node.rpc_addr)        # http://127.0.0.1:<port>
    await node.stop()
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from localnet.chain.api import ChainService
from localnet.errors import LocalnetError, RpcError
from localnet.rpc.envelope import EncodedResult, InternalError, ParseError, failure, http_status, success, success_text
from localnet.rpc.home import ValidatorKey, load_or_create_validator_key, write_rpc_addr
from localnet.rpc.methods import BlockTicker, RpcMethods

log = logging.getLogger("localnet.rpc")

ChainFactory = Callable[[Path, ValidatorKey], ChainService]
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024  # nearcore's json_payload_max_size


@dataclass(frozen=True)
class NodeConfig:
    home: Path
    host: str = "127.0.0.1"
    port: int = 0
    block_time_ms: int = 100
    wait_timeout_s: float = 10.0  # nearcore's polling_timeout for send_tx / broadcast_tx_commit / tx
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


class NodeStateError(LocalnetError):
    """The node was used in the wrong state (e.g. started twice)."""


def open_chain(home: Path, validator: ValidatorKey) -> ChainService:
    """The embedded chain persisted in `home`, with `validator` as the root account's full-access key."""
    from localnet.chain import Chain  # imported lazily: the chain package is large

    chain: ChainService = Chain.open(home, root_account_id=validator.account_id, root_public_key=validator.secret_key.public_key)
    return chain


class LocalnetNode:
    """One running localnet: chain + JSON-RPC + block timer."""

    def __init__(self, config: NodeConfig, chain_factory: ChainFactory = open_chain) -> None:
        self.config = config
        self._chain_factory = chain_factory
        self._chain: ChainService | None = None
        self._runner: web.AppRunner | None = None
        self._producer: asyncio.Task[None] | None = None
        self._ticker: BlockTicker | None = None
        self._methods: RpcMethods | None = None
        self._port: int | None = None
        self.validator: ValidatorKey | None = None

    # ---- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._runner is not None:
            raise NodeStateError("node already started")
        home = self.config.home
        home.mkdir(parents=True, exist_ok=True)
        self.validator = load_or_create_validator_key(home)
        self._chain = self._chain_factory(home, self.validator)
        self._ticker = BlockTicker()
        # Produce one block before serving, so a node that says it is ready has a block past genesis.
        self._chain.produce_block()
        self._methods = RpcMethods(self._chain, self._ticker, wait_timeout_s=self.config.wait_timeout_s)
        app = web.Application(client_max_size=self.config.max_body_bytes)
        app.router.add_post("/", self._handle_rpc)
        app.router.add_get("/status", self._handle_http_status)
        app.router.add_get("/health", self._handle_health)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        await site.start()
        self._runner = runner
        self._port = _bound_port(runner)
        write_rpc_addr(home, self.rpc_addr)
        self._producer = asyncio.create_task(self._produce_blocks(), name="localnet-block-producer")
        log.info("localnet RPC listening on %s (home %s)", self.rpc_addr, home)

    async def stop(self) -> None:
        """Stop producing blocks, close the server, then flush and close the chain. Idempotent."""
        if self._producer is not None:
            self._producer.cancel()
            try:
                await self._producer
            except asyncio.CancelledError:
                pass
            self._producer = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._chain is not None:
            self._chain.close()
            self._chain = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def rpc_addr(self) -> str:
        if self._port is None:
            raise NodeStateError("node not started")
        return f"http://{self.config.host}:{self._port}"

    @property
    def chain(self) -> ChainService:
        """The chain, for in-process inspection. Call it only from the node's event-loop thread."""
        if self._chain is None:
            raise NodeStateError("node not started")
        return self._chain

    # ---- blocks ---------------------------------------------------------------------------------
    async def _produce_blocks(self) -> None:
        assert self._chain is not None and self._ticker is not None
        loop = asyncio.get_running_loop()
        interval = self.config.block_time_ms / 1000
        next_at = loop.time() + interval
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at = max(next_at + interval, loop.time())
            try:
                self._chain.produce_block()
            except Exception:  # a broken block must not stop the node; it is logged with its cause
                log.exception("block production failed")
            self._ticker.tick()

    # ---- HTTP -----------------------------------------------------------------------------------
    async def _handle_rpc(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            error = ParseError(f"JSON payload is larger than the limit of {self.config.max_body_bytes} bytes")
            return _respond(failure(None, error), 413)
        request_id: Any = None
        method = "?"
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            if len(body) > PARSE_IN_THREAD_BYTES:
                message = await asyncio.to_thread(_parse_message, body)
            else:
                message = _parse_message(body)
            request_id = message.get("id")
            method = message["method"]
            assert self._methods is not None
            result = await self._methods.dispatch(method, message.get("params"))
            if isinstance(result, EncodedResult):
                return web.Response(text=success_text(request_id, result), content_type="application/json")
            response, status = success(request_id, result), 200
        except RpcError as error:
            response, status = failure(request_id, error), http_status(error)
        except Exception as exc:  # never a traceback to the client; the log keeps it
            log.exception("internal error in %s", method)
            internal = InternalError(f"{type(exc).__name__}: {exc}")
            response, status = failure(request_id, internal), http_status(internal)
        if log.isEnabledFor(logging.DEBUG):
            outcome = "ok" if "result" in response else response["error"]["cause"]["name"]
            log.debug("rpc %s id=%r -> %s in %.1f ms", method, request_id, outcome, (loop.time() - started) * 1000)
        return _respond(response, status)

    async def _handle_http_status(self, _request: web.Request) -> web.Response:
        assert self._methods is not None
        return _respond(await self._methods.dispatch("status", None), 200)

    async def _handle_health(self, _request: web.Request) -> web.Response:
        return web.Response(status=200)


# serde_json's recursion limit, which nearcore's RPC inherits.
MAX_JSON_DEPTH = 128
# Bodies above this size are parsed in a worker thread, so the block timer keeps its pace while they are.
PARSE_IN_THREAD_BYTES = 64 * 1024
_NOT_A_BRACKET = bytes(range(256)).translate(None, b"[]{}")
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # read as signed bytes: +1 / -1
_DEPTH_CHUNK = 1 << 16


def _nesting_exceeds(body: bytes, limit: int) -> bool:
    """Whether `body` nests arrays/objects deeper than `limit`; linear in the body's length.

    Checked before `json.loads`: its C scanner recurses once per level and trusts the interpreter's recursion
    limit, which libraries may raise (py-evm sets 10,000), so a body of nested brackets could overflow the C
    stack of the node's thread and crash the process instead of raising RecursionError.

    Strings are dropped first: escaped backslashes and escaped quotes go (so every quote left opens or closes a
    string), then splitting on quotes leaves the text outside strings at even indexes. Only brackets there count.
    Where the body is not valid JSON the count may be off past the first error, but `json.loads` stops there too.
    Each step is one C-level pass; the depth is summed in chunks so a worker thread running this gives up the
    GIL between them.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # the common case, decided in C
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[0::2])
    brackets = outside.translate(None, _NOT_A_BRACKET)
    steps = memoryview(brackets.translate(_DEPTH_STEP)).cast("b")
    depth = 0
    for start in range(0, len(steps), _DEPTH_CHUNK):
        chunk = steps[start : start + _DEPTH_CHUNK]
        if max(accumulate(chunk, initial=depth)) > limit:
            return True
        depth += sum(chunk)
    return False


def _refuse_constant(name: str) -> Any:
    """serde_json (nearcore) and JSON.parse reject NaN and Infinity; so does the node."""
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """serde_json refuses numbers out of f64's range (`1e999`) rather than reading them as infinity."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _parse_message(body: bytes) -> dict[str, Any]:
    if _nesting_exceeds(body, MAX_JSON_DEPTH):
        raise ParseError(f"Invalid JSON: nesting deeper than {MAX_JSON_DEPTH} levels")
    try:
        message = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ParseError(f"Invalid JSON: {exc}") from exc
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        raise ParseError("JSON RPC Request format was expected")
    return message


def _respond(body: Any, status: int) -> web.Response:
    """Strict JSON only (no NaN/Infinity): what the node parsed was strict, so this cannot fail for a request's
    own values; a result that is not serialisable is reported as an internal error instead of sent broken."""
    try:
        text = json.dumps(body, allow_nan=False)
    except (ValueError, TypeError) as exc:
        log.error("unserialisable response: %s", exc)
        internal = InternalError(f"unserialisable response: {exc}")
        text, status = json.dumps(failure(None, internal)), http_status(internal)
    return web.Response(text=text, status=status, content_type="application/json")


def tune_gc_for_server() -> None:
    """For a long-running node process (`python -m localnet`): move what start-up allocated out of the cyclic
    collector's view and collect young objects less often. Every contract call allocates ~60 wasmtime host
    function objects, so with the default thresholds the collector re-scanned the whole heap many times per
    block. Memory only; no behaviour changes. Not used for in-process nodes (tests), where it would be global."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise NodeStateError("server did not bind a TCP port")
