"""Row-sparse gradients for large embedding tables, written into one kept dense buffer per table.

A batch touches a few hundred rows of a 30,000-row vocabulary (250,000 for XLM-R), yet the dense
embedding backward allocates, zero-fills and fills a gradient as large as the whole table on every
backward pass. With ``sparse=True`` the backward yields only the touched rows. Before clipping and
the optimizer step, :meth:`SparseEmbeddingGradients.densify` adds them into a dense buffer kept for
the whole run, so clipping, loss scaling and every dense optimizer (AdamW's fused kernel included)
see the same gradient as before, without a table-sized allocation per step.
"""
from __future__ import annotations

from collections import Counter

import torch
from torch import nn

MIN_ELEMENTS = 1 << 20  # smaller tables cost little either way


def _eligible(module: nn.Module, uses: Counter, min_elements: int) -> bool:
    """A plain embedding table, large, trained, and not tied to another layer (a tied LM head's dense
    gradient would arrive in the same ``.grad``)."""
    return (type(module) is nn.Embedding and not module.sparse and module.weight.requires_grad
            and module.weight.numel() >= min_elements and uses[id(module.weight)] == 1)


class SparseEmbeddingGradients:
    """The large untied embedding tables of ``model``, switched to sparse gradients for one training run
    (:meth:`enable`, then :meth:`restore` whatever happens)."""

    def __init__(self, model: nn.Module, min_elements: int | None = None) -> None:
        uses = Counter(id(p) for _, p in model.named_parameters(remove_duplicate=False))
        least = MIN_ELEMENTS if min_elements is None else min_elements
        self.tables = [m for m in model.modules() if _eligible(m, uses, least)]
        self._dense: dict[int, torch.Tensor] = {}

    def enable(self) -> None:
        for table in self.tables:
            table.sparse = True

    def densify(self) -> None:
        """Replace each table's sparse gradient by the kept dense buffer holding the same values."""
        for table in self.tables:
            grad = table.weight.grad
            if grad is None or not grad.is_sparse:
                continue
            dense = self._dense.get(id(table))
            if dense is None:
                dense = self._dense[id(table)] = torch.zeros_like(table.weight)
            else:
                dense.zero_()
            grad = grad.coalesce()  # |indices| = (1, touched_rows), |values| = (touched_rows, dim)
            dense.index_add_(0, grad.indices()[0], grad.values())
            table.weight.grad = dense

    def restore(self) -> None:
        """Dense gradients again (the model is left as it came), and the buffers freed."""
        for table in self.tables:
            table.sparse = False
            if table.weight.grad is not None and table.weight.grad.is_sparse:
                table.weight.grad = None
        self._dense.clear()
