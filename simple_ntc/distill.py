"""Knowledge distillation into the RNN/CNN (``train.py --rnn/--cnn --teacher T.pth [--distill_fn U.txt]``).

The student learns from the gold labels and from the teacher's probabilities softened by a
temperature ``T`` (Hinton et al., 2015); lines of ``--distill_fn`` have no gold label and teach
through the teacher alone. Per batch:

    loss = alpha * T^2 * KL(teacher_T || student_T)  (mean over all rows)
         + (1 - alpha) * cross-entropy(gold)           (mean over the labeled rows)

Any model file can teach (a ``--bert`` model, an ensemble, ...): its probabilities come from the
serving backends, ONNX Runtime by default, which is the fastest on many lines.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from .data.dataset import EncodedDataset, PadCollator, bucketed_loader
from .data.batching import BucketBatchSampler
from .data.tokenization import TextTokenizer
from .engine import StepOutput
from .errors import UserError
from .predict import Predictor, predict_proba

UNLABELED = -1  # the label index of a --distill_fn line


def add_distillation_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("distillation (--rnn/--cnn students)")
    group.add_argument("--teacher", metavar="MODEL_FN", help="a model file of train.py (--bert, an ensemble, ...) "
                       "whose probabilities the RNN/CNN learns from, besides the gold labels")
    group.add_argument("--distill_fn", help="extra unlabeled lines (one text per line) labeled by the teacher's "
                       "probabilities alone")
    group.add_argument("--temperature", type=float, help="softens teacher and student probabilities (T > 0; 1: as "
                       "predicted)")
    group.add_argument("--distill_alpha", type=float, help="weight of the teacher's soft targets; 1 - alpha goes "
                       "to the gold labels")
    group.add_argument("--teacher_backend", choices=("torch", "onnxruntime"),
                       help="backend that computes the teacher's probabilities (onnxruntime is the faster on CPU)")


def check_distillation_args(args: argparse.Namespace) -> None:
    """Distillation flags and their values, before anything is trained."""
    if not args.teacher:
        if args.distill_fn:
            raise UserError("--distill_fn needs --teacher (the unlabeled lines are labeled by the teacher)")
        return
    if args.bert:
        raise UserError("--teacher trains an RNN/CNN student: use it with --rnn/--cnn, not --bert")
    for flag in ("teacher", "distill_fn"):
        path = getattr(args, flag)
        if path and not Path(path).is_file():
            raise UserError(f"--{flag}: file not found: {path}")
    if not args.temperature > 0:
        raise UserError(f"--temperature must be positive, got {args.temperature}")
    if not 0.0 <= args.distill_alpha <= 1.0:
        raise UserError(f"--distill_alpha must be in [0, 1], got {args.distill_alpha}")


def read_unlabeled(path: str | Path) -> list[str]:
    """The non-blank lines of ``path`` (UTF-8)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise UserError(f"--distill_fn {path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    texts = [line.strip() for line in lines if line.strip()]
    if not texts:
        raise UserError(f"--distill_fn {path} holds no text")
    return texts


def soften(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """``softmax(logits / T)`` from probabilities: ``p^(1/T)`` renormalized. |probs| = (n, n_classes)."""
    log_probs = torch.log(probs.clamp_min(1e-12)) / temperature
    return torch.softmax(log_probs, dim=-1)


def teacher_targets(teacher: Predictor, labels: Sequence[str], texts: Sequence[str], source: object) -> torch.Tensor:
    """The teacher's probabilities of ``texts``, columns in the student's label order. |targets| = (n, n_labels)."""
    if teacher.multi_label or teacher.pair:
        raise UserError(f"--teacher {source}: a {'multi-label' if teacher.multi_label else 'sentence-pair'} model "
                        "cannot teach a single-text, single-label RNN/CNN")
    missing = [label for label in labels if label not in teacher.labels]
    if missing or len(labels) != len(teacher.labels):
        raise UserError(f"--teacher {source}: its labels ({', '.join(teacher.labels)}) differ from the training "
                        f"data's ({', '.join(labels)})")
    probs = predict_proba(teacher, list(texts))  # |probs| = (len(texts), n_labels), teacher's order
    return probs[:, [teacher.labels.index(label) for label in labels]]


class DistillCollator(PadCollator):
    """Padded batches with the teacher's softened probabilities of their rows (``soft``)."""

    def __init__(self, pad_id: int, soft: torch.Tensor) -> None:
        super().__init__(pad_id)
        self.soft = soft  # |soft| = (n_examples, n_classes)

    def __call__(self, items: list[tuple[int, Sequence[int], object]]) -> dict[str, torch.Tensor]:
        batch = super().__call__(items)
        batch["soft"] = self.soft[batch["index"]]
        return batch


@dataclass(frozen=True)
class DistillationLoss:
    """``loss_fn`` of the engine for a student that returns log-probabilities."""

    temperature: float
    alpha: float

    def __call__(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> StepOutput:
        log_probs = model(batch["input_ids"], batch["lengths"])  # |log_probs| = (batch_size, n_classes)
        student = torch.log_softmax(log_probs / self.temperature, dim=-1)
        # KL(teacher || student) per row, scaled by T^2 so its gradients keep their size across temperatures
        soft = nn.functional.kl_div(student, batch["soft"], reduction="batchmean") * self.temperature ** 2
        labeled = batch["labels"] != UNLABELED
        loss = self.alpha * soft
        if labeled.any():
            loss = loss + (1 - self.alpha) * nn.functional.nll_loss(log_probs[labeled], batch["labels"][labeled])
        # accuracy against the gold label, or the teacher's top label on unlabeled rows
        targets = torch.where(labeled, batch["labels"], batch["soft"].argmax(dim=-1))
        return StepOutput(loss, (log_probs.argmax(dim=-1) == targets).float().mean())


@dataclass
class Distillation:
    """The student's training data (gold rows, then unlabeled rows) with the teacher's soft targets."""

    dataset: EncodedDataset
    soft: torch.Tensor  # |soft| = (len(dataset), n_classes), softened by the temperature
    loss_fn: DistillationLoss
    n_unlabeled: int

    def describe(self, args: argparse.Namespace) -> str:
        labeled = len(self.dataset) - self.n_unlabeled
        return (f"Distilling {args.teacher} (T={args.temperature:g}, alpha={args.distill_alpha:g}) on {labeled} "
                f"labeled + {self.n_unlabeled} unlabeled examples")

    def loader(self, pad_id: int, batch_size: int, seed: int, num_workers: int = 0) -> DataLoader:
        sampler = BucketBatchSampler(self.dataset.lengths, batch_size, shuffle=True, seed=seed)
        return bucketed_loader(self.dataset, sampler, DistillCollator(pad_id, self.soft), seed, num_workers)


def prepare_distillation(
    args: argparse.Namespace, tokenizer: TextTokenizer, labels: Sequence[str], texts: Sequence[str],
    targets: Sequence[int], batch_size: int,
) -> Distillation:
    """Teacher probabilities of the training texts and of ``--distill_fn``'s lines, as one dataset."""
    from .serving.backends import load_for_serving

    unlabeled = read_unlabeled(args.distill_fn) if args.distill_fn else []
    teacher = load_for_serving(args.teacher, args.teacher_backend, batch_size=batch_size)
    probs = teacher_targets(teacher, labels, [*texts, *unlabeled], args.teacher)
    dataset = EncodedDataset(tokenizer.encode([*texts, *unlabeled]), [*targets, *[UNLABELED] * len(unlabeled)])
    return Distillation(dataset, soften(probs, args.temperature), DistillationLoss(args.temperature, args.distill_alpha),
                        len(unlabeled))

