"""A user's own model class from a file the config names (``model.type: file.py:Class``):
it trains, passes gradcheck, and errors in the user's file are one line naming file and line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fitcli import config as C
from fitcli.cli import app
from fitcli.errors import ConfigError
from fitcli.models.user import UserCodeError

CONFIGS = Path(__file__).resolve().parents[3] / "configs"
runner = CliRunner()


@pytest.fixture
def folder(tmp_path):
    """The example's model file and config copied to a folder of their own."""
    shutil.copy(CONFIGS / "user_models.py", tmp_path / "user_models.py")
    shutil.copy(CONFIGS / "user_model.yaml", tmp_path / "user_model.yaml")
    return tmp_path


def _error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_the_example_trains_and_recovers_the_constants(folder):
    out = folder / "run"
    result = runner.invoke(app, ["train", str(folder / "user_model.yaml"), "--out", str(out),
                                 "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    fitted = summary["final_metrics"]["fitted"] if "final_metrics" in summary else \
        summary["metrics"]["fitted"]
    assert abs(fitted["omega"] - 2.0) < 0.01 and abs(fitted["decay"] - 0.3) < 0.02


def test_gradcheck_passes_on_the_user_model(folder):
    result = runner.invoke(app, ["gradcheck", str(folder / "user_model.yaml")])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output


def test_the_class_options_are_its_yaml_options(folder):
    cfg = C.load(folder / "user_model.yaml", ["model.omega_guess=2.5"])
    assert cfg.model == {"omega_guess": 2.5, "decay_guess": 0.1}
    with pytest.raises(ConfigError, match="did you mean 'omega_guess'"):
        C.load(folder / "user_model.yaml", ["model.omega_gues=2"])


@pytest.mark.parametrize("source, expected", [
    ("import numpy as np\n\nx = undefined_name + 1\n",
     "error: model.type: user_models.py:3: NameError: name 'undefined_name' is not defined"),
    ("def f(:\n    pass\n", "error: model.type: user_models.py:1: SyntaxError: invalid syntax"),
])
def test_an_error_in_the_users_file_is_one_line_with_file_and_line(folder, source, expected):
    (folder / "user_models.py").write_text(source)
    assert _error_line(runner.invoke(app, ["validate", str(folder / "user_model.yaml")])) \
        == expected


def test_an_error_in_the_users_forward_names_their_line(folder):
    path = folder / "user_models.py"
    text = path.read_text()
    path.write_text(text.replace('params["omega"] * t', 'params["omegga"] * t'))
    line = 1 + text[:text.index('params["omega"] * t')].count("\n")
    result = runner.invoke(app, ["train", str(folder / "user_model.yaml"), "--out",
                                 str(folder / "run")])
    assert f"error: model.type: user_models.py:{line}: KeyError: 'omegga'" in result.output
    assert "Traceback" not in result.output and result.exit_code == 2


def test_a_missing_class_suggests_the_closest_model_class(folder):
    raw = C.read_config(folder / "user_model.yaml")
    raw["model"]["type"] = "user_models.py:DampedOscilator"
    with pytest.raises(ConfigError, match="did you mean 'DampedOscillator'"):
        C.resolve(raw, folder)


def test_a_missing_file_is_one_line(folder):
    raw = C.read_config(folder / "user_model.yaml")
    raw["model"]["type"] = "models/nothere.py:Quadratic"
    with pytest.raises(ConfigError, match=r"model\.type: .*relative to the config's folder"):
        C.resolve(raw, folder)


def test_the_file_is_found_relative_to_the_config_not_the_working_directory(folder, tmp_path,
                                                                             monkeypatch):
    monkeypatch.chdir(CONFIGS.parent)       # configs/user_models.py is NOT the one loaded
    (folder / "user_models.py").write_text("raise RuntimeError('the copy')\n")
    with pytest.raises(UserCodeError, match="user_models.py:1: RuntimeError: the copy"):
        C.load(folder / "user_model.yaml")
