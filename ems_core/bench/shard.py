"""Sharding a benchmark across processes (``accelerate launch -m ems_core bench quality ...``).

Each process takes a contiguous share of the cases (accelerate's ``PartialState().split_between_processes``,
whose rule :func:`split_range` restates), writes its records to ``rank-<r>.json``, and the main process
waits for everyone, merges the files in rank order (:func:`merge_shards`) and writes the report. A plain
``python -m ...`` run is one process and shards nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

__all__ = ["ProcessShare", "merge_shards", "process_share", "shard_path", "split_range", "write_shard"]

T = TypeVar("T")


def split_range(n: int, rank: int, world: int) -> range:
    """Indices of ``n`` items that process ``rank`` of ``world`` takes: contiguous, the first ``n % world``
    processes one more than the rest (accelerate's rule)."""
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} outside a world of {world}")
    per, extra = divmod(n, world)
    start = rank * per + min(rank, extra)
    return range(start, start + per + (1 if rank < extra else 0))


@dataclass
class ProcessShare:
    """This process's rank, the number of processes, and a barrier (a no-op for one process)."""

    rank: int = 0
    world: int = 1
    device: str | None = None  # the device accelerate assigns this process, when launched by it
    wait: Callable[[], None] = lambda: None
    _state: Any = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def split(self, items: Sequence[T]) -> list[T]:
        """This process's share of ``items`` (through accelerate when it launched us, else all of them)."""
        if self._state is None:
            return list(items)
        with self._state.split_between_processes(list(items)) as mine:
            return list(mine)


def process_share() -> ProcessShare:
    """The share of the current process: accelerate's ``PartialState`` when installed and the launch has several
    processes (``WORLD_SIZE`` > 1), otherwise a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return ProcessShare()
    try:
        from accelerate import PartialState
    except ImportError as error:  # launched by torchrun without accelerate: refuse rather than duplicate work
        raise ValueError("several processes but accelerate is not installed: pip install accelerate") from error
    state = PartialState()
    return ProcessShare(state.process_index, state.num_processes, str(state.device), state.wait_for_everyone, state)


def shard_path(folder: Path, rank: int) -> Path:
    return Path(folder) / f"rank-{rank}.json"


def write_shard(folder: Path, rank: int, payload: dict) -> Path:
    """Write one process's records (``{"records": [...], ...}``) as JSON; returns the path."""
    path = shard_path(folder, rank)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    tmp.replace(path)
    return path


def merge_shards(folder: Path, world: int) -> dict:
    """Concatenate the ``records`` of ranks 0..world-1 in rank order (the cases' order); other keys come from
    rank 0. Raises ``FileNotFoundError`` naming a missing rank."""
    merged: dict = {}
    records: list = []
    for rank in range(world):
        path = shard_path(folder, rank)
        if not path.exists():
            raise FileNotFoundError(f"shard of rank {rank} is missing ({path.name})")
        payload = json.loads(path.read_text())
        records += payload.get("records", [])
        if rank == 0:
            merged = payload
    merged["records"] = records
    return merged
