"""Seeding and the random-number state that an exact resume must restore."""
from __future__ import annotations

import random
from typing import Any

import ignite.distributed as idist
import numpy as np
import torch
from ignite.utils import manual_seed

from ..errors import UserError

RANK_SEED_STRIDE = 1_000_003  # rank r > 0 draws from seed + r * stride: its own dropout masks


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and all CUDA devices)."""
    manual_seed(seed)


def seed_rank_stream() -> None:
    """Give every process but rank 0 its own random stream (dropout masks), derived from the current seed.

    Rank 0 keeps its stream, so one process draws exactly what it draws without distributed training.
    """
    if idist.get_rank() > 0:
        manual_seed(torch.initial_seed() + idist.get_rank() * RANK_SEED_STRIDE)


class RNGState:
    """``state_dict``/``load_state_dict`` over the global generators of every process, in plain types and tensors.

    Stored in every training checkpoint so that a resumed run draws the same dropout masks as an
    uninterrupted one: ``{"ranks": [state of rank 0, rank 1, ...]}`` (gathered from all processes).
    NumPy's key array is stored as a tensor to stay ``weights_only``-loadable.
    """

    def state_dict(self) -> dict[str, Any]:
        own = self._local_state()
        if idist.get_world_size() == 1:
            return {"ranks": [own]}
        gathered: list[Any] = [None] * idist.get_world_size()
        torch.distributed.all_gather_object(gathered, own)
        return {"ranks": gathered}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ranks = state["ranks"] if "ranks" in state else [state]
        if len(ranks) != idist.get_world_size():
            raise UserError(f"--resume: the checkpoint was made by {len(ranks)} process(es), this run has "
                            f"{idist.get_world_size()}; resume with --nproc_per_node {len(ranks)} (times nodes)")
        self._load_local(ranks[idist.get_rank()])

    def _local_state(self) -> dict[str, Any]:
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        state = {
            "python": random.getstate(),
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def _load_local(self, state: dict[str, Any]) -> None:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        np_state = state["numpy"]
        np.random.set_state((np_state["kind"], np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                             np_state["has_gauss"], np_state["cached_gaussian"]))
        torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["cuda"])


class PlainState:
    """A dict of plain values that rides along in checkpoints (e.g. a task's vocabulary and labels)."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})

    def state_dict(self) -> dict[str, Any]:
        return dict(self.values)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.values = dict(state)
