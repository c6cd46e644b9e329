"""node.toml: the MPC node's typed, validated configuration.

Example (every table but [node] and [chain] is optional; relative paths are relative to the file):

    [node]
    account_id = "node0.test.near"
    data_dir = "data"                       # SQLite databases live here
    p2p_key_file = "p2p_key.json"           # NEAR key file; its public key is the participant's tls_public_key
    storage_secret_file = "storage.secret"  # 64 hex chars; encrypts assets and key shares at rest

    [network]
    listen_host = "127.0.0.1"
    listen_port = 0
    max_frame_bytes = 16777216
    keepalive_s = 5.0

    # peers are the signer contract's participants (and a proposal's): no static peer list

    [chain]
    rpc_url = "http://127.0.0.1:3030"
    contract_id = "signer.test.near"
    start_height = 0                        # used only on the first start; later the indexer resumes

    [queue]       # retry_after_s = 10, max_attempts = 10, expiry_blocks = 200, check_interval_s = 1
    [pools]       # triples_target = 64, presignatures_target = 16
    [responder]   # access_key_files = ["respond0.json", …], gas_tgas = 50, max_attempts = 5
    [status]      # listen_host = "127.0.0.1", listen_port = 0 (always served: operators and tests read it)

A bad value raises `ConfigError` whose message names the file and the field (`chain.rpc_url: …`). Fields of earlier
versions that nothing read (`network.participants`, `pools.max_concurrent_generations`, `status.enabled`) are refused
with a message that says so.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from mpc_service.errors import MpcError

__all__ = [
    "ChainConfig",
    "ConfigError",
    "NetworkConfig",
    "NodeConfig",
    "PoolConfig",
    "QueueConfig",
    "ResponderConfig",
    "StatusConfig",
    "load_config",
    "parse_config",
]

T = TypeVar("T")

# nearcore's account id rule (core/account-id): 2..64 chars of lowercase alnum separated by single - _ or .
_ACCOUNT_ID = re.compile(r"^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$")


class ConfigError(MpcError, ValueError):
    """node.toml is missing, unparsable, or a field is invalid; `field` names the offending field."""

    def __init__(self, source: str, field_name: str, problem: str) -> None:
        self.field = field_name
        where = f"{source}: {field_name}: " if field_name else f"{source}: "
        super().__init__(where + problem)


@dataclass(frozen=True)
class NetworkConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    max_frame_bytes: int = 16 * 1024 * 1024
    keepalive_s: float = 5.0


@dataclass(frozen=True)
class ChainConfig:
    rpc_url: str
    contract_id: str
    start_height: int | None = None
    poll_interval_s: float = 0.5


@dataclass(frozen=True)
class QueueConfig:
    retry_after_s: float = 10.0
    max_attempts: int = 10
    expiry_blocks: int = 200
    check_interval_s: float = 1.0


@dataclass(frozen=True)
class PoolConfig:
    triples_target: int = 64
    presignatures_target: int = 16


@dataclass(frozen=True)
class ResponderConfig:
    access_key_files: tuple[Path, ...] = ()
    gas_tgas: int = 50
    max_attempts: int = 5


@dataclass(frozen=True)
class StatusConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 0


@dataclass(frozen=True)
class NodeConfig:
    account_id: str
    data_dir: Path
    p2p_key_file: Path
    storage_secret_file: Path
    chain: ChainConfig
    network: NetworkConfig = field(default_factory=NetworkConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    pools: PoolConfig = field(default_factory=PoolConfig)
    responder: ResponderConfig = field(default_factory=ResponderConfig)
    status: StatusConfig = field(default_factory=StatusConfig)


class _Table:
    """Typed reads from one TOML table; every failure names `prefix.key`. Unknown keys are errors (typos)."""

    def __init__(self, source: str, prefix: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise ConfigError(source, prefix, "expected a table")
        self.source, self.prefix, self.data = source, prefix, data
        self.read: set[str] = set()

    def name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, self.name(key), problem)

    def get(self, key: str, kind: type[T], default: T | None = None, *, required: bool = False) -> T:
        self.read.add(key)
        if key not in self.data:
            if required or default is None:
                raise self.error(key, "is required")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(key, f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    def optional(self, key: str, kind: type[T]) -> T | None:
        if key not in self.data:
            self.read.add(key)
            return None
        return self.get(key, kind)

    def positive(self, key: str, kind: type[T], default: T) -> T:
        value = self.get(key, kind, default)
        if value <= 0:  # type: ignore[operator]
            raise self.error(key, f"must be > 0, got {value}")
        return value

    def port(self, key: str, default: int) -> int:
        value = self.get(key, int, default)
        if not 0 <= value <= 65535:
            raise self.error(key, f"must be a TCP port 0..65535, got {value}")
        return value

    def account_id(self, key: str) -> str:
        value = self.get(key, str, required=True)
        if not (2 <= len(value) <= 64 and _ACCOUNT_ID.match(value)):
            raise self.error(key, f"invalid NEAR account id {value!r}")
        return value

    def path(self, key: str, base: Path) -> Path:
        value = self.get(key, str, required=True)
        if not value:
            raise self.error(key, "must not be empty")
        return (base / value) if not Path(value).is_absolute() else Path(value)

    def sub(self, key: str) -> _Table:
        self.read.add(key)
        return _Table(self.source, self.name(key), self.data.get(key, {}))

    def removed(self, key: str, why: str) -> None:
        """Refuse a field an earlier version accepted but never read, saying why."""
        if key in self.data:
            raise self.error(key, f"is no longer accepted: {why}")

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise self.error(unknown[0], "unknown field")


def parse_config(data: dict[str, Any], *, base_dir: Path, source: str = "node.toml") -> NodeConfig:
    """Validate a parsed TOML document into `NodeConfig`; relative paths resolve against `base_dir`."""
    root = _Table(source, "", data)
    node = root.sub("node")
    account_id = node.account_id("account_id")
    data_dir = node.path("data_dir", base_dir)
    p2p_key_file = node.path("p2p_key_file", base_dir)
    storage_secret_file = node.path("storage_secret_file", base_dir)
    node.finish()

    net = root.sub("network")
    net.removed("participants", "peers are read from the signer contract's state")
    network = NetworkConfig(
        listen_host=net.get("listen_host", str, "127.0.0.1"),
        listen_port=net.port("listen_port", 0),
        max_frame_bytes=net.positive("max_frame_bytes", int, 16 * 1024 * 1024),
        keepalive_s=net.positive("keepalive_s", float, 5.0),
    )
    net.finish()

    ch = root.sub("chain")
    rpc_url = ch.get("rpc_url", str, required=True)
    parsed = urlparse(rpc_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ch.error("rpc_url", f"expected an http(s) URL, got {rpc_url!r}")
    start_height = ch.optional("start_height", int)
    if start_height is not None and start_height < 0:
        raise ch.error("start_height", "must be >= 0")
    chain = ChainConfig(rpc_url, ch.account_id("contract_id"), start_height, ch.positive("poll_interval_s", float, 0.5))
    ch.finish()

    q = root.sub("queue")
    queue = QueueConfig(q.positive("retry_after_s", float, 10.0), q.positive("max_attempts", int, 10),
                        q.positive("expiry_blocks", int, 200), q.positive("check_interval_s", float, 1.0))
    q.finish()

    p = root.sub("pools")
    p.removed("max_concurrent_generations", "each scheme's pools run one generation at a time")
    pools = PoolConfig(p.positive("triples_target", int, 64), p.positive("presignatures_target", int, 16))
    p.finish()

    r = root.sub("responder")
    files = r.get("access_key_files", list, [])
    if not all(isinstance(f, str) and f for f in files):
        raise r.error("access_key_files", "expected a list of file paths")
    responder = ResponderConfig(tuple(base_dir / f for f in files), r.positive("gas_tgas", int, 50),
                                r.positive("max_attempts", int, 5))
    if responder.gas_tgas > 300:
        raise r.error("gas_tgas", f"must be <= 300, got {responder.gas_tgas}")
    r.finish()

    s = root.sub("status")
    s.removed("enabled", "the status endpoint is always served")
    status = StatusConfig(s.get("listen_host", str, "127.0.0.1"), s.port("listen_port", 0))
    s.finish()
    root.finish()
    return NodeConfig(account_id, data_dir, p2p_key_file, storage_secret_file, chain, network, queue, pools,
                      responder, status)


def load_config(path: Path) -> NodeConfig:
    """Read and validate node.toml at `path`."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(source, "", f"not valid TOML: {exc}") from None
    return parse_config(data, base_dir=path.resolve().parent, source=source)
