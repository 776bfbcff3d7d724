"""Process functions: one training step and one evaluation step, as Ignite expects them.

A task supplies a ``loss_fn(model, batch) -> StepOutput``; the engine owns everything around it:
device transfer, autocast, loss scaling, gradient accumulation, unscale-then-clip, the optimizer
and scheduler steps, and the numbers a user wants to watch (loss, accuracy, |param|, |g_param|, lr).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ignite.distributed as idist
import torch
from ignite.engine import Engine
from ignite.utils import convert_tensor
from torch import nn

from ..errors import UserError
from .sparse_embeddings import SparseEmbeddingGradients


@dataclass
class StepOutput:
    """What a task's loss function returns for one batch."""

    loss: torch.Tensor  # scalar, mean over the batch
    accuracy: torch.Tensor | None = None  # scalar in [0, 1], when it applies


LossFn = Callable[[nn.Module, Any], StepOutput]
LossWeight = Callable[[Engine], float]  # factor of this process's mean batch loss (several processes)


class NonFiniteLoss(UserError):
    """The training loss became NaN or infinite; raised before it can change the weights."""


def check_finite(loss: torch.Tensor, engine: Engine) -> None:
    """Stop with a one-line error when ``loss`` is NaN/inf in any process (all agree, so none waits forever)."""
    finite = torch.isfinite(loss).to(torch.float32).reshape(1)
    if idist.get_world_size() > 1:
        finite = idist.all_reduce(finite.to(idist.device()), op="MIN")
    if float(finite) < 1.0:
        raise NonFiniteLoss(f"the training loss is {float(loss)} at iteration {engine.state.iteration} (epoch "
                            f"{engine.state.epoch}); stopped before it changed the weights")


def autocast_dtype(precision: str) -> torch.dtype | None:
    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` for fp16/bf16, a no-op for fp32."""
    dtype = autocast_dtype(precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def to_device(batch: Any, device: torch.device) -> Any:
    return convert_tensor(batch, device=device, non_blocking=device.type == "cuda")


def total_norm(tensors: list[torch.Tensor]) -> float:
    if not tensors:
        return 0.0
    return float(torch.nn.utils.get_total_norm(tensors))


def clip_gradients(params: list[torch.Tensor], grads: list[torch.Tensor], max_norm: float) -> float:
    """``clip_grad_norm_`` that skips its multiply when the factor would be 1 (the same gradients, one pass fewer)."""
    norm = torch.nn.utils.get_total_norm(grads)
    if float(max_norm / (norm + 1e-6)) < 1.0:  # clip_grad_norm_'s factor before it is clamped to 1
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, norm)
    return float(norm)


def _accumulation_group(position: int, epoch_length: int, grad_acc: int) -> tuple[int, bool]:
    """Size of the accumulation group of the 1-based ``position`` in an epoch and whether it ends it.

    The last group of an epoch may be shorter, so its loss is still a mean over its batches.
    """
    start = (position - 1) // grad_acc * grad_acc
    size = min(grad_acc, epoch_length - start)
    return size, position == start + size


def create_train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    loss_fn: LossFn,
    device: torch.device,
    grad_acc: int = 1,
    max_grad_norm: float = 0.0,
    precision: str = "fp32",
    scaler: torch.amp.GradScaler | None = None,
    param_norm_every: int = 10,
    loss_weight: LossWeight | None = None,
    embedding_grads: SparseEmbeddingGradients | None = None,
) -> Callable[[Engine, Any], dict[str, float]]:
    """The training process function for an Ignite ``Engine``.

    Returns per iteration ``loss`` (unscaled), ``accuracy`` (if the task gives it), ``|g_param|``
    (gradient norm of the last optimizer update, before clipping), ``|param|`` (parameter norm,
    refreshed every ``param_norm_every`` updates: it moves slowly and costs a pass over the
    weights) and the current ``lr``. ``loss_weight(engine)`` scales this process's loss (see
    :meth:`BucketBatchSampler.loss_weight`); a NaN/inf loss stops training with :class:`NonFiniteLoss`.
    ``embedding_grads`` turns sparse embedding gradients dense before each update.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    use_scaler = scaler is not None and scaler.is_enabled()
    norms = {"|param|": total_norm([p.detach() for p in params]), "|g_param|": 0.0}
    updates = 0

    def no_sync_unless(update: bool) -> contextlib.AbstractContextManager:
        # DDP all-reduces gradients only on the batch that ends an accumulation group.
        if not update and grad_acc > 1 and isinstance(model, nn.parallel.DistributedDataParallel):
            return model.no_sync()
        return contextlib.nullcontext()

    def train_step(engine: Engine, batch: Any) -> dict[str, float]:
        nonlocal updates
        model.train()
        epoch_length = engine.state.epoch_length or engine.state.iteration
        position = (engine.state.iteration - 1) % epoch_length + 1
        group_size, update = _accumulation_group(position, epoch_length, grad_acc)
        batch = to_device(batch, device)

        with no_sync_unless(update):
            with autocast(device, precision):
                out = loss_fn(model, batch)
            check_finite(out.loss.detach(), engine)
            loss = out.loss * (loss_weight(engine) if loss_weight is not None else 1.0) / group_size
            (scaler.scale(loss) if use_scaler else loss).backward()

        if update:
            if embedding_grads is not None:
                embedding_grads.densify()
            if use_scaler:
                scaler.unscale_(optimizer)  # clip (and report) true gradient norms
            grads = [p.grad for p in params if p.grad is not None]
            if max_grad_norm > 0:
                norms["|g_param|"] = clip_gradients(params, grads, max_grad_norm) if grads else 0.0
            else:
                norms["|g_param|"] = total_norm(grads)
            stepped = True
            if use_scaler:
                scale = scaler.get_scale()
                scaler.step(optimizer)
                scaler.update()
                stepped = scaler.get_scale() >= scale  # a lowered scale means inf/nan grads: step skipped
            else:
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if stepped:
                scheduler.step()
            updates += 1
            if updates % param_norm_every == 0:
                norms["|param|"] = total_norm([p.detach() for p in params])

        output = {"loss": float(out.loss.detach()), **norms, "lr": optimizer.param_groups[0]["lr"]}
        if out.accuracy is not None:
            output["accuracy"] = float(out.accuracy)
        return output

    return train_step


def create_eval_step(
    model: nn.Module,
    forward_fn: Callable[[nn.Module, Any], Any],
    device: torch.device,
    precision: str = "fp32",
) -> Callable[[Engine, Any], Any]:
    """The evaluation process function: ``forward_fn(model, batch)`` in eval mode without grads.

    Whatever ``forward_fn`` returns is the engine output that the task's metrics consume.
    """

    def eval_step(engine: Engine, batch: Any) -> Any:
        model.eval()
        batch = to_device(batch, device)
        with torch.inference_mode(), autocast(device, precision):
            return forward_fn(model, batch)

    return eval_step
