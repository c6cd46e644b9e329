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

    [[network.participants]]                # static peers; otherwise read from the contract's state
    participant_id = 1
    account_id = "node1.test.near"
    address = "127.0.0.1:7001"
    tls_public_key = "ed25519:…"

    [chain]
    rpc_url = "http://127.0.0.1:3030"
    contract_id = "signer.test.near"
    start_height = 0                        # used only on the first start; later the indexer resumes

    [queue]       # retry_after_s = 10, max_attempts = 10, expiry_blocks = 200, check_interval_s = 1
    [pools]       # triples_target = 64, presignatures_target = 16, max_concurrent_generations = 4
    [responder]   # access_key_files = ["respond0.json", …], gas_tgas = 50, max_attempts = 5
    [status]      # listen_host = "127.0.0.1", listen_port = 0, enabled = true

A bad value raises `ConfigError` whose message names the file and the field (`chain.rpc_url: …`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from mpc_service.errors import MpcError
from mpc_service.keys import parse_ed25519_public_key

__all__ = [
    "ChainConfig",
    "ConfigError",
    "NetworkConfig",
    "NodeConfig",
    "ParticipantConfig",
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
class ParticipantConfig:
    participant_id: int
    account_id: str
    address: str  # host:port
    tls_public_key: bytes  # raw ed25519


@dataclass(frozen=True)
class NetworkConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    max_frame_bytes: int = 16 * 1024 * 1024
    keepalive_s: float = 5.0
    participants: tuple[ParticipantConfig, ...] = ()


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
    max_concurrent_generations: int = 4


@dataclass(frozen=True)
class ResponderConfig:
    access_key_files: tuple[Path, ...] = ()
    gas_tgas: int = 50
    max_attempts: int = 5


@dataclass(frozen=True)
class StatusConfig:
    enabled: bool = True
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

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise self.error(unknown[0], "unknown field")


def _participant(table: _Table) -> ParticipantConfig:
    pid = table.get("participant_id", int, required=True)
    if not 0 <= pid < 2**32:
        raise table.error("participant_id", "must fit in u32")
    account_id = table.account_id("account_id")
    address = table.get("address", str, required=True)
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise table.error("address", f"expected host:port, got {address!r}")
    key_text = table.get("tls_public_key", str, required=True)
    try:
        key = parse_ed25519_public_key(key_text)
    except ValueError as exc:
        raise table.error("tls_public_key", str(exc)) from None
    table.finish()
    return ParticipantConfig(pid, account_id, address, key)


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
    raw_participants = net.get("participants", list, [])
    participants = tuple(
        _participant(_Table(source, f"network.participants[{i}]", item)) for i, item in enumerate(raw_participants)
    )
    ids = [p.participant_id for p in participants]
    if len(set(ids)) != len(ids):
        raise ConfigError(source, "network.participants", "duplicate participant_id")
    network = NetworkConfig(
        listen_host=net.get("listen_host", str, "127.0.0.1"),
        listen_port=net.port("listen_port", 0),
        max_frame_bytes=net.positive("max_frame_bytes", int, 16 * 1024 * 1024),
        keepalive_s=net.positive("keepalive_s", float, 5.0),
        participants=participants,
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
    pools = PoolConfig(p.positive("triples_target", int, 64), p.positive("presignatures_target", int, 16),
                       p.positive("max_concurrent_generations", int, 4))
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
    status = StatusConfig(s.get("enabled", bool, True), s.get("listen_host", str, "127.0.0.1"), s.port("listen_port", 0))
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
