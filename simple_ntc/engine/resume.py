"""Resuming a run: what defines it (seed, data, split), the finished-run shortcut, and loading the last state."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ignite.distributed as idist
from ignite.handlers import Checkpoint
from torch import nn

from ..errors import UserError
from .checkpoint import FINISHED, find_last_checkpoint, read_checkpoint, read_finished, remove_checkpoints
from .distributed import print_on_main
from .options import EngineOptions

RUN_KEY = "run"  # the key of the run identity in a checkpoint's task metadata


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (a data file is identified by its content, not its path)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_identity(seed: int, files: Mapping[str, str | Path | None], **settings: Any) -> dict[str, Any]:
    """What defines a run for ``--resume``: its seed, the contents of its data files and the split settings.

    ``files`` and ``settings`` are keyed by flag (``--train_fn``, ``--valid_ratio``, ...).
    """
    identity: dict[str, Any] = {"--seed": seed}
    identity.update({flag: file_digest(path) if path else None for flag, path in files.items()})
    identity.update(settings)
    return identity


def resumed_seed(saved: Mapping[str, Any] | None, seed: int, verbose: int) -> int:
    """The seed of the run being resumed (a note when the command asks for another one)."""
    saved_seed = (saved or {}).get(RUN_KEY, {}).get("--seed", (saved or {}).get("seed"))
    if saved_seed is None or saved_seed == seed:
        return seed
    print_on_main(verbose, f"--resume: using the seed of the checkpointed run ({saved_seed}), not {seed}")
    return int(saved_seed)


def check_same_run(saved: Mapping[str, Any] | None, current: Mapping[str, Any] | None, source: Path) -> None:
    """A one-line :class:`UserError` naming the first flag whose value differs from the resumed run's."""
    if not saved or not current:
        return
    for flag in sorted(set(saved) | set(current)):
        old, new = saved.get(flag), current.get(flag)
        if old != new:
            is_file = flag.endswith("_fn")
            detail = "its content differs" if is_file and old and new else f"{old!r} then, {new!r} now"
            raise UserError(f"--resume: {flag} differs from the run checkpointed in {source} ({detail}); resume "
                            f"with the run's data files and split, or start a fresh run without --resume")


def finished_run(model: nn.Module, checkpoint_dir: Path, options: EngineOptions) -> dict[str, Any] | None:
    """For ``--resume`` of a run that already finished: load its best weights and return what it recorded."""
    info = read_finished(checkpoint_dir)
    if info is None or not (info["stopped_early"] or info["epochs_run"] >= options.n_epochs):
        return None
    best = checkpoint_dir / Path(info["best_checkpoint"]).name if info["best_checkpoint"] else None
    source = best if best is not None else find_last_checkpoint(checkpoint_dir)
    if source is None or not source.is_file():
        return None
    state = read_checkpoint(source)
    Checkpoint.load_objects({"model": model}, state if best is not None else state["model"])
    print_on_main(options.verbose, f"{checkpoint_dir} holds a finished run ({info['epochs_run']} epoch(s)); using "
                  f"its {'best' if best is not None else 'last'} weights")
    return {**info, "source": source, "best": best}


def prepare_checkpoint_dir(checkpoint_dir: Path, options: EngineOptions, to_save: Mapping[str, Any],
                           last_checkpointer: Checkpoint, epoch_length: int, main: bool) -> Path | None:
    """Load the last checkpoint for ``--resume`` (also one saved mid-epoch); otherwise clear an earlier run's files."""
    if not options.resume:
        if main:
            removed = remove_checkpoints(checkpoint_dir)
            if removed:
                print_on_main(options.verbose, f"Removed {len(removed)} checkpoint(s) of an earlier run in "
                              f"{checkpoint_dir} (pass --resume to continue a run instead)")
        idist.barrier()
        return None
    last = find_last_checkpoint(checkpoint_dir)
    if last is None:
        raise UserError(f"--resume: no checkpoint to resume from in {checkpoint_dir}")
    state = read_checkpoint(last)
    saved = state.get("trainer", {})
    if saved.get("epoch_length") != epoch_length:
        raise UserError(f"--resume: {last} was made with {saved.get('epoch_length')} batches per epoch, this run "
                        f"has {epoch_length}; resume with the same data, --batch_size and --max_tokens")
    done, batches = divmod(saved["iteration"], epoch_length)
    if done >= options.n_epochs:
        raise UserError(f"--resume: {last} has already trained {done} epoch(s); "
                        f"raise --n_epochs above {done} to continue")
    current = to_save["meta"].values.get(RUN_KEY)
    check_same_run(state.get("meta", {}).get(RUN_KEY), current, last)
    if main:
        (checkpoint_dir / FINISHED).unlink(missing_ok=True)  # the run goes on
    Checkpoint.load_objects({k: v for k, v in to_save.items() if k in state}, state)
    if "checkpointer" in state:
        last_checkpointer.load_state_dict(state["checkpointer"])
    where = f"epoch {done} of {options.n_epochs}" if not batches else (
        f"epoch {done + 1} of {options.n_epochs}, after batch {batches} of {epoch_length}")
    print_on_main(options.verbose, f"Resuming from {last} ({where})")
    return last
