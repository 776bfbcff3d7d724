#!/usr/bin/env python
"""Scores of every ensemble of the models in one model file, on the valid/test splits it was trained with.

    python bench/ensemble_subsets.py --model_fn models/nsmc_all.pth

train.py reports each model and the ensemble of all of them; this answers which members earn their
place (e.g. RNN+CNN vs RNN+CNN+linear) without training again. The splits are rebuilt from the
training config saved in the model file (files, hold-out ratios, seed), so a held-out test split is
the same one train.py scored; the TF-IDF baseline of that run is printed as the last row. Each subset of
several members appears twice: the plain mean, and (``, weighted``) the weighted mean with weights fitted
on valid as ``train.py --ensemble_weights valid`` fits them (so its valid row is optimistic; test is not;
train.py keeps them only where their valid score is at least the plain mean's).
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simple_ntc.baseline import format_scoreboard  # noqa: E402
from simple_ntc.data.corpus import CorpusFormat  # noqa: E402
from simple_ntc.data.splits import load_splits  # noqa: E402
from simple_ntc.errors import run_cli  # noqa: E402
from simple_ntc.evaluate import summary_of  # noqa: E402
from simple_ntc.model_file import load_model_file  # noqa: E402
from simple_ntc.ensemble import fit_weights, format_weights, mean_probabilities, targets_of  # noqa: E402
from simple_ntc.predict import is_regression, load_predictor  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_fn", required=True, help="a model file written by train.py")
    args = parser.parse_args()
    data = load_model_file(args.model_fn)
    config = argparse.Namespace(**data["config"])
    splits = load_splits(config.train_fn, CorpusFormat.from_args(config, config.multi_label), config.valid_fn,
                         config.test_fn, config.valid_ratio, config.test_ratio, config.seed, config.skip_bad_lines,
                         known_labels_only=not getattr(config, "regression", False))
    predictor = load_predictor(args.model_fn)
    names = predictor.model_names
    results, weights = {}, {}
    for split, examples in (("valid", splits.valid), ("test", splits.test)):
        if not examples:
            continue
        probs = predictor.probabilities([e.text for e in examples],
                                        [e.text_pair or "" for e in examples] if predictor.pair else None)
        results[split] = {}
        for size in range(1, len(names) + 1):
            for subset in itertools.combinations(names, size):
                chosen = {name: probs[name] for name in subset}
                results[split]["+".join(subset)] = summary_of(predictor, examples, mean_probabilities(
                    list(chosen.values())))
                if size > 1 and splits.valid:
                    if split == "valid":  # weights fitted on valid, as train.py does, then applied to test
                        weights[subset] = fit_weights(chosen, *targets_of(predictor, examples))
                    results[split]["+".join(subset) + ", weighted"] = summary_of(predictor, examples, mean_probabilities(
                        list(chosen.values()), list(weights[subset].values())))
    baseline = data.get("baseline")
    print(f"{args.model_fn}: {len(splits.valid)} valid, {len(splits.test)} test examples; "
          f"ensembles are means of the members' {'predictions' if is_regression(predictor) else 'probabilities'}")
    for subset, chosen in weights.items():
        print(f"  weights of {'+'.join(subset)}, chosen on valid: {format_weights(chosen)}")
    print(format_scoreboard(results, baseline, baseline_member="linear" in names))
    return 0


if __name__ == "__main__":
    run_cli(main)
