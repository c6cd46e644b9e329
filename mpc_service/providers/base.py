"""The interface every signature scheme implements for the node: lead a request, follow a peer's task, keep pools.

A provider owns one scheme end to end: its protocol runs, the control messages it sends and answers, and any
precomputed assets. The node routes each request to the provider of its domain's scheme and each control message to
the provider that declared its type in `follows`; key events (keygen, reshare) use the provider's `group`.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

from mpc_service.chain.events import PendingRequest
from mpc_service.checks import check_sign_task
from mpc_service.context import NodeContext
from mpc_service.control import ControlMessage
from mpc_service.errors import MpcError
from mpc_service.protocol import Group
from mpc_service.types import ParticipantId

__all__ = ["NotReady", "SchemeProvider", "SignProvider"]


class NotReady(MpcError):
    """The provider cannot start this request yet (no fitting presignature, too few live participants); the queue
    retries it shortly."""


class SchemeProvider(ABC):
    """One signature scheme (see the module docstring)."""

    scheme: ClassVar[str]  # the contract's name of the scheme ("Secp256k1", "Ed25519")
    group: ClassVar[Group]  # the group its keys live in (keygen and resharing run over it)
    follows: ClassVar[tuple[type[ControlMessage], ...]]  # the control messages a leader sends its followers

    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx

    @abstractmethod
    def check(self, request: PendingRequest) -> None:
        """The checks a follower makes of a task for `request` (`mpc_service.checks`), which the leader runs
        before anything is taken; `TaskRefused` when it fails."""

    @contextlib.contextmanager
    def reserve(self, request: PendingRequest) -> Iterator[None]:
        """Hold what `lead` will use (a presignature) while the leader asks the contract whether the request is
        still pending and leads it; `NotReady` at once when there is nothing to hold, so waiting requests cost no
        RPC, and only as many leaders go on as there are presignatures. Nothing to hold by default."""
        yield

    @abstractmethod
    async def lead(self, request: PendingRequest) -> dict[str, Any]:
        """Produce the contract's response to `request` (already passed `check`) with a signing set of live peers.
        Raises `NotReady` when it cannot start yet, `ProtocolError`/`ProtocolTimeout` when a run fails."""

    @abstractmethod
    async def follow(self, sender: ParticipantId, message: ControlMessage) -> None:
        """Take part in a task `sender` leads, after checking it against this node's own view
        (`TaskRefused` otherwise)."""

    async def upkeep(self) -> None:
        """Background work that runs for the node's lifetime (asset pools); none by default."""

    def pool_status(self) -> dict[str, Any]:
        """This provider's part of `/status`'s `pools`."""
        return {}


class SignProvider(SchemeProvider, ABC):
    """A provider that answers `sign` requests (ECDSA, EdDSA): the leader's check is the followers' sign-task check."""

    def check(self, request: PendingRequest) -> None:
        check_sign_task(request, request_id=request.request_id, domain_id=request.domain_id, scheme=self.scheme,
                        domains=self.ctx.keyed_schemes())
