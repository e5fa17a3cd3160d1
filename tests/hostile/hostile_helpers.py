"""Shared by the hostile-input tests (issue 13): a tiny config, the CLI runner, checks."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from fitcli.cli import app

TINY = {
    "name": "tiny",
    "seed": 1,
    "data": {"dataset": "spirals", "samples": 60},
    "model": {"type": "mlp", "hidden": [4]},
    "optimizer": {"type": "gd", "step": 0.5, "iterations": 6},
    "output": {"every": 2, "checkpoint_every": 3, "plot": False},
}

_runner = CliRunner()


def cli(*args):
    """Run the CLI in-process; (exit code, stdout, stderr)."""
    r = _runner.invoke(app, [str(a) for a in args])
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout, r.stderr


def one_line_error(r, *words) -> str:
    """Assert exit 2 with one `error:` line (no traceback) containing ``words``."""
    code, out, err = r
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in out + err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def write_config(path, **changes):
    path.write_text(yaml.safe_dump({**TINY, **changes}))
    return path
