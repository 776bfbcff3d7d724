"""Options of the shared training engine and the command-line flags that set them."""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

PRECISIONS = ("fp32", "fp16", "bf16")
SCHEDULERS = ("none", "constant", "linear", "cosine")
BACKENDS = ("gloo", "nccl")
WANDB_MODES = ("auto", "online", "offline")


@dataclass
class EngineOptions:
    """Everything the engine needs to know about a run.

    ``lr``, ``scheduler`` and ``warmup_ratio`` may be None (empty flags): task code fills them with its
    model's defaults (:meth:`with_defaults`); :func:`fit` falls back to 1e-3, no schedule and no warmup.
    """

    n_epochs: int = 10
    batch_size: int = 64
    lr: float | None = None
    optimizer: str = "adam"
    weight_decay: float = 0.0
    adam_epsilon: float = 1e-8
    momentum: float = 0.0
    scheduler: str | None = None
    warmup_ratio: float | None = 0.0
    warmup_steps: int = 0
    grad_acc: int = 1
    max_grad_norm: float = 0.0
    precision: str = "fp32"
    seed: int = 42
    valid_every: int = 0
    valid_metric: str = "loss"
    valid_mode: str | None = None
    early_stop: int = 0
    checkpoint_dir: str | None = None
    n_saved: int = 1
    save_every: int | None = 0
    n_best: int = 1
    resume: bool = False
    gpu_id: int | None = None
    nproc_per_node: int = 1
    backend: str = "gloo"
    num_workers: int = 0
    verbose: int = 2
    log_every: int = 10
    wandb: bool = False
    wandb_project: str = "simple-ntc"
    wandb_name: str | None = None
    wandb_mode: str = "auto"
    wandb_dir: str | None = None

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> "EngineOptions":
        names = {f.name for f in dataclasses.fields(cls)}
        options = cls(**{k: v for k, v in vars(args).items() if k in names})
        if getattr(args, "use_radam", False):
            options.optimizer = "radam"
        return options

    def with_defaults(self, **defaults: object) -> "EngineOptions":
        """A copy in which the fields left empty (None) take ``defaults``."""
        return dataclasses.replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})

    @property
    def mode(self) -> str:
        """Whether a larger (``max``) or smaller (``min``) ``valid_metric`` is better."""
        if self.valid_mode is not None:
            return self.valid_mode
        return "min" if self.valid_metric == "loss" or self.valid_metric.endswith("loss") else "max"

    def validate(self) -> None:
        """Raise :class:`UserError` for values no run can use."""
        positive = {"n_epochs": self.n_epochs, "batch_size": self.batch_size, "grad_acc": self.grad_acc,
                    "n_saved": self.n_saved, "n_best": self.n_best, "nproc_per_node": self.nproc_per_node,
                    "log_every": self.log_every}
        for name, value in positive.items():
            if value < 1:
                raise UserError(f"--{name} must be a positive integer, got {value}")
        non_negative = {"early_stop": self.early_stop, "valid_every": self.valid_every,
                        "warmup_steps": self.warmup_steps, "save_every": self.save_every or 0, "num_workers": self.num_workers,
                        "weight_decay": self.weight_decay, "max_grad_norm": self.max_grad_norm}
        for name, value in non_negative.items():
            if value < 0:
                hint = " (0 turns it off)" if name in ("early_stop", "max_grad_norm") else ""
                raise UserError(f"--{name} must be >= 0, got {value}{hint}")
        if self.lr is not None and self.lr <= 0:
            raise UserError(f"--lr must be > 0, got {self.lr}")
        if self.warmup_ratio is not None and not 0.0 <= self.warmup_ratio < 1.0:
            raise UserError(f"--warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.precision not in PRECISIONS:
            raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.scheduler is not None and self.scheduler not in SCHEDULERS:
            raise UserError(f"--scheduler must be one of {', '.join(SCHEDULERS)}, got {self.scheduler!r}")
        if self.verbose not in (0, 1, 2):
            raise UserError(f"--verbose must be 0, 1 or 2, got {self.verbose}")
        from .optim import optimizer_class

        optimizer_class(self.optimizer)  # unknown names fail here, before any data is read
        if self.valid_mode not in (None, "min", "max"):
            raise UserError(f"--valid_mode must be min or max, got {self.valid_mode!r}")

    def resolved_checkpoint_dir(self, model_fn: str | Path) -> Path:
        """``--checkpoint_dir`` or, by default, ``<model_fn>.ckpt/`` next to the model file."""
        if self.checkpoint_dir:
            return Path(self.checkpoint_dir)
        model_fn = Path(model_fn)
        return model_fn.with_name(model_fn.name + ".ckpt")


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every training task. Defaults come from the task's YAML config."""
    train = parser.add_argument_group("training")
    train.add_argument("--n_epochs", type=int, help="number of training epochs (in total, also with --resume)")
    train.add_argument("--batch_size", type=int, help="examples per optimizer step before accumulation "
                       "(split across processes when --nproc_per_node > 1)")
    train.add_argument("--lr", type=float, help="peak learning rate; empty means the model's default "
                       "(1e-3 for RNN/CNN)")
    train.add_argument("--optimizer", help="torch.optim name (adam, adamw, sgd, radam, nadam, adagrad, rmsprop, "
                       "adamax) or torch-optimizer name (lamb, adabound, yogi, ranger, ...)")
    train.add_argument("--use_radam", action=argparse.BooleanOptionalAction,
                       help="shortcut for --optimizer radam (simple-ntc compatible)")
    train.add_argument("--weight_decay", type=float,
                       help="weight decay, never applied to biases and normalization weights: decoupled from the "
                       "gradient with adamw (and other decoupled optimizers), an L2 penalty added to the gradient "
                       "with adam, sgd and the others")
    train.add_argument("--adam_epsilon", type=float, help="epsilon of Adam-family optimizers")
    train.add_argument("--momentum", type=float, help="momentum of SGD and RMSprop")
    train.add_argument("--scheduler", choices=SCHEDULERS,
                       help="learning-rate schedule after the warmup, stepped per optimizer update (none: a constant "
                       "rate and no warmup); empty means the model's default "
                       "(linear for RNN/CNN)")
    train.add_argument("--warmup_ratio", type=float, help="fraction of optimizer updates used for linear warmup (ignored "
                       "by --scheduler none); "
                       "empty means the model's default (0.05 for RNN/CNN)")
    train.add_argument("--warmup_steps", type=int, help="warmup length in optimizer updates (overrides --warmup_ratio when > 0; "
                       "ignored by --scheduler none)")
    train.add_argument("--grad_acc", type=int, help="gradient accumulation: optimizer step every N batches")
    train.add_argument("--max_grad_norm", type=float, help="clip the gradient norm to this value (0: no clipping)")
    train.add_argument("--precision", choices=PRECISIONS,
                       help="fp16: CUDA mixed precision with a GradScaler; bf16: bfloat16 autocast (CPU or CUDA)")
    train.add_argument("--seed", type=int, help="random seed; identical runs on CPU give identical weights")

    valid = parser.add_argument_group("validation, early stopping and checkpoints")
    valid.add_argument("--valid_every", type=int, help="validate every N iterations (0: at the end of every epoch)")
    valid.add_argument("--valid_metric", help="validation metric that picks the best model and drives early stopping")
    valid.add_argument("--valid_mode", choices=("min", "max"), help="whether a smaller or larger --valid_metric is "
                       "better; empty: min for losses, max otherwise")
    valid.add_argument("--early_stop", type=int, metavar="PATIENCE",
                       help="stop after PATIENCE validations without improvement (0: never)")
    valid.add_argument("--checkpoint_dir", help="where checkpoints go; empty means <model_fn>.ckpt next to the model")
    valid.add_argument("--n_saved", type=int, help="number of most recent full training checkpoints to keep "
                       "(last_checkpoint_<iteration>.pt, written at epoch ends and every --save_every updates)")
    valid.add_argument("--save_every", type=int, metavar="UPDATES",
                       help="also write a full training checkpoint every N optimizer updates inside an epoch, so "
                       "--resume loses minutes, not an epoch (0: at epoch ends only)")
    valid.add_argument("--n_best", type=int, help="number of best-by-validation model checkpoints to keep")
    valid.add_argument("--resume", action=argparse.BooleanOptionalAction,
                       help="continue from the last checkpoint in --checkpoint_dir up to --n_epochs in total, "
                       "with the run's own seed and split (a checkpoint saved mid-epoch goes on with its next batch)")

    hardware = parser.add_argument_group("hardware and distributed training")
    hardware.add_argument("--gpu_id", type=int, help="CUDA device index, -1 for CPU; empty: GPU 0 when available")
    hardware.add_argument("--nproc_per_node", type=int, help="number of training processes on this machine "
                          "(ignite.distributed; rank 0 logs and writes files)")
    hardware.add_argument("--backend", choices=BACKENDS, help="torch.distributed backend when --nproc_per_node > 1")
    hardware.add_argument("--num_workers", type=int, help="DataLoader worker processes")

    logging = parser.add_argument_group("logging")
    logging.add_argument("--verbose", type=int, choices=(0, 1, 2),
                         help="0: silent, 1: a line per epoch, 2: also a progress bar per batch")
    logging.add_argument("--log_every", type=int, help="log training step metrics to W&B every N iterations")
    logging.add_argument("--wandb", action=argparse.BooleanOptionalAction,
                         help="log config, metrics, learning rate and gradient norms to Weights & Biases")
    logging.add_argument("--wandb_project", help="W&B project name")
    logging.add_argument("--wandb_name", help="W&B run name")
    logging.add_argument("--wandb_mode", choices=WANDB_MODES,
                         help="auto: online when an API key is configured, else offline (never asks for a login)")
    logging.add_argument("--wandb_dir", help="directory of the local W&B run files; empty: the checkpoint directory")
