"""``fitcli gradcheck``: at a random point as well as the initial one, --set over the tiny
sizes, a raising VJP as one FAIL row, and the options (--verbose, --mode all/adjoint,
--eps/--rtol/--atol, --point)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fitcli.engine.ops_elementwise as E
import fitcli.models.registration.fields as F
from fitcli.cli import app

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PHANTOM = CONFIGS / "registration_phantom.yaml"     # diffusion; bending through --set
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["gradcheck", *map(str, args)])


def _without_cross_term(u):
    """The bending gradient with its 2·u_rc term dropped (the issue's mutation)."""
    rr, _, cc = F._bending_terms(u)
    return F._dt(F._dt(rr, -2), -2) + F._dt(F._dt(cc, -1), -1)


def _wrong_diffusion(u):
    """The diffusion gradient without its column part."""
    return F._dt(F._d(u, -2), -2)


@pytest.mark.parametrize("op, wrong, sets", [
    ("bending_op", _without_cross_term, ["--set", "regularization.0.type=bending"]),
    ("diffusion_op", _wrong_diffusion, [])])
def test_a_wrong_regularizer_gradient_fails_at_the_random_point(op, wrong, sets, monkeypatch):
    monkeypatch.setattr(F, op, dataclasses.replace(
        getattr(F, op), vjps=(lambda g, out, u: g * wrong(u),)))
    # at the initial point (a zero field) every quadratic regularizer has gradient 0
    r = invoke(PHANTOM, "--point", "init", *sets)
    assert r.exit_code == 0, r.output
    r = invoke(PHANTOM, *sets)
    assert r.exit_code == 1, r.output
    fails = [line for line in r.stderr.splitlines() if line.startswith("FAIL")]
    assert fails and all("at random" in line for line in fails)
    assert any("theta [" in line for line in fails)          # the term alone, unweighted


def test_the_unpatched_config_passes_at_both_points():
    r = invoke(PHANTOM, "--set", "regularization.0.type=bending")
    assert r.exit_code == 0, r.output
    assert "at init" in r.stdout and "at random" in r.stdout and "4 passed, 0 failed" in r.stdout


def test_set_wins_over_the_tiny_size():
    r = invoke(CONFIGS / "mlp_spirals.yaml", "--set", "model.hidden=[4,4]", "--point", "init")
    assert r.exit_code == 0, r.output
    assert "W2      │ 4x4 at init" in r.stdout and "W3" in r.stdout   # a square weight


def test_a_raising_vjp_is_one_fail_row_and_the_rest_are_reported(monkeypatch):
    def boom(g, out, a):
        raise ZeroDivisionError("a bug in a rule")

    monkeypatch.setattr(E, "exp_op", dataclasses.replace(E.exp_op, vjps=(boom,)))
    r = invoke("--ops")
    assert r.exit_code == 1
    fails = [line for line in r.stderr.splitlines() if line.startswith("FAIL")]
    assert fails and all(line.startswith("FAIL exp ") for line in fails)
    assert "raised ZeroDivisionError: a bug in a rule" in fails[0]
    passed, failed = (int(w) for w in r.stdout.split("\n")[-2].split()[::2][:2])
    assert failed == len(fails) and passed > 400                  # every other op reported


def test_verbose_values_modes_and_tolerances():
    mlp = CONFIGS / "mlp_spirals.yaml"
    r = invoke(mlp, "--point", "init")
    assert r.exit_code == 0 and "numerical" not in r.stdout
    r = invoke(mlp, "--point", "init", "--verbose", "--mode", "all")
    assert r.exit_code == 0, r.output
    assert "numerical" in r.stdout and "analytical" in r.stdout and "rev-fwd" in r.stdout
    # a loose enough eps fails the default tolerances and passes looser ones
    assert invoke(mlp, "--point", "init", "--eps", "0.3").exit_code == 1
    assert invoke(mlp, "--point", "init", "--eps", "0.3", "--rtol", "0.5",
                  "--atol", "0.05").exit_code == 0


def test_adjoint_mode_checks_the_linear_primitives():
    r = invoke("--ops", "--mode", "adjoint")
    assert r.exit_code == 0, r.output
    assert "adjoint" in r.stdout and "blur" in r.stdout and "exp" not in r.stdout


@pytest.mark.parametrize("args, message", [
    ([PHANTOM, "--mode", "adjoint"], "--mode: expected reverse, forward or all"),
    ([PHANTOM, "--point", "randon"], "did you mean 'random'?"),
    (["--ops", "--eps", "0"], "--eps: expected a positive number"),
    ([PHANTOM, "--set", "model.levels=0"], "model.levels")])
def test_bad_options_are_one_line(args, message):
    r = invoke(*args)
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output
