"""The training core shared by text classification and summarization.

Hand-written Ignite process functions (:mod:`.step`), the engines built around them
(:mod:`.trainers`), validation/checkpoint/early-stopping handlers (:mod:`.handlers`),
optimizer/scheduler factory (:mod:`.optim`), checkpoint files (:mod:`.checkpoint`), resume and run
identity (:mod:`.resume`), logging (:mod:`.reporting`, :mod:`.experiment`), distributed launch
(:mod:`.distributed`) and :func:`fit`, which wires them together.
"""
from .checkpoint import find_last_checkpoint, read_checkpoint
from .distributed import is_main_process, launch, print_on_main, resolve_device
from .fitting import FitResult, fit, read_resume_meta, unwrap
from .optim import create_optimizer, create_scheduler
from .options import EngineOptions, add_engine_arguments
from .state import seed_everything
from .step import StepOutput, autocast, create_eval_step, create_train_step, to_device

__all__ = [
    "EngineOptions", "FitResult", "StepOutput", "add_engine_arguments", "autocast", "create_eval_step",
    "create_optimizer", "create_scheduler", "create_train_step", "find_last_checkpoint", "fit", "is_main_process",
    "launch", "print_on_main", "read_checkpoint", "read_resume_meta", "resolve_device", "seed_everything",
    "to_device", "unwrap",
]
