"""Issue 13: the CLI's own surface speaks in one line — click's usage errors, Python
warnings, an empty optimizer list."""

from __future__ import annotations

import warnings

import pytest
from hostile_helpers import cli, one_line_error


@pytest.mark.parametrize("args, words", [
    (["train", "tiny.yaml", "--seed", "abc"], ["--seed", "fitcli train --help"]),
    (["compare"], ["Missing argument", "fitcli compare --help"]),
    (["trian", "tiny.yaml"], ["No such command", "fitcli --help"]),
    (["--bogus"], ["--bogus"]),
    (["compare", "tiny.yaml", "--optimizers", "gd", "--iterations", "0"], ["--iterations"]),
])
def test_usage_errors_are_one_line(tiny, args, words):
    one_line_error(cli(*args), *words)


def test_help_still_prints(tiny):
    code, out, _ = cli("train", "--help")
    assert code == 0 and "--seed" in out


def test_python_warnings_become_one_warning_line(tiny, monkeypatch):
    import fitcli.problem as P

    real = P.build

    def noisy(*a, **k):
        warnings.warn("overflow encountered in matmul", RuntimeWarning, stacklevel=1)
        return real(*a, **k)

    monkeypatch.setattr(P, "build", noisy)
    code, out, err = cli("validate", "tiny.yaml")
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: RuntimeWarning: overflow"), err
    assert "warnings.warn" not in err


def test_compare_without_optimizers_is_refused(tiny):
    one_line_error(cli("compare", "tiny.yaml", "--optimizers", ","), "--optimizers")
    one_line_error(cli("compare", "tiny.yaml", "--optimizers", " "), "--optimizers")
    assert not (tiny.parent / "runs").exists()
