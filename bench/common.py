"""Helpers shared by the benchmarks: data location, timing and ratio printing."""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_data() -> Path | None:
    path = Path(os.environ.get("SIMPLE_NTC_DATA", ROOT.parent / "shared" / "data"))
    return path if path.is_dir() else None


def nsmc_texts_and_labels(limit: int | None = None) -> tuple[list[str], list[int], str]:
    """NSMC rows from ../shared/data when present, else the project's fixture; and which one it was."""
    data = shared_data()
    if data is not None and (data / "nsmc" / "ratings_test.head25k.txt").is_file():
        path = data / "nsmc" / "ratings_test.head25k.txt"
        rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
        texts, labels = [r[1] for r in rows], [int(r[2]) for r in rows]
    else:
        path = ROOT / "tests" / "fixtures" / "classification" / "sentiment_train.tsv"
        rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
        texts, labels = [r[1] for r in rows] * 50, [int(r[0] == "positive") for r in rows] * 50
    if limit:
        texts, labels = texts[:limit], labels[:limit]
    return texts, labels, str(path)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def machine_note() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"cpus={os.cpu_count()} load_avg_1min={load:.2f} (ratios are only meaningful on a quiet machine)"


def run_order(contenders: list[str], repeat: int) -> list[str]:
    """Contenders in turn, the order reversed every other round, so drift in machine speed hits all alike."""
    return contenders if repeat % 2 == 0 else contenders[::-1]


def median(values: list[float]) -> float:
    """The middle value (the upper one of an even count), the same rule for every contender."""
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def positive_int(text: str) -> int:
    """argparse type of a count such as ``--repeats``: a one-line usage error below 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
