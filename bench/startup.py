#!/usr/bin/env python
"""Start-up of classify.py (``echo x | classify.py``) per model, beside what Python and its imports cost.

    python bench/startup.py --model_fn models/nsmc_bpe.pth models/nsmc_kiwi.pth models/nsmc_bpe.onnx

Each command runs --repeats times in a fresh process; printed: the median wall time and CPU time
(user + system, which a busy machine inflates less than wall time). The floors: an empty Python,
``import torch`` (what classify.py pays for a ``.pth`` model file), and for an export.py output the
imports plus graph loading of ONNX Runtime alone (onnxruntime, tokenizers, numpy): classify.py serves
RNN/CNN exports without importing PyTorch, so it should start close to that floor.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_note  # noqa: E402

ORT_FLOOR = """
import sys, onnxruntime, tokenizers, numpy
from pathlib import Path
path = Path(sys.argv[1])
for f in (sorted(path.glob('*.onnx')) if path.is_dir() else [path]):
    onnxruntime.InferenceSession(str(f), providers=['CPUExecutionProvider'])
"""


def measure(command: list[str], stdin: str, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``command`` (fresh process each time)."""
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        process = subprocess.run(command, input=stdin, text=True, capture_output=True, cwd=ROOT)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if process.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{process.stderr[-2000:]}")
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_fn", nargs="+", required=True, help="model files (.pth) or export.py outputs")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    python = sys.executable
    rows = [("python -c pass", [python, "-c", "pass"], ""),
            ("python -c 'import torch'", [python, "-c", "import torch"], "")]
    for model in args.model_fn:
        rows.append((f"echo x | classify.py --model_fn {model}", [python, "classify.py", "--model_fn", model], "x\n"))
        if model.endswith(".onnx"):
            rows.append((f"floor without torch: onnxruntime + tokenizers + numpy + {Path(model).name}",
                         [python, "-c", ORT_FLOOR, model], ""))
    print(f"{machine_note()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; median of {args.repeats}")
    for name, command, stdin in rows:
        wall, cpu = measure(command, stdin, args.repeats)
        print(f"{wall:6.2f} s wall {cpu:6.2f} s CPU  {name}", flush=True)


if __name__ == "__main__":
    main()
