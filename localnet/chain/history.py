"""Recent state history, so `query` by `block_id` answers with the state *at* that block.

The chain keeps the latest state only; for each of the last `keep_blocks` blocks this keeps an undo map
(key -> value before the block, or absent). State at height h = latest state with the undo maps of every
block above h applied newest first. Like a non-archival nearcore node, older blocks (and blocks from before a
restart, since the history lives in memory) answer GARBAGE_COLLECTED_BLOCK.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from localnet.chain.state import State, StateKey
from localnet.errors import GarbageCollectedBlock

Undo = dict[StateKey, tuple[bool, Any]]
DEFAULT_KEEP_BLOCKS = 1000


class StateHistory:
    def __init__(self, first_height: int, keep_blocks: int = DEFAULT_KEEP_BLOCKS) -> None:
        self._undos: deque[tuple[int, Undo]] = deque()
        self._keep = keep_blocks
        self._oldest = first_height  # the lowest height whose state can be rebuilt

    def record(self, height: int, undo: Undo) -> None:
        """Remember what the changes committed at `height` overwrote (merged when a height commits twice)."""
        if self._undos and self._undos[-1][0] == height:
            merged = self._undos[-1][1]
            for key, before in undo.items():
                merged.setdefault(key, before)
            return
        self._undos.append((height, dict(undo)))
        while len(self._undos) > self._keep:
            dropped, _ = self._undos.popleft()
            self._oldest = dropped

    def state_at(self, current: State, height: int, block_hash: str) -> State:
        """The state as it was after block `height`; GARBAGE_COLLECTED_BLOCK when no longer known."""
        if height < self._oldest:
            raise GarbageCollectedBlock(
                f"The data for block #{height} is garbage collected on this node, use an archival node to fetch "
                "historical data",
                info={"block_height": height, "block_hash": block_hash},
            )
        later = [undo for h, undo in self._undos if h > height]
        if not later:
            return current
        entries = current.snapshot()
        for undo in reversed(later):
            for key, (existed, old) in undo.items():
                if existed:
                    entries[key] = old
                else:
                    entries.pop(key, None)
        return State(entries)
