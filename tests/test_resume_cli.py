"""``train.py --resume`` keeps what defines the run: its seed (so its split) and its data."""
from __future__ import annotations

from tests.conftest import CLASSIFICATION, assert_one_line_error, run_cli

TINY = ["--rnn", "--word_vec_size", 8, "--hidden_size", 8, "--n_layers", 1, "--batch_size", 32, "--verbose", 1,
        "--tokenizer", "space", "--early_stop", 0]


def test_resume_uses_the_runs_seed_and_refuses_another_split(tmp_path):
    train = tmp_path / "train.tsv"
    train.write_bytes((CLASSIFICATION / "sentiment_train.tsv").read_bytes())
    files = ["--model_fn", tmp_path / "m.pth", "--train_fn", train]
    base = [*files, "--valid_ratio", 0.3, *TINY]
    first = run_cli("train.py", *base, "--seed", 1, "--n_epochs", 1)
    assert first.returncode == 0, first.stderr
    resumed = run_cli("train.py", *base, "--seed", 5, "--n_epochs", 2, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "--resume: using the seed of the checkpointed run (1), not 5" in resumed.stdout
    assert "Resuming from" in resumed.stdout
    other_split = run_cli("train.py", *files, "--valid_ratio", 0.2, *TINY, "--n_epochs", 3, "--resume")
    assert_one_line_error(other_split, "--resume: --valid_ratio differs from the run checkpointed in")
    with train.open("a", encoding="utf-8") as handle:
        handle.write("1\tone more line\n")
    other_data = run_cli("train.py", *base, "--n_epochs", 3, "--resume")
    assert_one_line_error(other_data, "--resume: --train_fn differs from the run checkpointed in")
