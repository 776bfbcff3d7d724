#!/usr/bin/env python
"""The embedded-default demo behind ``make demo``: train, then use, each kind of model.

Uses the real datasets in ../shared/data when they are there, else the project's own small
fixtures, and says which. Needs no account and no download; writes under ``outputs/demo``.
Each command's full output goes to a log file next to its models; the screen gets a short summary
per part (what was trained on what, its scores beside a trivial baseline, a few predictions).
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"


def data_dir() -> Path | None:
    path = Path(os.environ.get("SIMPLE_NTC_DATA", DEFAULT_DATA))
    return path if path.is_dir() else None


def shown(command: list[str], stdin: Path | None, stdout: Path | None) -> str:
    text = " ".join(shlex.quote(str(c)) for c in command)
    return text + (f" < {stdin}" if stdin else "") + (f" > {stdout}" if stdout else "")


def run(workdir: Path, number: str, env: dict[str, str], command: list[str] | None = None,
        stdin: Path | None = None, stdout: Path | None = None, quiet: bool = False,
        show: Callable[[], list[str]] | None = None, title: str | None = None) -> list[str]:
    """One step: a command (its output into ``<workdir>/logs/``, and also on the screen unless ``quiet``),
    then the lines ``show()`` returns. Returns what to print; a failing command stops the demo, naming its log."""
    lines = [f"\n== {title}"] if title else []
    if command:
        log = workdir / "logs" / f"step{number}_{Path(command[1]).stem}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        started = time.time()
        with open(stdin, "rb") if stdin else open(os.devnull, "rb") as fin, open(log, "wb") as flog, \
                open(stdout, "wb") if stdout else open(os.devnull, "wb") as fout:
            result = subprocess.run(command, cwd=ROOT, stdin=fin, stdout=fout if stdout else flog, stderr=flog,
                                    env=env)
        lines.append(f"   $ {shown(command, stdin, stdout)}   ({time.time() - started:.0f} s, log: {log})")
        if not quiet and not stdout:
            lines += ["   " + line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()]
        if result.returncode != 0:
            sys.exit("\n".join(lines) + f"\ndemo step failed with exit code {result.returncode}; see {log}")
    return lines + [f"   {line}" for line in (show() if show else [])]


def run_part(workdir: Path, index: int, steps: list[dict], env: dict[str, str]) -> list[str]:
    lines = []
    for number, step in enumerate(steps, start=1):
        lines += run(workdir, f"{index}{number}", env, **step)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("classification", "summarization"), help="run one part of the demo")
    parser.add_argument("--workdir", default=str(ROOT / "outputs" / "demo"), help="where models, outputs and logs go")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="parts run side by side, each on cores / jobs threads (default: one per core)")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    data = data_dir()
    print(f"data: {data} (real datasets)" if data else
          "data: ../shared/data not found, using the project's own fixtures in tests/fixtures", flush=True)
    part_builders = []
    if args.only in (None, "classification"):
        from simple_ntc.demo import demo_steps, plm_demo_steps
        part_builders += [demo_steps, plm_demo_steps]
    if args.only in (None, "summarization"):
        from chat_summarization.demo import demo_steps as summarization_steps
        part_builders.append(summarization_steps)
    parts = [build(workdir, data, sys.executable) for build in part_builders]
    jobs = max(1, min(args.jobs, len(parts)))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    print(f"running {len(parts)} parts, {jobs} at a time ({threads} torch thread(s) each); each part's summary "
          "appears when it is done", flush=True)
    started = time.time()
    with ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(run_part, workdir, index, steps, env) for index, steps in enumerate(parts, start=1)]
        for future in futures:
            print("\n".join(future.result()), flush=True)
    print(f"\ndemo done in {time.time() - started:.0f} s; models, outputs and logs are under {workdir}")

if __name__ == "__main__":
    main()
