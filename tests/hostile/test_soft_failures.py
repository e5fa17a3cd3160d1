"""Issue 13: a run that ends far above where it started is not reported as a plain
success — a warning in summary.json and on the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_helpers import cli

L1 = "regularization=[{type: l1, weight: 0.001}]"


@pytest.mark.parametrize("optimizer, step", [("adam", 1e3), ("heavy_ball", 1e3),
                                             ("fista", 1e6)])
def test_a_loss_that_rose_is_a_warning(tiny, optimizer, step):
    code, out, err = cli("train", tiny, "--set", f"optimizer.type={optimizer}", "--set",
                         f"optimizer.step={step}", "--set", "optimizer.iterations=30",
                         "--set", L1, "--out", "r", "-q")
    assert code == 0, err
    summary = json.loads(Path("r/summary.json").read_text())
    assert summary["loss"] > 10
    rose = [w for w in summary["warnings"] if "far above where it started" in w]
    assert len(rose) == 1, summary["warnings"]
    assert "warning: the loss ended at" in err and "far above" in err


def test_a_good_fit_has_no_such_warning(tiny):
    code, _, err = cli("train", tiny, "--out", "r", "-q")
    assert code == 0, err
    summary = json.loads(Path("r/summary.json").read_text())
    assert not any("far above" in w for w in summary["warnings"])
    assert "warning" not in err
