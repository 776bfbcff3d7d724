"""sweep.py: W&B sweep configurations run by Optuna, each trial one tiny train.py training on the fixtures.

Most sweeps run their trials in this process (``--in_process``) to keep the suite fast; one test runs
sweep.py and its train.py trials as separate processes, as a user does.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from simple_ntc.errors import UserError
from simple_ntc.sweep.config import load_sweep_config
from simple_ntc.sweep.sweeper import SweepSettings, run_sweep
from tests.conftest import CLASSIFICATION, FIXTURES, assert_one_line_error, run_cli

TRAIN, VALID = CLASSIFICATION / "sentiment_train.tsv", CLASSIFICATION / "sentiment_valid.tsv"
TINY_CNN = ["--train_fn", str(TRAIN), "--valid_fn", str(VALID), "--cnn", "--tokenizer", "space", "--word_vec_size",
            "16", "--n_filters", "8", "8", "8", "--batch_size", "32"]


def sweep_yaml(path: Path, parameters: dict, method: str = "random", metric: str = "valid/accuracy",
               goal: str = "maximize", fixed: list[str] = TINY_CNN, n_epochs: int = 2, **extra) -> Path:
    config = {"name": path.stem, "method": method, "metric": {"name": metric, "goal": goal},
              "parameters": parameters, "program": "train.py",
              "command": ["${env}", "${interpreter}", "${program}", *fixed, "--n_epochs", str(n_epochs), "${args}"],
              **extra}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def sweep(config: Path, sweep_dir: Path, **settings) -> tuple[int, list[str]]:
    lines: list[str] = []
    settings = {"in_process": True, "wandb": False, "seed": 0, **settings}
    code = run_sweep(SweepSettings(config, sweep_dir=sweep_dir, **settings), log=lines.append)
    return code, lines


def rows(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "trials.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def best_row(table: list[dict[str, str]], metric: str, goal: str = "maximize") -> dict[str, str]:
    complete = [r for r in table if r["state"] == "complete"]
    pick = max if goal == "maximize" else min
    return pick(complete, key=lambda r: float(r[metric]))


def test_random_count_4_then_count_2_continues_to_6_trials(tmp_path):
    config = sweep_yaml(tmp_path / "random.yaml", {"lr": {"distribution": "log_uniform_values", "min": 1e-3,
                                                          "max": 5e-2},
                                                   "dropout": {"values": [0.0, 0.3]}})
    code, lines = sweep(config, tmp_path / "out", count=4)
    assert code == 0
    table = rows(tmp_path / "out")
    assert list(table[0]) == ["number", "state", "lr", "dropout", "valid/accuracy", "seconds", "model"]
    assert [r["number"] for r in table] == ["0", "1", "2", "3"] and {r["state"] for r in table} == {"complete"}
    for row in table:  # each trial's model file is there and holds the trial's flags
        assert Path(row["model"]).is_file() and float(row["seconds"]) > 0
        assert 0.0 < float(row["valid/accuracy"]) <= 1.0
    best = best_row(table, "valid/accuracy")
    assert lines[-1] == (f"Best trial {best['number']}: valid/accuracy={float(best['valid/accuracy']):.4f} with "
                         f"lr={best['lr']}, dropout={best['dropout']} (model: {tmp_path / 'out' / 'best.pth'})")
    assert (tmp_path / "out" / "best.pth").read_bytes() == Path(best["model"]).read_bytes()
    assert json.loads((tmp_path / "out" / "best.json").read_text())["number"] == int(best["number"])
    assert (tmp_path / "out" / "sweep.png").stat().st_size > 10_000
    assert not (tmp_path / "out" / "trials" / "0000" / "model.pth.ckpt").exists()  # checkpoints are dropped

    code, lines = sweep(config, tmp_path / "out", count=2, seed=1)
    table2 = rows(tmp_path / "out")
    assert code == 0 and [r["number"] for r in table2] == [str(i) for i in range(6)]
    assert table2[:4] == table and {r["state"] for r in table2} == {"complete"}
    assert lines[0].endswith(f"4 trial(s) so far in sqlite:///{(tmp_path / 'out' / 'sweep.db').resolve()}; "
                             f"outputs in {tmp_path / 'out'}")
    assert lines[-1].startswith(f"Best trial {best_row(table2, 'valid/accuracy')['number']}: ")


def test_grid_2x2_runs_exactly_its_4_points_and_stops(tmp_path):
    config = sweep_yaml(tmp_path / "grid.yaml", {"lr": {"values": [0.003, 0.02]}, "dropout": {"values": [0.0, 0.3]}},
                        method="grid", n_epochs=1)
    code, lines = sweep(config, tmp_path / "out")  # no --count: a grid runs to its end
    table = rows(tmp_path / "out")
    assert code == 0 and len(table) == 4 and {r["state"] for r in table} == {"complete"}
    assert sorted((float(r["lr"]), float(r["dropout"])) for r in table) == [(0.003, 0.0), (0.003, 0.3), (0.02, 0.0),
                                                                           (0.02, 0.3)]
    assert "the grid is complete" in lines[-2]
    code, lines = sweep(config, tmp_path / "out", count=10)
    assert code == 0 and len(rows(tmp_path / "out")) == 4
    assert lines[-2].startswith("0 trial(s) run now, 4 in the sweep (4 complete, 0 pruned, 0 failed); the grid is "
                                "complete")


def test_hyperband_prunes_a_hopeless_trial_after_min_iter_validations(tmp_path):
    # lr 1e-7 leaves the loss where it starts; hyperband (min_iter 2, eta 3; the first complete trial's 4
    # validations set the maximum: one bracket) compares it with the finished trial at validation 2.
    config = sweep_yaml(tmp_path / "prune.yaml", {"lr": {"values": [1e-7, 0.02]}}, method="grid",
                        metric="valid/loss", goal="minimize", n_epochs=4,
                        early_terminate={"type": "hyperband", "min_iter": 2, "eta": 3})
    code, lines = sweep(config, tmp_path / "out")
    table = {float(r["lr"]): r for r in rows(tmp_path / "out")}
    assert table[0.02]["number"] == "0", "precondition: Optuna's GridSampler (seed 0) runs lr=0.02 first"
    assert table[0.02]["state"] == "complete" and table[1e-07]["state"] == "pruned"
    validations = [json.loads(line) for line in
                   (tmp_path / "out" / "trials" / "0001" / "validations.jsonl").read_text().splitlines()]
    assert [v["step"] for v in validations] == [1, 2] and validations[-1]["pruned"]
    assert validations[-1]["value"] > float(table[0.02]["valid/loss"])
    assert not (tmp_path / "out" / "trials" / "0001" / "model.pth").exists()  # a pruned trial saves no model
    assert table[1e-07]["model"] == ""
    assert any(line.startswith("Trial 1 pruned after 2 validation(s)") for line in lines)
    assert lines[-1].startswith("Best trial 0: valid/loss=") and code == 0


def test_a_failed_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    # dropout 1.5 passes the configuration check (its first value 0.1 is checked) but train.py refuses it
    config = sweep_yaml(tmp_path / "fail.yaml", {"dropout": {"values": [0.1, 1.5]}}, method="grid", n_epochs=1)
    code, lines = sweep(config, tmp_path / "out")
    table = {r["dropout"]: r for r in rows(tmp_path / "out")}
    assert table["1.5"]["state"] == "failed" and table["0.1"]["state"] == "complete" and code == 0
    failed = [line for line in lines if " failed" in line and line.startswith("Trial ")]
    assert len(failed) == 1 and "train.py: error: --dropout must be in [0, 1), got 1.5" in failed[0]
    assert lines[-1].startswith(f"Best trial {table['0.1']['number']}: valid/accuracy=")


def test_an_interrupted_trial_runs_again_first(tmp_path, monkeypatch):
    from simple_ntc.sweep import sweeper

    config = sweep_yaml(tmp_path / "stop.yaml", {"lr": {"values": [0.003, 0.02]}}, method="grid", n_epochs=1)
    real_run_trial = sweeper.run_trial

    def interrupted(job, in_process):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweeper, "run_trial", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep(config, tmp_path / "out")
    first = rows(tmp_path / "out")
    assert [r["state"] for r in first] == ["failed"]
    monkeypatch.setattr(sweeper, "run_trial", real_run_trial)
    code, lines = sweep(config, tmp_path / "out")
    table = rows(tmp_path / "out")
    assert lines[0] == "Trial 0 was interrupted; it runs again first"
    assert [r["state"] for r in table] == ["failed", "complete", "complete"] and table[1]["lr"] == first[0]["lr"]
    assert sorted(r["lr"] for r in table[1:]) == ["0.003", "0.02"] and code == 0


def test_machines_share_one_sweep_through_the_storage_url(tmp_path):
    config = sweep_yaml(tmp_path / "shared.yaml", {"lr": {"min": 0.001, "max": 0.02}}, n_epochs=1)
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    sweep(config, tmp_path / "machine_a", count=1, storage=storage, seed=1)
    code, lines = sweep(config, tmp_path / "machine_b", count=1, storage=storage, seed=2)
    table = rows(tmp_path / "machine_b")
    assert [r["number"] for r in table] == ["0", "1"] and code == 0
    assert table[0]["model"].startswith(str(tmp_path / "machine_a"))
    assert table[1]["model"].startswith(str(tmp_path / "machine_b"))
    changed = sweep_yaml(tmp_path / "shared.yaml", {"lr": {"min": 0.001, "max": 0.05}}, n_epochs=1)
    with pytest.raises(UserError, match=r"shared.yaml:\d+: parameters: sweep 'shared' in this storage was started "
                                        "with another parameters"):
        sweep(changed, tmp_path / "machine_b", count=1, storage=storage)


BAD_CONFIGS = [
    ({"methd": "grid"}, "methd: unknown key of a W&B sweep configuration"),
    ({"parameters": {"learning_rate": {"values": [0.1]}}},
     "parameters.learning_rate: train.py --task classification has no flag --learning_rate"),
    ({"parameters": {"lr": {"distribution": "normal", "mu": 0, "sigma": 1}}},
     "parameters.lr.distribution: normal has no Optuna counterpart"),
    ({"parameters": {"lr": {"values": ["fast"]}}}, "parameters.lr.values[0]: invalid value 'fast' for --lr"),
    ({"metric": {"name": "valid/f1", "goal": "maximize"}},
     "metric.name: 'valid/f1' is not a validation metric of train.py --task classification; choose from "
     "valid/loss, valid/accuracy, valid/macro_f1"),
    ({"metric": {"name": "valid/accuracy"}}, "metric: goal minimize (W&B's default when goal is missing) would pick "
                                             "the worst valid/accuracy; set goal: maximize"),
    ({"method": "grid", "parameters": {"lr": {"min": 0.001, "max": 0.1}}},
     "parameters.lr.distribution: a grid needs values, value, int_uniform or q_uniform"),
    ({"early_terminate": {"type": "hyperband", "min_iter": 2, "strict": True}},
     "early_terminate.strict: is not supported"),
    ({"command": ["${env}", "${interpreter}", "${program}", "${args_json}"]}, "command[3]: ${args_json} is not supported"),
    ({"command": ["${program}", "--model_fn", "x.pth", "${args}"]}, "command: --model_fn is set by sweep.py"),
    ({"early_terminate": {"type": "hyperband", "min_iter": 9}},
     "early_terminate.min_iter: min_iter 9 is more than the 8 validation(s) of a trial"),
    ({"command": ["${program}", "--train_fn", str(TRAIN), "${args}"]},
     "train.py flags of the trials (command and parameters): choose what to train"),
]


@pytest.mark.parametrize("change, message", BAD_CONFIGS)
def test_a_bad_configuration_is_one_error_naming_the_key(tmp_path, change, message):
    config = {"name": "bad", "method": "random", "metric": {"name": "valid/accuracy", "goal": "maximize"},
              "parameters": {"lr": {"values": [0.01]}},
              "command": ["${env}", "${interpreter}", "${program}", *TINY_CNN, "${args}"]}
    config.update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    with pytest.raises(UserError) as error:
        sweep(path, tmp_path / "out", count=1)
    assert message in str(error.value) and str(error.value).startswith(str(path))
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out" / "trials").exists()


def test_cli_bad_key_is_one_line_with_file_and_line(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("name: x\nmethod: random\nmetric: {name: valid/accuracy, goal: maximize}\nparameters:\n"
                    "  lr: {values: [0.1]}\nearly_terminat: {type: hyperband}\n", encoding="utf-8")
    result = run_cli("sweep.py", "--config", path, "--count", 1, "--sweep_dir", tmp_path / "out")
    assert_one_line_error(result, f"sweep.py: error: {path}:6: early_terminat: unknown key of a W&B sweep "
                                  "configuration")


def test_subprocess_trials_are_wandb_runs_grouped_under_the_sweep(tmp_path, monkeypatch):
    """sweep.py and its train.py trials as separate processes (the default), each trial an offline W&B run."""
    from tests.wandb_history import _records, read_history, wait_for_exit_record
    from wandb.proto import wandb_internal_pb2

    config = sweep_yaml(tmp_path / "nsmc-like.yaml", {"lr": {"values": [0.01]}, "dropout": {"values": [0.2]}},
                        method="grid", n_epochs=2)
    env = {"NETRC": str(tmp_path / "no-netrc"), "WANDB_API_KEY": ""}
    result = run_cli("sweep.py", "--config", config, "--sweep_dir", tmp_path / "out", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(tmp_path / "out")
    assert [r["state"] for r in table] == ["complete"]
    assert result.stdout.strip().splitlines()[-1].startswith("Best trial 0: valid/accuracy=")
    run_files = list((tmp_path / "out" / "trials" / "0000" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(run_files) == 1
    wait_for_exit_record(run_files[0])
    history = read_history(run_files[0])
    assert history["valid/accuracy"] == history["validation/accuracy"] and len(history["valid/accuracy"]) == 2
    assert max(history["valid/accuracy"]) == pytest.approx(float(table[0]["valid/accuracy"]))
    runs = []
    for payload in _records(run_files[0].read_bytes()):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        if record.WhichOneof("record_type") == "run":
            runs.append(record.run)
    assert runs and runs[0].run_group == "nsmc-like" and runs[0].display_name == "nsmc-like-0"


def test_bert_and_summarization_trials(tmp_path):
    """--bert (a tiny BERT directory) and --task summarization (the embedded BART, tiny) as sweep trials."""
    from tests.tiny_bert import build_tiny_bert, corpus_texts

    plm = FIXTURES / "plm"
    bert = build_tiny_bert(tmp_path / "bert", corpus_texts(plm / "labels_train.tsv", plm / "labels_valid.tsv"))
    config = sweep_yaml(tmp_path / "bert.yaml", {"lr": {"values": [3e-3]}, "warmup_ratio": {"values": [0.0, 0.1]}},
                        method="grid", metric="valid/macro_f1", n_epochs=1,
                        fixed=["--train_fn", str(plm / "labels_train.tsv"), "--valid_fn", str(plm / "labels_valid.tsv"),
                               "--bert", "--pretrained_model_name", str(bert), "--batch_size", "16"])
    code, lines = sweep(config, tmp_path / "bert_out", count=1)
    assert code == 0 and [r["state"] for r in rows(tmp_path / "bert_out")] == ["complete"], lines

    summaries = FIXTURES / "summarization"
    config = sweep_yaml(tmp_path / "sum.yaml", {"lr": {"values": [1e-2, 3e-3]}}, method="grid",
                        metric="validation/rouge_mean", n_epochs=1,
                        fixed=["--task", "summarization", "--train_fn", str(summaries / "train.csv"), "--valid_fn",
                               str(summaries / "valid.csv"), "--d_model", "32", "--encoder_layers", "1",
                               "--decoder_layers", "1", "--attention_heads", "2", "--ffn_dim", "64", "--vocab_size",
                               "300", "--max_length", "20", "--num_beams", "1", "--batch_size", "8"])
    code, lines = sweep(config, tmp_path / "sum_out", count=1)
    table = rows(tmp_path / "sum_out")
    assert code == 0 and [r["state"] for r in table] == ["complete"], lines
    assert list(table[0])[3] == "validation/rouge_mean"
    best = tmp_path / "sum_out" / "best.pth"
    assert best.is_dir() and (best / "config.json").is_file() and (best / "summarization_config.json").is_file()


def test_wandb_agent_hands_the_same_configuration_to_w_and_b(tmp_path, monkeypatch):
    """W&B's server is out of reach here: its client is replaced by fakes that record what it is given."""
    import wandb

    from simple_ntc.sweep.trial_flags import trial_flags
    from simple_ntc.sweep.wandb_agent import run_wandb_agent

    config_path = sweep_yaml(tmp_path / "agent.yaml", {"lr": {"values": [0.01, 0.02]}}, n_epochs=1)
    calls: dict = {}

    class FakeRun:
        id, config, summary, logged = "run1", {"lr": 0.02}, {}, []

        def log(self, values, step):
            self.logged.append((step, values))

        def finish(self, exit_code=0):
            calls["exit_code"] = exit_code

    run = FakeRun()
    monkeypatch.setattr(wandb, "sweep", lambda config, entity, project: calls.update(config=config) or "abc123")
    monkeypatch.setattr(wandb, "agent", lambda sweep_id, function, entity, project, count: function())
    monkeypatch.setattr(wandb, "init", lambda: run)
    config = load_sweep_config(config_path)
    run_wandb_agent(config, trial_flags(config), tmp_path / "out", 1, True, log=lambda line: None)
    assert calls["config"] == yaml.safe_load(config_path.read_text())
    assert [step for step, _ in run.logged] == [1] and set(run.logged[0][1]) == {"valid/loss", "valid/accuracy",
                                                                                  "valid/macro_f1"}
    assert run.summary["valid/accuracy"] == run.logged[0][1]["valid/accuracy"] and calls["exit_code"] == 0
    assert (tmp_path / "out" / "wandb-trials" / "run1" / "model.pth").is_file()


def test_configurations_used_here_are_valid_w_and_b_sweeps(tmp_path):
    sweeps = pytest.importorskip("sweeps", reason="W&B's sweeps package (requirements-dev.txt) checks the schema")
    examples = [sweep_yaml(tmp_path / "a.yaml", {"lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
                                                 "batch_size": {"values": [32, 64]}, "n_layers": {"min": 1, "max": 3},
                                                 "dropout": {"distribution": "q_uniform", "min": 0, "max": 0.5,
                                                             "q": 0.1}, "cnn": {"value": True}},
                           method="bayes", early_terminate={"type": "hyperband", "min_iter": 2, "eta": 3}),
                *sorted((Path(__file__).resolve().parents[1] / "configs" / "sweeps").glob("*.yaml"))]
    for path in examples:
        raw = yaml.safe_load(path.read_text())
        assert sweeps.schema_violations_from_proposed_config(raw) == [], path
        load_sweep_config(path)  # and sweep.py reads it


def test_hyperband_steps_are_the_validations_of_the_longest_trial(tmp_path):
    from simple_ntc.sweep.study import pruner_arguments
    from simple_ntc.sweep.trial_flags import trial_flags

    config = load_sweep_config(sweep_yaml(tmp_path / "hb.yaml", {"n_epochs": {"values": [2, 5]}},
                                          fixed=[*TINY_CNN, "--rnn"], early_terminate={"type": "hyperband",
                                                                                       "min_iter": 1, "eta": 2}))
    assert pruner_arguments(config, trial_flags(config).max_validations) == {
        "min_resource": 1, "max_resource": 10, "reduction_factor": 2}  # 5 epochs, RNN then CNN
    config = load_sweep_config(sweep_yaml(tmp_path / "hb.yaml", {"lr": {"values": [0.1, 0.01]}},
                                          early_terminate={"type": "hyperband", "max_iter": 27, "s": 2}))
    assert pruner_arguments(config, trial_flags(config).max_validations) == {
        "min_resource": 3, "max_resource": 27, "reduction_factor": 3}


def test_w_and_b_distributions_become_optuna_ones(tmp_path):
    import math

    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    from simple_ntc.sweep.study import search_space

    config = load_sweep_config(sweep_yaml(tmp_path / "d.yaml", {
        "n_layers": {"min": 1, "max": 3},  # integer bounds: int_uniform, as W&B infers
        "dropout": {"min": 0, "max": 0.5},  # a float bound: uniform
        "lr": {"distribution": "log_uniform", "min": -9.21, "max": -4.6},  # W&B: natural-log exponents
        "weight_decay": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-2},
        "hidden_size": {"distribution": "q_uniform", "min": 32, "max": 128, "q": 32},
        "batch_size": {"values": [32, 64]},
        "seed": {"value": 1}}))
    space = search_space(config)
    assert list(space) == ["n_layers", "dropout", "lr", "weight_decay", "hidden_size", "batch_size"]  # not seed
    assert space["n_layers"] == IntDistribution(1, 3)
    assert space["dropout"] == FloatDistribution(0, 0.5)
    assert space["lr"].log and math.isclose(space["lr"].low, math.exp(-9.21))
    assert space["weight_decay"] == FloatDistribution(1e-5, 1e-2, log=True)
    assert space["hidden_size"] == IntDistribution(32, 128, step=32)
    assert space["batch_size"] == CategoricalDistribution([32, 64])
    hidden = next(p for p in config.parameters if p.name == "hidden_size")
    assert hidden.grid_values() == (32, 64, 96, 128)  # what a grid visits, as W&B's grid does


def test_rnn_cnn_trial_scores_the_ensemble_train_py_reports(tmp_path):
    import torch

    config = sweep_yaml(tmp_path / "ens.yaml", {"lr": {"values": [0.01]}, "dropout": {"values": [0.1]}},
                        method="grid", n_epochs=1, fixed=[*TINY_CNN, "--rnn", "--hidden_size", "8", "--n_layers", "1"])
    code, lines = sweep(config, tmp_path / "out")
    row = rows(tmp_path / "out")[0]
    report = torch.load(row["model"], weights_only=True)["report"]["valid"]
    assert code == 0 and set(report) == {"rnn", "cnn", "ensemble"}
    assert float(row["valid/accuracy"]) == pytest.approx(report["ensemble"]["accuracy"])
    steps = [json.loads(line)["step"] for line in (tmp_path / "out" / "trials" / "0000" / "validations.jsonl")
             .read_text().splitlines()]
    assert steps == [1, 2]  # the CNN's validation continues the RNN's count
