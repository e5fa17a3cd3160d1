"""The CLI through typer's CliRunner (and a subprocess for SIGINT)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fitcli.cli import app

runner = CliRunner()
CONFIG = {
    "name": "tiny",
    "seed": 1,
    "data": {"dataset": "spirals", "samples": 100},
    "model": {"type": "mlp", "hidden": [5]},
    "regularization": [{"type": "l2", "weight": 1.0e-3}],
    "optimizer": {"type": "gd", "step": 0.5, "iterations": 12},
    "output": {"every": 4, "checkpoint_every": 5},
}


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_train_writes_the_run_folder(config):
    r = invoke("train", config)
    assert r.exit_code == 0, r.output
    run = Path("runs/tiny")
    for name in ("config.yaml", "metrics.csv", "summary.json", "checkpoint.npz", "loss.png",
                 "predictions.csv"):
        assert (run / name).exists(), name
    assert "objective: mean logistic(f(x; θ), y) + 0.001·½‖θ‖²" in r.stdout
    assert "iter      4/12" in r.stdout                   # plain lines: not a terminal
    assert json.loads((run / "summary.json").read_text())["status"] == "done"
    # an existing run folder is never overwritten: a numbered sibling, and we say so
    r = invoke("train", config, "--quiet")
    assert r.exit_code == 0 and Path("runs/tiny-2/summary.json").exists()
    assert "writing to runs/tiny-2" in r.stderr
    assert "iter " not in r.stdout and "done:" in r.stdout


def test_out_seed_and_set(config):
    r = invoke("train", config, "--out", "o", "--seed", "5", "--set", "optimizer.iterations=3",
               "--set", "model.hidden=[3, 2]", "-q")
    assert r.exit_code == 0, r.output
    resolved = yaml.safe_load(Path("o/config.yaml").read_text())
    assert resolved["seed"] == 5 and resolved["model"]["hidden"] == [3, 2]
    assert json.loads(Path("o/summary.json").read_text())["iterations"] == 3
    r = invoke("train", config, "--out", "o")             # not empty: refuse
    assert r.exit_code == 2 and "--out o: exists and is not empty" in r.stderr


BAD = [
    ("modle: {type: mlp}\n", "modle: expected a known key (did you mean 'model'?)"),
    ("optimizer: {type: gd, iterations: ten}\n",
     "optimizer.iterations: expected a positive integer, got 'ten'"),
    ("optimizer: {type: gd, iterations: -3}\n", "optimizer.iterations: expected a positive"),
    ("model: {type: perceptron}\n", "model.type: expected one of mlp"),
    ("optimizer: {type: gd, batch_size: 8}\n", "optimizer.batch_size: expected a known key"),
    ("model: {type: mlp, hidden: [5], depth: 3}\n", "model.depth: expected a known key"),
    ("data: {dataset: missing.csv}\n", "data.dataset: file not found"),
    ("seed: 1\nseed: 2\n", "duplicate key 'seed'"),
    ("model: [unclosed\n", "invalid YAML"),
    ("loss: logistik\n", "did you mean 'logistic'?"),
    ("optimizer: {type: adamm}\n", "optimizer.type: expected one of gd"),
    ("data: {dataset: digitz}\n", "data.dataset: expected one of digits"),
    ("output: {every: 0}\n", "output.every: expected a positive integer, got 0"),
    ("data: {dataset: spirals, validation: 2}\n", "data.validation: expected a fraction"),
    ("regularization: [{type: l2, weight: heavy}]\n", "regularization[0].weight"),
]


@pytest.mark.parametrize("patch, expected", BAD)
def test_bad_configs_exit_2_with_one_line(config, patch, expected):
    raw = yaml.safe_load(config.read_text())
    key = patch.split(":")[0]
    text = "\n".join(f"{k}: {json.dumps(v)}" for k, v in raw.items() if k != key) + "\n" + patch
    config.write_text(text)
    for command in ("train", "validate"):
        r = invoke(command, config)
        assert r.exit_code == 2, (command, r.output)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
        assert expected in lines[0], lines[0]
        assert "Traceback" not in r.output


def test_missing_config_file(config):
    r = invoke("train", "nope.yaml")
    assert r.exit_code == 2 and "nope.yaml: config file not found" in r.stderr


def test_validate_prints_the_resolved_config(config):
    r = invoke("validate", config, "--set", "optimizer.step=1e-2")
    assert r.exit_code == 0, r.output
    body = yaml.safe_load(r.stdout)
    assert body["optimizer"]["step"] == 0.01 and body["model"]["activation"] == "tanh"
    assert "# valid:" in r.stdout and not Path("runs").exists()


def test_list_and_schema(config):
    r = invoke("list")
    assert r.exit_code == 0
    for word in ("models", "mlp", "logistic", "huber", "spirals", "l2", "gd", "sgd"):
        assert word in r.stdout
    r = invoke("list", "losses")
    assert r.exit_code == 0 and "delta=1.0" in r.stdout and "mlp" not in r.stdout
    r = invoke("list", "modles")
    assert r.exit_code == 2 and "did you mean 'models'?" in r.stderr
    r = invoke("schema")
    schema = json.loads(r.stdout)
    assert schema["properties"]["model"]["oneOf"][0]["properties"]["type"]["const"] == "mlp"


def test_gradcheck_config(config):
    r = invoke("gradcheck", config)
    assert r.exit_code == 0, r.output
    # 4 blocks and the l2 term alone on each, at the initial and a random point
    assert "16 passed, 0 failed" in r.stdout and "W1" in r.stdout
    assert invoke("gradcheck").exit_code == 2


def test_divergence_exits_1(config):
    r = invoke("train", config, "--set", "optimizer.step=1e300", "--out", "d")
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("error: diverged: non-finite") and "iteration" in r.stderr
    assert json.loads(Path("d/summary.json").read_text())["status"] == "diverged"


def test_resume_through_the_cli_is_bitwise(config):
    assert invoke("train", config, "--out", "a", "--set", "optimizer.iterations=200",
                  "-q").exit_code == 0
    assert invoke("train", config, "--out", "b", "--set", "optimizer.iterations=120",
                  "-q").exit_code == 0
    r = invoke("train", "--resume", "b", "--set", "optimizer.iterations=200", "-q")
    assert r.exit_code == 0, r.output
    with np.load("a/checkpoint.npz") as a, np.load("b/checkpoint.npz") as b:
        np.testing.assert_array_equal(a["x"], b["x"])
    assert invoke("train", "--resume", "nowhere").exit_code == 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_writes_a_checkpoint_and_exits_130(config, tmp_path, sig):
    cfg = dict(CONFIG, optimizer={"type": "gd", "step": 0.1, "iterations": 10 ** 7},
               output={"every": 1, "checkpoint_every": 10 ** 6})
    config.write_text(yaml.safe_dump(cfg))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-c", "from fitcli.cli import app; app()",
                             "train", str(config), "--out", "s"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "s" / "metrics.csv"
    deadline = time.time() + 60
    while time.time() < deadline:
        if metrics.exists() and len(metrics.read_text().splitlines()) > 5:
            break
        time.sleep(0.05)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "checkpoint saved" in out
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["status"] == "interrupted" and sig.name in summary["stop_reason"]
    with np.load(tmp_path / "s" / "checkpoint.npz") as ck:
        assert int(ck["loop.iteration"]) == summary["iterations"] > 0
    r = invoke("train", "--resume", tmp_path / "s", "--set", "optimizer.iterations="
               + str(summary["iterations"] + 3), "-q")
    assert r.exit_code == 0, r.output


def test_compare_and_graph(config):
    r = invoke("compare", config, "--optimizers", "gd,lbfgs", "--iterations", "5", "--out", "c")
    assert r.exit_code == 0, r.output
    assert Path("c/compare.png").exists()
    runs = json.loads(Path("c/compare.json").read_text())["runs"]
    assert [row["optimizer"] for row in runs] == ["gd", "lbfgs"]
    r = invoke("compare", config, "--optimizers", "gd,nope", "--out", "c2")
    assert r.exit_code == 2 and r.stderr.startswith("error: ")
    r = invoke("graph", config, "--out", "g/objective.dot")
    assert r.exit_code == 0, r.output
    assert "matmul 2" in r.stdout and Path("g/objective.dot").read_text().startswith("digraph")


def test_solve_and_sample_refuse_the_wrong_kind(config):
    r = invoke("solve", config)
    assert r.exit_code == 2 and "fitcli solve" in r.stderr
    invoke("train", config, "--out", "m", "-q")
    r = invoke("sample", "m")
    assert r.exit_code == 2 and "not a character-level rnn run" in r.stderr


def test_bench_is_a_command_group():
    r = invoke("bench", "complexity", "--help")
    assert r.exit_code == 0 and "finite differences" in r.stdout


def test_solve_sweep_marks_the_best_value(tmp_path, monkeypatch, configs_dir):
    monkeypatch.chdir(tmp_path)
    cfg = configs_dir / "superres_phantom_tv.yaml"
    r = invoke("solve", str(cfg), "--set", "data.size=32", "--set", "optimizer.iterations=5",
               "--sweep", "regularization.0.weight=1e-3,1e-1", "--out", "s")
    assert r.exit_code == 0, r.output
    assert "best" in r.stdout and Path("s/sweep.csv").exists() and Path("s/sweep.png").exists()
    r = invoke("solve", str(cfg), "--sweep", "nonsense", "--out", "s2")
    assert r.exit_code == 2 and "--sweep" in r.stderr


def test_gradcheck_modes(config):
    r = invoke("gradcheck", config, "--mode", "all")
    assert r.exit_code == 0, r.output
    assert "jvp" in r.stdout and "full" in r.stdout
    r = invoke("gradcheck", config, "--mode", "sideways")
    assert r.exit_code == 2 and "--mode" in r.stderr


def test_registration_solve_sigint_then_resume_is_bitwise_equal(tmp_path):
    """`fitcli solve` on a registration config: SIGINT in the second level saves a
    checkpoint and exits 130; `--resume` ends on the displacement of an uninterrupted run."""
    cfg = {"name": "reg", "seed": 0,
           "data": {"image": "camera", "resize": 96,
                    "deformation": {"type": "smooth_random", "magnitude": 2.0}},
           "model": {"type": "registration", "levels": 3, "iterations": [40, 300, 300]},
           "loss": "ssd", "regularization": [{"type": "diffusion", "weight": 0.05}],
           "optimizer": {"type": "lbfgs"},
           "output": {"every": 1, "checkpoint_every": 10 ** 6, "plot": False}}
    path = tmp_path / "reg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-c", "from fitcli.cli import app; app()", "solve", str(path)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    full = subprocess.run(cmd + ["--out", "full", "-q"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert full.returncode == 0, full.stderr
    proc = subprocess.Popen(cmd + ["--out", "part"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics, deadline = tmp_path / "part" / "metrics.csv", time.time() + 120
    while time.time() < deadline:      # wait for a row of the second level (stage 1)
        lines = metrics.read_text().splitlines() if metrics.exists() else []
        if len(lines) > 1 and any(ln.split(",")[lines[0].split(",").index("stage")] == "1"
                                  for ln in lines[1:]):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert out.startswith("objective: ½Σ(moving ∘ φ − fixed)²") and "checkpoint saved" in out
    summary = json.loads((tmp_path / "part" / "summary.json").read_text())
    assert summary["status"] == "interrupted" and "SIGINT" in summary["stop_reason"]
    with np.load(tmp_path / "part" / "checkpoint.npz") as ck:
        assert int(ck["loop.stage"]) >= 1
    r = subprocess.run(cmd[:4] + ["--resume", "part", "-q"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "done: " in r.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "part" / "displacement.npy"),
                                  np.load(tmp_path / "full" / "displacement.npy"))
