"""Every config shipped in configs/ runs at tiny size (the model kind's ``tiny`` overrides)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fitcli import config as C
from fitcli.cli import app

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def tiny_overrides(path: Path) -> list[str]:
    """--set arguments: the model kind's tiny overrides, a few iterations, log every one."""
    cfg = C.load(path)
    sets = {**cfg.model_cls.tiny, "optimizer.iterations": 3, "output.every": 1,
            "output.checkpoint_every": 2}
    per_stage = getattr(cfg.model_cls, "per_stage_iterations", None)
    if per_stage:             # registration: 3 iterations over its two tiny levels
        assert sets["model.levels"] == 2
        sets[f"model.{per_stage}"] = [1, 2]
        del sets["optimizer.iterations"]
    return [f"{k}={json.dumps(v)}" for k, v in sets.items()]


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_runs_at_tiny_size(path, tmp_path):
    args = ["train", str(path), "--out", str(tmp_path / "run"), "--quiet"]
    for s in tiny_overrides(path):
        args += ["--set", s]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "done" and summary["iterations"] == 3
    for name in ("config.yaml", "metrics.csv", "checkpoint.npz"):
        assert (tmp_path / "run" / name).exists()


def test_configs_are_found():
    assert {"mlp_digits", "mlp_spirals"} <= {p.stem for p in CONFIGS}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_schema_accepts_every_shipped_config(path):
    jsonschema = pytest.importorskip("jsonschema")
    from fitcli.schema import json_schema

    errors = list(jsonschema.Draft7Validator(json_schema()).iter_errors(C.read_config(path)))
    assert not errors, [e.message for e in errors]
