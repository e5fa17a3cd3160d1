"""Issue 13: image/field regularizers on a model whose parameters are not images are a bad
config — `validate` refuses them, `train` refuses them before writing anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_helpers import cli, one_line_error, write_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["tv", "smooth_tv", "tikhonov", "sobolev", "bending",
                                  "diffusion"])
def test_image_regularizer_on_mlp(tiny, name):
    write_config(tiny, regularization=[{"type": name, "weight": 0.1}])
    one_line_error(cli("validate", tiny), "regularization[0].type", name)
    one_line_error(cli("train", tiny, "--out", "r"), "regularization[0].type")
    assert not Path("r").exists()      # nothing written: the rerun is not blocked
    write_config(tiny, regularization=[{"type": "l2", "weight": 0.1}])
    code, _, err = cli("train", tiny, "--out", "r", "-q")
    assert code == 0, err


@pytest.mark.parametrize("config, name", [
    ("rosenbrock.yaml", "tv"), ("rnn_sine.yaml", "sobolev"),
    ("registration_phantom.yaml", "tikhonov"),
])
def test_image_regularizer_on_other_kinds(tiny, config, name):
    one_line_error(cli("validate", ROOT / "configs" / config, "--set",
                       f"regularization=[{{type: {name}, weight: 0.1}}]"),
                   "regularization[0].type", name)


@pytest.mark.parametrize("config, name", [
    ("superres_phantom_tv.yaml", "tv"), ("superres_phantom_tv.yaml", "sobolev"),
    ("superres_phantom_tv.yaml", "l2"), ("registration_phantom.yaml", "tv"),
    ("registration_phantom.yaml", "bending"),
])
def test_the_kinds_they_belong_to_accept_them(config, name):
    from fitcli import config as C

    cfg = C.load(ROOT / "configs" / config,
                 [f"regularization=[{{type: {name}, weight: 0.1}}]"], None)
    assert cfg.regularization[0][0] == name


def test_a_build_failure_writes_nothing(tiny):
    data = {"dataset": "missing.csv"}
    write_config(tiny, data=data)
    one_line_error(cli("train", tiny, "--out", "r"), "missing.csv")
    assert not Path("r").exists()
