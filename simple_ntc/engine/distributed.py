"""Device choice and multi-process launch through ``ignite.distributed``."""
from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import ignite.distributed as idist
import torch

from ..errors import UserError


def resolve_device(gpu_id: int | None) -> torch.device:
    """The device of this process: the distributed one, else ``--gpu_id`` (-1: CPU, empty: auto)."""
    if idist.get_world_size() > 1:
        return idist.device()
    if gpu_id is None:
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if gpu_id < 0:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise UserError(f"--gpu_id {gpu_id} asks for a GPU but CUDA is not available; use --gpu_id -1")
    if gpu_id >= torch.cuda.device_count():
        raise UserError(f"--gpu_id {gpu_id} does not exist ({torch.cuda.device_count()} GPU(s) visible)")
    torch.cuda.set_device(gpu_id)
    return torch.device(f"cuda:{gpu_id}")


def is_main_process() -> bool:
    return idist.get_rank() == 0


def print_on_main(verbose: int, message: str) -> None:
    """Print ``message`` from rank 0 only, unless ``--verbose 0``."""
    if verbose >= 1 and is_main_process():
        print(message, flush=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_in_child(local_rank: int, fn: Callable[..., Any], threads: int, *args: Any) -> None:
    torch.set_num_threads(threads)
    try:
        fn(local_rank, *args)
    except UserError as error:
        if idist.get_rank() == 0:
            print(f"error: {error}", flush=True)
        raise SystemExit(2) from None


def launched_externally() -> bool:
    """Whether torchrun (``WORLD_SIZE``) or SLURM's srun (``SLURM_NTASKS``) started several processes of this run."""
    world = os.environ.get("WORLD_SIZE") if "RANK" in os.environ else None
    if world is None and "SLURM_JOB_ID" in os.environ:
        world = os.environ.get("SLURM_NTASKS")
    return world is not None and world.isdigit() and int(world) > 1


def launch(fn: Callable[..., Any], *args: Any, nproc_per_node: int = 1, backend: str = "gloo") -> Any:
    """Run ``fn(local_rank, *args)`` in this process, or in ``nproc_per_node`` processes via ``idist.Parallel``.

    Under torchrun or srun (several nodes), this process is one of the run's processes: ``idist.Parallel``
    joins them from the launcher's environment. ``fn`` must be importable (a module-level function) for
    multi-process runs. Child processes share the CPU threads evenly.
    """
    if launched_externally():
        if backend == "nccl" and not torch.cuda.is_available():
            raise UserError("--backend nccl needs CUDA GPUs; use --backend gloo on CPU")
        with idist.Parallel(backend=backend) as parallel:
            parallel.run(_run_in_child, fn, torch.get_num_threads(), *args)
        return None
    if nproc_per_node <= 1:
        return fn(0, *args)
    if backend == "nccl" and not torch.cuda.is_available():
        raise UserError("--backend nccl needs CUDA GPUs; use --backend gloo on CPU")
    if backend == "nccl" and nproc_per_node > torch.cuda.device_count():
        raise UserError(f"--nproc_per_node {nproc_per_node} > {torch.cuda.device_count()} visible GPU(s)")
    threads = max(1, (os.cpu_count() or 1) // nproc_per_node)
    try:
        with idist.Parallel(backend=backend, nproc_per_node=nproc_per_node,
                            master_addr="127.0.0.1", master_port=_free_port()) as parallel:
            parallel.run(_run_in_child, fn, threads, *args)
    except torch.multiprocessing.ProcessExitedException as error:
        raise UserError(f"a training process exited with code {error.exit_code}; see its message above") from None
    return None
