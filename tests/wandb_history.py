"""Read the metric series out of an offline W&B run file (``run-<id>.wandb``).

The file is a 7-byte W&B header followed by LevelDB-log framed protobuf ``Record``s.
"""
from __future__ import annotations

import json
import struct
import time
from collections import defaultdict
from pathlib import Path

from google.protobuf.message import DecodeError
from wandb.proto import wandb_internal_pb2

BLOCK = 32768
HEADER = 7  # ":W&B" magic, 2-byte ident, 1-byte version
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _records(data: bytes):
    pos, pending = HEADER, b""
    while pos + 7 <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < 7:  # block trailer padding
            pos += left_in_block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        payload = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == FULL:
            yield payload
        elif kind == FIRST:
            pending = payload
        elif kind == MIDDLE:
            pending += payload
        elif kind == LAST:
            yield pending + payload
            pending = b""
        elif kind == 0 and length == 0:
            pos += BLOCK - pos % BLOCK if pos % BLOCK else 0


def wait_for_exit_record(run_file: Path, timeout: float = 60.0) -> None:
    """W&B's service may still be writing the run file after ``finish()`` returns: wait for its end."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            for payload in _records(run_file.read_bytes()):
                record = wandb_internal_pb2.Record()
                record.ParseFromString(payload)
                if record.WhichOneof("record_type") == "exit":
                    return
        except DecodeError:  # a record still being written
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{run_file} has no exit record after {timeout}s")


def read_history(run_file: Path) -> dict[str, list[float]]:
    """Every logged key and its values in logging order."""
    series: dict[str, list[float]] = defaultdict(list)
    for payload in _records(run_file.read_bytes()):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        if record.WhichOneof("record_type") != "history":
            continue
        for item in record.history.item:
            key = item.key or "/".join(item.nested_key)
            value = json.loads(item.value_json)
            if isinstance(value, (int, float)):
                series[key].append(value)
    return dict(series)
