"""Sparse embedding gradients densified into a kept buffer: the same training, no table-sized allocation per step."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from simple_ntc.engine import create_optimizer, create_scheduler, seed_everything, sparse_embeddings
from simple_ntc.engine.sparse_embeddings import SparseEmbeddingGradients
from simple_ntc.engine.step import clip_gradients
from tests import toy_task
from tests.test_engine import assert_same_weights, options, run_fit, state
from tests.toy_task import ToyDataset, ToyModel


def test_a_large_untied_table_gets_the_dense_gradient_in_one_kept_buffer():
    torch.manual_seed(0)
    dense, sparse = nn.Embedding(5000, 300, padding_idx=0), nn.Embedding(5000, 300, padding_idx=0)
    sparse.load_state_dict(dense.state_dict())
    grads = SparseEmbeddingGradients(sparse)
    assert grads.tables == [sparse] and not sparse.sparse
    grads.enable()
    buffers = []
    for step in range(2):
        ids = torch.randint(0, 5000, (8, 30), generator=torch.Generator().manual_seed(step))
        ids[:, -3:] = 7  # a row used many times in one batch
        dense.zero_grad(set_to_none=True), sparse.zero_grad(set_to_none=True)
        (dense(ids) ** 2).sum().backward()
        (sparse(ids) ** 2).sum().backward()
        assert sparse.weight.grad.is_sparse
        grads.densify()
        torch.testing.assert_close(sparse.weight.grad, dense.weight.grad)
        buffers.append(sparse.weight.grad.data_ptr())
    assert buffers[0] == buffers[1]  # no new table-sized tensor on the second step
    grads.restore()
    assert not sparse.sparse


def test_small_and_tied_tables_keep_dense_gradients():
    class TiedLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(5000, 300)
            self.head = nn.Linear(300, 5000, bias=False)
            self.head.weight = self.emb.weight
            self.small = nn.Embedding(10, 4)

    assert SparseEmbeddingGradients(TiedLM()).tables == []


@pytest.mark.parametrize("grad_acc, max_grad_norm", [(3, 0.05), (1, 100.0)])
def test_training_with_sparse_embedding_gradients_equals_a_bare_pytorch_loop(tmp_path, monkeypatch, grad_acc,
                                                                              max_grad_norm):
    """Accumulated sparse gradients, clipping (and a norm too small to clip), padding_idx and fused AdamW."""
    monkeypatch.setattr(sparse_embeddings, "MIN_ELEMENTS", 1)  # the toy model's table is tiny
    train = ToyDataset(80)
    opts = options(grad_acc=grad_acc, max_grad_norm=max_grad_norm)
    engine_model, _ = run_fit(tmp_path, opts, train)
    assert not engine_model.emb.sparse  # restored after training

    seed_everything(0)
    model = ToyModel()
    loader = toy_task.loader(train, 8, shuffle=True, seed=opts.seed)
    optimizer = create_optimizer(model, "adamw", 0.05, weight_decay=0.01)
    total = math.ceil(len(loader) / grad_acc)
    scheduler = create_scheduler(optimizer, "linear", total, math.ceil(total * 0.2))
    batches = list(loader)
    model.train()
    for start in range(0, len(batches), grad_acc):
        group = batches[start:start + grad_acc]
        for batch in group:
            (toy_task.loss_fn(model, batch).loss / len(group)).backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
    assert_same_weights(state(engine_model), state(model), atol=1e-6)


@pytest.mark.parametrize("max_norm", [0.01, 1e6])
def test_clip_gradients_equals_clip_grad_norm(max_norm):
    torch.manual_seed(0)
    grads = [torch.randn(30, 7), torch.randn(11)]
    ours = [nn.Parameter(torch.zeros_like(g)) for g in grads]
    theirs = [nn.Parameter(torch.zeros_like(g)) for g in grads]
    for a, b, g in zip(ours, theirs, grads):
        a.grad, b.grad = g.clone(), g.clone()
    norm = clip_gradients(ours, [p.grad for p in ours], max_norm)
    assert norm == pytest.approx(float(nn.utils.clip_grad_norm_(theirs, max_norm)))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad, atol=0, rtol=0)
    assert (max_norm < norm) == (not torch.equal(ours[0].grad, grads[0]))
