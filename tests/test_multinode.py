"""The same train.py under torchrun on two "nodes" (both on localhost, c10d rendezvous)."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import CLASSIFICATION, ROOT, free_port


def test_torchrun_two_nodes_one_process_each_trains_and_rank_0_alone_writes_the_model(tmp_path):
    port = free_port()
    model_fn = tmp_path / "m.pth"
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1",
               "--rdzv_backend", "c10d", "--rdzv_endpoint", f"127.0.0.1:{port}", "--rdzv_id", "multinode-test",
               str(ROOT / "train.py"), "--model_fn", str(model_fn), "--train_fn",
               str(CLASSIFICATION / "sentiment_train.tsv"), "--valid_fn", str(CLASSIFICATION / "sentiment_valid.tsv"),
               "--rnn", "--word_vec_size", "8", "--hidden_size", "8", "--n_layers", "1", "--n_epochs", "1",
               "--tokenizer", "space", "--verbose", "1", "--backend", "gloo", "--gpu_id", "-1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_SILENT": "true"}
    nodes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [node.communicate(timeout=300) for node in nodes]
    for node, (out, err) in zip(nodes, outputs):
        assert node.returncode == 0, err[-2000:]
    printed = "".join(out for out, _ in outputs)
    assert "Training in 2 processes on 2 node(s) (gloo)" in printed
    assert printed.count(f"to {model_fn}") == 1  # rank 0 alone saved the model
    assert model_fn.is_file()
