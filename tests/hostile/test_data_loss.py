"""Issue 13, data loss: a run never writes outside its folder, a folder in use is refused,
and a signal at the final save keeps the finished fit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hostile_helpers import TINY, cli, one_line_error, write_config

from fitcli import api, loop, runfolder
from fitcli.sweep.legacy import _trial_name


@pytest.mark.parametrize("name", ["..", ".", "...", "x" * 101])
def test_a_name_is_a_folder_name_never_a_path(tiny, name):
    write_config(tiny, name=name)
    one_line_error(cli("train", tiny, "-q"), "name:")
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["tiny.yaml"]


def test_out_through_a_missing_folder_never_lands_in_a_full_one(tiny):
    Path("d").mkdir()
    Path("d/keep.txt").write_text("mine")
    one_line_error(cli("train", tiny, "--out", "d/missing/..", "-q"), "--out", "not empty")
    assert sorted(p.name for p in Path("d").iterdir()) == ["keep.txt"]
    # into an empty one it is the same folder, written once
    Path("e").mkdir()
    assert cli("train", tiny, "--out", "e/missing/..", "-q")[0] == 0
    assert Path("e/summary.json").exists() and not Path("e/missing").exists()


@pytest.mark.parametrize("where, words", [
    ("afile/run", ("is a file",)), ("dangling", ("symbolic link",)),
    ("a" * 300, ("255 bytes",))])
def test_out_where_nothing_can_be_written(tiny, where, words):
    Path("afile").write_text("x")
    os.symlink("/nonexistent/target", "dangling")
    one_line_error(cli("train", tiny, "--out", where, "-q"), "--out", *words)
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["afile", "dangling", "tiny.yaml"]


def test_sweep_values_never_leave_the_sweep_folder(tmp_path):
    values = ["../../../x", "a/b", "a_b", "..", "/etc", "x" * 300, "ok"]
    seen = [tmp_path / "sw" / _trial_name("data.image", v) for v in values]
    assert len(set(seen)) == len(values)          # two values never share a folder
    for d in seen:
        assert d.resolve().parent == tmp_path / "sw" and len(d.name) < 100
        assert ".." not in d.name and "/" not in d.name
    assert _trial_name("model.factor", 2) == "model.factor=2"


def test_a_signal_during_the_final_save_keeps_the_finished_fit(tmp_path, monkeypatch):
    """Two signals while the final checkpoint is written: it is still written, with the
    summary, and no temporary file is left."""
    real = loop.save_checkpoint

    def save_under_fire(run_dir, problem, state):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        return real(run_dir, problem, state)

    monkeypatch.setattr(loop, "save_checkpoint", save_under_fire)
    cfg = api.load(dict(TINY, output={"every": 2, "checkpoint_every": 1000, "plot": False}))
    try:
        res = api.run(cfg, tmp_path / "r")
    except KeyboardInterrupt:
        pytest.fail("the signal interrupted the final save")
    assert res.summary["status"] == "done"
    assert json.loads((tmp_path / "r/summary.json").read_text())["status"] == "done"
    with np.load(tmp_path / "r/checkpoint.npz") as f:
        assert int(f["loop.iteration"]) == 6
    assert not [p for p in (tmp_path / "r").iterdir() if p.name.startswith(".")]


def test_an_interrupted_checkpoint_write_leaves_the_old_one_and_no_temporary(
        tmp_path, monkeypatch):
    cfg = api.load(dict(TINY))
    api.run(cfg, tmp_path / "r")
    before = (tmp_path / "r/checkpoint.npz").read_bytes()

    def half_written(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(runfolder.np, "savez", half_written)
    problem = api.build(cfg)
    with pytest.raises(KeyboardInterrupt):
        runfolder.save_checkpoint(tmp_path / "r", problem, {"iteration": 1})
    assert (tmp_path / "r/checkpoint.npz").read_bytes() == before
    assert not list((tmp_path / "r").glob(".*tmp*"))


def test_a_run_folder_in_use_is_refused_and_a_dead_owners_lock_taken_over(tiny):
    assert cli("train", tiny, "--out", "r", "-q")[0] == 0
    with runfolder.claim(Path("r")):           # another run is writing the folder
        line = one_line_error(cli("train", "--resume", "r", "--set",
                                  "optimizer.iterations=8", "-q"), "in use", str(os.getpid()))
        assert "r" in line
    assert not Path("r/.lock").exists()
    # a lock file left by a process that died (kill -9): taken over, the run goes on
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    Path("r/.lock").write_text(f"{dead.pid}\n")
    code, out, err = cli("train", "--resume", "r", "--set", "optimizer.iterations=8", "-q")
    assert code == 0, err
    assert json.loads(Path("r/summary.json").read_text())["iterations"] == 8


def test_a_held_lock_holds_across_processes(tmp_path):
    """The lock is the kernel's (flock): a live process holding it refuses another."""
    (tmp_path / "r").mkdir()
    code = ("import sys, time; from pathlib import Path; from fitcli.runfolder import claim\n"
            "with claim(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "r")],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(runfolder.InputError, match=f"pid {holder.pid}"), \
                runfolder.claim(tmp_path / "r"):
            pass
    finally:
        holder.kill()
        holder.wait()
    with runfolder.claim(tmp_path / "r"):      # its death released it
        pass


def test_resume_rewrites_metrics_atomically(tiny, monkeypatch):
    """On resume metrics.csv is replaced by a rename, never truncated in place."""
    assert cli("train", tiny, "--out", "r", "-q")[0] == 0
    replaced = []
    real = os.replace
    monkeypatch.setattr(runfolder.os, "replace",
                        lambda a, b: (replaced.append(Path(b).name), real(a, b)))
    assert cli("train", "--resume", "r", "--set", "optimizer.iterations=8", "-q")[0] == 0
    assert {"config.yaml", "metrics.csv"} <= set(replaced)
    rows = Path("r/metrics.csv").read_text().splitlines()
    its = [int(r.split(",")[0]) for r in rows[1:]]
    assert its == sorted(set(its)) and its[-1] == 8
