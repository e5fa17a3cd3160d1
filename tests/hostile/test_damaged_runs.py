"""Issue 13: a damaged run folder on --resume or sample is one line naming the file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hostile_helpers import cli, one_line_error


def _rewrite(path: Path, change) -> None:
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    change(arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


def _crc(path: Path) -> None:
    data = bytearray(path.read_bytes())
    at = data.index(b"x.npy") + 200          # inside the parameters' stored bytes
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "zero-byte": lambda p: p.write_bytes(b""),
    "text": lambda p: p.write_text("not a checkpoint\n"),
    "crc": _crc,
    "no optimizer state": lambda p: _rewrite(p, lambda a: [a.pop(k) for k in list(a)
                                                           if k.startswith("opt.")]),
    "non-numeric iteration": lambda p: _rewrite(
        p, lambda a: a.__setitem__("loop.iteration", np.array("ten"))),
}


@pytest.mark.parametrize("how", list(DAMAGE))
def test_a_damaged_checkpoint(tiny, how):
    assert cli("train", tiny, "--out", "r", "-q")[0] == 0
    DAMAGE[how](Path("r/checkpoint.npz"))
    one_line_error(cli("train", "--resume", "r", "--set", "optimizer.iterations=9", "-q"),
                   "checkpoint.npz")


@pytest.mark.parametrize("content", [b"", b"garbage\nmore garbage\n", bytes(range(256)),
                                     b"iteration,loss\nten,1.0\n"])
def test_a_damaged_metrics_file(tiny, content):
    assert cli("train", tiny, "--out", "r", "-q")[0] == 0
    Path("r/metrics.csv").write_bytes(content)
    code, out, err = cli("train", "--resume", "r", "--set", "optimizer.iterations=9", "-q")
    if content:
        one_line_error((code, out, err), "metrics.csv")
    else:   # an empty file: nothing to keep, the run goes on with a fresh header
        assert code == 0, err
