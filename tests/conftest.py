"""Shared test helpers: run the CLIs as a user would, and locate fixtures and real data."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):  # one pytest worker per core: each computes on one thread
    import torch

    torch.set_num_threads(1)
FIXTURES = ROOT / "tests" / "fixtures"
CLASSIFICATION = FIXTURES / "classification"


def shared_data() -> Path | None:
    """``../shared/data`` (or $SIMPLE_NTC_DATA) when present."""
    path = Path(os.environ.get("SIMPLE_NTC_DATA", ROOT.parent / "shared" / "data"))
    return path if path.is_dir() else None


def require_data(relative: str) -> Path:
    """A file of the real datasets, or skip the test saying what is missing."""
    base = shared_data()
    if base is None or not (base / relative).exists():
        pytest.skip(f"real data not available: ../shared/data/{relative} (set SIMPLE_NTC_DATA to its folder)")
    return base / relative


def run_cli(script: str, *args: object, stdin: str | bytes | None = None, timeout: float = 600,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a root CLI (``train.py``, ``classify.py``, ...) in a subprocess, capturing text output.

    ``stdin`` is text (UTF-8) or raw bytes; stdout and stderr come back as text.
    """
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_SILENT": "true", **(env or {})}
    raw = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    result = subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], input=raw,
                            capture_output=True, cwd=ROOT, timeout=timeout, env=full_env)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode("utf-8", "replace"),
                                       result.stderr.decode("utf-8", "replace"))


def assert_one_line_error(result: subprocess.CompletedProcess, expected: str) -> None:
    """Exit code 2 and a single ``<prog>: error: ...`` line on stderr containing ``expected``."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert ": error: " in lines[0] and expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server or a process group under test)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
