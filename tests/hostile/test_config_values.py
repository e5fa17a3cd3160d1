"""Issue 13: NaN and infinity are bad config values (exit 2 naming the field), not a fit
that later 'diverges'; a validation fraction must leave training samples."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hostile_helpers import cli, one_line_error

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("setting, field", [
    ("model.start=[.nan,1]", "model.start"),
    ("model.start=[1,1e400]", "model.start"),
    ("model.a=.nan", "model.a"),
    ("model.b=.inf", "model.b"),
    ("model.b=-inf", "model.b"),
])
def test_rosenbrock_nonfinite(tiny, setting, field):
    cfg = ROOT / "configs" / "rosenbrock.yaml"
    one_line_error(cli("validate", cfg, "--set", setting), field)
    one_line_error(cli("train", cfg, "--set", setting, "--out", "r"), field)
    assert not Path("r").exists()


@pytest.mark.parametrize("setting, field", [
    ("data.noise=.nan", "data.noise"),
    ("data.noise=.inf", "data.noise"),
    ("data.dataset=moons", None),
    ("optimizer.step=.nan", "optimizer.step"),
])
def test_tabular_nonfinite(tiny, setting, field):
    if field is None:   # moons with a NaN noise
        one_line_error(cli("validate", tiny, "--set", setting, "--set", "data.noise=nan"),
                       "data.noise")
    else:
        one_line_error(cli("validate", tiny, "--set", setting), field)


def test_infinite_default_accepts_infinity():
    """The one exception: an option whose default is infinite (a bound) may be set so."""
    from fitcli.config import resolve_options

    def fn(*, hi: float = math.inf, lo: float = 0.0):
        pass

    assert resolve_options({"hi": "inf"}, fn, "x")["hi"] == math.inf
    assert resolve_options({"hi": float("inf")}, fn, "x")["hi"] == math.inf
    with pytest.raises(Exception, match="x.lo"):
        resolve_options({"lo": float("-inf")}, fn, "x")
    with pytest.raises(Exception, match="x.hi"):
        resolve_options({"hi": float("nan")}, fn, "x")


@pytest.mark.parametrize("config, setting", [
    (None, "data.validation=0.9999"),
    ("rnn_sine.yaml", "data.validation=0.9999"),
])
def test_validation_leaves_training_samples(tiny, config, setting):
    cfg = tiny if config is None else ROOT / "configs" / config
    one_line_error(cli("validate", cfg, "--set", setting), "data.validation", "training")
    one_line_error(cli("train", cfg, "--set", setting, "--out", "r"), "data.validation")
