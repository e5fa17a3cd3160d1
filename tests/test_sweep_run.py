"""`fitcli sweep` end to end: executors agree, resume, interrupt, failures, the lock,
solve --sweep's equivalence, the CLI."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fitcli.api import sweep
from fitcli.errors import FitcliError
from fitcli.sweep.executors import make_executor

ROOT = Path(__file__).resolve().parents[1]
SPIRALS = ROOT / "configs" / "mlp_spirals.yaml"
SMALL = {"data.samples": 200, "optimizer.iterations": 15}
GRID = {"model.hidden": [[4], [8]], "regularization.0.weight": [1e-5, 1e-3, 1e-1]}
METRICS = ("trial", "model.hidden", "regularization.0.weight", "status", "val_accuracy",
           "loss", "train_accuracy", "val_loss", "best")


def _csv(folder: Path, cols=METRICS) -> list[tuple]:
    with (folder / "sweep.csv").open() as f:
        return [tuple(r[c] for c in cols) for r in csv.DictReader(f)]


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    out = tmp_path_factory.mktemp("seq") / "sw"
    table = sweep(SPIRALS, grid=GRID, overrides=SMALL, out=out)
    return out, table


def test_a_grid_writes_trials_table_and_best(sequential):
    out, table = sequential
    assert len(table.rows) == 6 and table.metric == "val_accuracy" and table.mode == "max"
    assert all(r["status"] == "done" for r in table.rows)
    best = max(range(6), key=lambda i: table.rows[i]["val_accuracy"])
    assert table.rows[table.best]["val_accuracy"] == table.rows[best]["val_accuracy"]
    rows = _csv(out)
    assert [r[-1] for r in rows].count("1") == 1 and rows[table.best][-1] == "1"
    assert json.loads((out / "best.json").read_text())["trial"] == table.rows[table.best]["trial"]
    trial = out / "trial-0004"                 # an ordinary run folder, its own config
    cfg = (trial / "config.yaml").read_text()
    assert "- 8" in cfg and "weight: 0.001" in cfg
    assert json.loads((trial / "summary.json").read_text())["status"] == "done"
    assert (out / "sweep.png").stat().st_size > 0 and (out / "best").is_symlink()


def test_a_process_pool_gives_the_same_table(sequential, tmp_path):
    out, _ = sequential
    ex = make_executor(workers=2)
    try:
        sweep(SPIRALS, grid=GRID, overrides=SMALL, out=tmp_path / "pool", executor=ex)
    finally:
        ex.close()
    assert _csv(tmp_path / "pool") == _csv(out)


def test_dask_local_cluster_gives_the_same_table(sequential, tmp_path):
    pytest.importorskip("distributed")
    out, _ = sequential
    ex = make_executor(dask_workers=2)
    try:
        sweep(SPIRALS, grid=GRID, overrides=SMALL, out=tmp_path / "dask", executor=ex)
    finally:
        ex.close()
    assert _csv(tmp_path / "dask") == _csv(out)


def test_a_rerun_skips_finished_trials_and_a_changed_sweep_is_refused(sequential):
    out, table = sequential
    before = (out / "trial-0000" / "summary.json").stat().st_mtime_ns
    again = sweep(SPIRALS, grid=GRID, overrides=SMALL, out=out)
    assert (out / "trial-0000" / "summary.json").stat().st_mtime_ns == before
    assert [r["val_accuracy"] for r in again.rows] == [r["val_accuracy"] for r in table.rows]
    with pytest.raises(FitcliError, match="different sweep"):
        sweep(SPIRALS, grid={"model.hidden": [[4]]}, overrides=SMALL, out=out)


def test_failures_are_a_trials_status(tmp_path):
    # a refused value (negative weight) and a diverging step: the sweep goes on
    t = sweep(SPIRALS, grid={"optimizer.step": [0.5, 1e6]},
              zip={"regularization.0.weight": [1e-4, -1.0]},
              overrides={**SMALL, "optimizer.type": "gd"}, out=tmp_path / "f")
    status = [r["status"] for r in t.rows]
    assert status.count("done") == 1 and status.count("error") == 2 and "diverged" in status
    bad = next(r for r in t.rows if r["status"] == "error")
    assert "regularization[0].weight" in bad["error"]
    assert t.rows[t.best]["status"] == "done"


def test_a_misspelt_key_is_one_error_and_leaves_no_folder(tmp_path):
    with pytest.raises(FitcliError, match="optimizer.stp"):
        sweep(SPIRALS, grid={"optimizer.stp": [1, 2]}, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_two_sweeps_never_share_a_folder(tmp_path):
    import fcntl

    (tmp_path / "s").mkdir()
    with (tmp_path / "s" / ".sweep.lock").open("a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)   # another sweep holds it
        with pytest.raises(FitcliError, match="another sweep is writing"):
            sweep(SPIRALS, grid=GRID, overrides=SMALL, out=tmp_path / "s")


def test_the_tpe_search_or_a_line_saying_how_to_get_it(tmp_path):
    kw = dict(sample={"regularization.0.weight": "loguniform(1e-6,1e-1)"}, trials=4,
              search="tpe", metric="val_loss", mode="min", overrides=SMALL)
    try:
        import optuna  # noqa: F401
    except ImportError:
        with pytest.raises(FitcliError, match=r"pip install 'fitcli\[optuna\]'"):
            sweep(SPIRALS, out=tmp_path / "t", **kw)
        return
    t = sweep(SPIRALS, out=tmp_path / "t", **kw)
    assert len(t.rows) == 4 and all(r["status"] == "done" for r in t.rows)
    again = sweep(SPIRALS, out=tmp_path / "t", **kw)       # replayed, nothing refitted
    assert [r["val_loss"] for r in again.rows] == [r["val_loss"] for r in t.rows]


def _cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", "from fitcli.cli import app; app()",
                             *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_interrupt_then_rerun_finishes_only_the_rest_identically(tmp_path):
    args = ["sweep", str(SPIRALS), "--grid", "regularization.0.weight=1e-5,1e-4,1e-3",
            "--set", "data.samples=400", "--set", "optimizer.iterations=300",
            "--set", "optimizer.tol=0", "--out", "s"]
    p = _cli(*args, cwd=tmp_path)
    metrics = tmp_path / "s" / "trial-0001" / "metrics.csv"
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) > 3:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, stdout + stderr
    first = json.loads((tmp_path / "s" / "trial-0000" / "summary.json").read_text())
    second = json.loads((tmp_path / "s" / "trial-0001" / "summary.json").read_text())
    assert first["status"] == "done" and second["status"] == "interrupted"
    assert not (tmp_path / "s" / "trial-0002").exists()
    assert len(_csv(tmp_path / "s", ("trial",))) == 2          # the table of what finished
    p = _cli(*args, cwd=tmp_path)
    stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 0, stdout + stderr
    assert "finished earlier" in stdout and "resumed at" in stdout
    p = _cli(*args[:-1], "whole", cwd=tmp_path)                 # never interrupted
    p.communicate(timeout=300)
    cols = ("trial", "status", "val_accuracy", "loss", "val_loss", "best")
    assert _csv(tmp_path / "s", cols) == _csv(tmp_path / "whole", cols)


def test_cli_errors_and_exit_codes(tmp_path):
    p = _cli("sweep", str(SPIRALS), "--sample", "w=lognormal(1,2)", cwd=tmp_path)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2 and err.count("\n") == 1 and "--sample w" in err
    p = _cli("sweep", str(SPIRALS), "--grid", "seed=1,2", "--workers", "2",
             "--dask-workers", "2", cwd=tmp_path)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "give one executor" in err


def test_a_superres_sweep_matches_solve_sweep(tmp_path):
    cfg = ROOT / "configs" / "superres_phantom_tv.yaml"
    ov = {"data.size": 32, "optimizer.iterations": 5}
    lams = [1e-3, 3e-2, 1.0]
    old = sweep(cfg, "regularization.0.weight", lams, tmp_path / "old", overrides=ov)
    new = sweep(cfg, grid={"regularization.0.weight": lams}, overrides=ov, out=tmp_path / "new")
    assert new.metric == "recovered.psnr" and new.mode == "max"
    assert [r["recovered.psnr"] for r in new.rows] == [r["psnr"] for r in old.rows]
    assert [r["recovered.ssim"] for r in new.rows] == [r["ssim"] for r in old.rows]
    assert new.best == old.best and new.rows[new.best]["bicubic.psnr"] == old.baseline["psnr"]
