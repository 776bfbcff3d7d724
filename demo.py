#!/usr/bin/env python
"""The embedded-default demo behind ``make demo``: train, then use, each kind of model.

Uses the real datasets in ../shared/data when they are there, else the project's own small
fixtures, and says which. Needs no account and no download; writes under ``outputs/demo``.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"


def data_dir() -> Path | None:
    path = Path(os.environ.get("SIMPLE_NTC_DATA", DEFAULT_DATA))
    return path if path.is_dir() else None


def run(command: list[str], stdin: Path | None = None, stdout: Path | None = None) -> None:
    shown = " ".join(shlex.quote(c) for c in command)
    shown += f" < {stdin}" if stdin else ""
    shown += f" > {stdout}" if stdout else ""
    print(f"\n$ {shown}", flush=True)
    started = time.time()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as fin, \
            open(stdout, "wb") if stdout else open(os.devnull, "wb") as fout:
        result = subprocess.run(command, cwd=ROOT, stdin=fin, stdout=fout if stdout else None)
    if result.returncode != 0:
        sys.exit(f"demo step failed with exit code {result.returncode}: {shown}")
    print(f"({time.time() - started:.0f}s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("classification", "summarization"), help="run one part of the demo")
    parser.add_argument("--workdir", default=str(ROOT / "outputs" / "demo"), help="where models and outputs go")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    data = data_dir()
    print(f"data: {data} (real datasets)" if data else
          "data: ../shared/data not found, using the project's own fixtures in tests/fixtures", flush=True)
    parts = []
    if args.only in (None, "classification"):
        from simple_ntc.demo import demo_steps as classification_steps
        parts.append(classification_steps)
    if args.only in (None, "summarization"):
        from chat_summarization.demo import demo_steps as summarization_steps
        parts.append(summarization_steps)
    for steps in parts:
        for step in steps(workdir, data, sys.executable):
            run(**step)


if __name__ == "__main__":
    main()
