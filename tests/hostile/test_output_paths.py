"""Issue 13: an output place that cannot be written is refused with one line BEFORE the
computation (solve --output, predict/evaluate --out, graph --out, bench --out)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_helpers import cli, one_line_error

ROOT = Path(__file__).resolve().parents[2]


def _forbid(monkeypatch, module, name):
    def boom(*a, **k):
        raise AssertionError(f"{module}.{name} ran before the output place was checked")
    monkeypatch.setattr(module, name, boom)


@pytest.fixture
def blocker(tiny):
    """A regular file where a folder would have to be."""
    f = tiny.parent / "file"
    f.write_text("x")
    return f


def test_solve_output_under_a_file(blocker, monkeypatch):
    import fitcli.cli.fitting as F

    _forbid(monkeypatch, F, "_fit")
    one_line_error(cli("solve", ROOT / "configs" / "superres_phantom_tv.yaml", "--set",
                       "data.size=32", "--out", "r", "--output", blocker / "x.png"),
                   "--output", "is a file")


def test_solve_output_is_a_folder(tiny, monkeypatch):
    import fitcli.cli.fitting as F

    _forbid(monkeypatch, F, "_fit")
    Path("d").mkdir()
    one_line_error(cli("solve", ROOT / "configs" / "superres_phantom_tv.yaml",
                       "--out", "r", "--output", "d"), "--output", "folder")


def test_graph_out_under_a_file(blocker, tiny, monkeypatch):
    import fitcli.problem as P

    _forbid(monkeypatch, P, "build")
    one_line_error(cli("graph", tiny, "--out", blocker / "g.dot"), "--out", "is a file")


def test_bench_out_under_a_file(blocker, monkeypatch):
    from fitcli.bench import complexity

    _forbid(monkeypatch, complexity, "run")
    one_line_error(cli("bench", "complexity", "--quick", "--out", blocker / "b"),
                   "--out", "is a file")


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_predict_evaluate_out_under_a_file(blocker, tiny, monkeypatch, command):
    code, _, err = cli("train", tiny, "--out", "run", "-q")
    assert code == 0, err
    Path("new.csv").write_text("x0,x1,y\n0.1,0.2,0\n")
    import fitcli.api as A

    _forbid(monkeypatch, A, "load_fitted")
    one_line_error(cli(command, "run", "--data", "new.csv", "--out", blocker / "p.csv"),
                   "--out", "is a file")


def test_a_device_is_not_an_output_file(tiny, monkeypatch):
    import fitcli.problem as P

    _forbid(monkeypatch, P, "build")
    one_line_error(cli("graph", tiny, "--out", "/dev/full"), "--out", "not a regular file")


def test_a_folder_that_cannot_be_created(tiny):
    """/proc passes os.access for root, yet refuses mkdir: one line, not a traceback."""
    if not Path("/proc/self").exists():
        pytest.skip("no /proc")
    one_line_error(cli("train", tiny, "--out", "/proc/fitcli-hostile-test"),
                   "/proc/fitcli-hostile-test")
