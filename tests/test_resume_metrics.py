"""Resume after a hard kill: metrics rows logged past the checkpoint are dropped, not kept.

A run killed between checkpoints leaves metrics.csv rows beyond the checkpoint's
iteration; resuming recomputes those iterations, so keeping the old rows would log them
twice. Tested through the public path only (``fitcli.fit`` with ``out`` and ``resume``).
"""

from __future__ import annotations

import csv

import fitcli

CFG = {
    "name": "tiny", "seed": 3,
    "data": {"dataset": "spirals", "samples": 120},
    "model": {"type": "mlp", "hidden": [6]},
    "optimizer": {"type": "gd", "step": 0.5, "iterations": 20},
    "output": {"every": 5, "checkpoint_every": 10},
}
SENTINEL = 987654.0


def rows(path):
    return list(csv.DictReader((path / "metrics.csv").open()))


def test_resume_drops_rows_logged_after_the_checkpoint(tmp_path):
    run = tmp_path / "run"
    fitcli.fit(CFG, out=run)                    # checkpoint at 20, rows 0, 5, …, 20
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["iteration", "loss"]
    # what a hard kill after iteration 25 (before the next checkpoint at 30) leaves behind
    with (run / "metrics.csv").open("a") as f:
        f.write(",".join(["25"] + [repr(SENTINEL)] * (len(header) - 1)) + "\n")
    r = fitcli.fit(CFG, out=run, resume=run, optimizer={"iterations": 30})
    assert r.summary["resumed_from"] == 20
    its = [int(row["iteration"]) for row in rows(run)]
    assert its == [0, 5, 10, 15, 20, 25, 30]    # once each
    assert all(float(row["loss"]) != SENTINEL for row in rows(run))
    assert [int(h["iteration"]) for h in r.history] == its
    assert all(h["loss"] != SENTINEL for h in r.history)


def test_resume_from_an_earlier_checkpoint_drops_every_later_row(tmp_path):
    # the checkpoint of iteration 10 is put back, as if the kill came before iteration 20
    # was checkpointed: rows 15 and 20 were logged after it and must be recomputed, once
    run = tmp_path / "run"
    fitcli.fit(CFG, out=run, optimizer={"iterations": 10})
    saved = (run / "checkpoint.npz").read_bytes()
    fitcli.fit(CFG, out=run, resume=run, optimizer={"iterations": 20})
    before = {int(row["iteration"]): row["loss"] for row in rows(run)}
    (run / "checkpoint.npz").write_bytes(saved)
    r = fitcli.fit(CFG, out=run, resume=run, optimizer={"iterations": 20})
    assert r.summary["resumed_from"] == 10
    its = [int(row["iteration"]) for row in rows(run)]
    assert its == [0, 5, 10, 15, 20]
    # the recomputed rows repeat the same (deterministic) trajectory
    assert {int(row["iteration"]): row["loss"] for row in rows(run)} == before
