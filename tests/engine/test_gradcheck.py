"""The gradient checker itself: it must see wrong rules (VJP, JVP, adjoint), flag a
stencil straddling a kink, and turn an exception inside a check into a failed row."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.battery import all_cases, all_ops
from fitcli.engine import gradcheck as gc

B = importlib.import_module("fitcli.operators.blur")   # (the package's `blur` is the function)


def test_kink_within_eps_fails_with_a_hint():
    # |x| at x = 1e-7 with eps 1e-6: central differences give 0.1, the rule sign(x) = 1
    (r,) = gc.check_grad(fe.abs, [np.array([1e-7, 0.5, -0.7])])
    assert not r.passed and r.worst == (0,) and r.kinks == 1
    left, right = r.one_sided   # u₀·(1e-7 − 9e-7)/1e-6 and u₀·(1.1e-6 − 1e-7)/1e-6
    assert left == pytest.approx(-0.8 * right, rel=1e-6)
    assert "straddles a kink" in r.failure_line() and "--eps" in r.failure_line()
    # away from the kink: no flag, and a smaller eps moves the stencil off it
    (r,) = gc.check_grad(fe.abs, [np.array([1e-7, 0.5, -0.7])], eps=1e-8)
    assert r.passed and r.kinks == 0


def test_no_kink_flags_on_smooth_cases():
    for case in all_cases(0)[::4]:
        if not case.kink:
            results = gc.check(case.fn, case.args, "all", name=case.op)
            assert not [r for r in results if r.kinks], case.label


def test_forward_mode_kink_is_flagged():
    (r,) = gc.check_jvp(lambda a: fe.maximum(a, 0.0), [np.array([0.0, 1.0, -1.0])])
    assert r.kinks >= 1


def test_reverse_against_forward_sees_a_wrong_jvp():
    bad = dataclasses.replace(fe.OPS["tanh"], jvp=lambda t, out, a: t[0] * 1.001)
    x = [np.array([0.3, -0.2, 0.8])]
    (r,) = gc.check_modes(lambda a: fe.apply(bad, a), x, name="tanh")
    assert not r.passed and r.method == "rev-fwd" and "forward" in r.failure_line()
    (r,) = gc.check_modes(fe.tanh, x, name="tanh")
    assert r.passed and r.max_rel_err < 1e-12


def test_every_linear_primitive_passes_the_dot_product_test():
    table = all_ops()
    linear = [c for c in all_cases(0) if table[c.op].linear]
    assert {c.op for c in linear} >= {"blur", "sum", "transpose", "pad", "getitem",
                                      "field_bending_grad"}
    for case in linear:
        (r,) = gc.check_adjoint(case.fn, case.args, name=case.op, label=case.label)
        assert r.passed, r.failure_line()


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_dot_product_test_sees_a_wrong_adjoint_only_with_an_asymmetric_kernel(method,
                                                                              monkeypatch):
    # the adjoint replaced by the forward map (a flip / a conj() dropped)
    monkeypatch.setattr(B, "BLUR", dataclasses.replace(
        B.BLUR, vjps=(lambda g, out, x, blur: blur.forward(g),)))
    x = np.random.default_rng(0).standard_normal((7, 9))
    for kernel, passes in [(B.from_array(B.ASYMMETRIC), False), (B.gaussian(0.5), True)]:
        op = B.Blur(kernel, "periodic", method)
        (r,) = gc.check_adjoint(lambda a, op=op: B.blur(a, op), [x], name="blur")
        assert r.passed is passes, r.failure_line()


def test_an_exception_in_a_rule_is_one_failed_row_and_the_rest_still_run():
    def boom(g, out, a):
        raise ZeroDivisionError("in a VJP")

    bad = dataclasses.replace(fe.OPS["exp"], vjps=(boom,))
    results = gc.check(lambda a: fe.apply(bad, a), [np.ones(3)], "all", name="exp", label="(3,)")
    errors = [r for r in results if r.method == "error"]
    assert len(errors) == 2 and not any(r.passed for r in errors)   # reverse and rev-fwd
    assert "exp (3,) (check_grad): raised ZeroDivisionError: in a VJP" in errors[0].failure_line()
    assert [r.method for r in results if r.method != "error"] == ["jvp"]  # forward still ran


def test_tolerances_are_honoured():
    x = [np.array([0.3, 1.2])]
    (r,) = gc.check_grad(fe.exp, x, eps=1e-3)    # truncation error eps²/6 ≈ 1.7e-7 relative
    assert r.passed and 1e-8 < r.max_rel_err < 1e-6
    (r,) = gc.check_grad(fe.exp, x, eps=1e-3, rtol=1e-7, atol=0.0)
    assert not r.passed
    (r,) = gc.check_grad(fe.exp, x, eps=1e-4, rtol=1e-7, atol=0.0)
    assert r.passed


def test_curvature_is_not_a_kink_but_a_kink_anywhere_in_the_stencil_is():
    # one-sided slopes of a smooth function differ by ε·φ'': not a kink, even for large ε
    for f, x in [(lambda a: a * a, np.array([0.3, -1.0, 2.0])), (fe.exp, np.array([0.5, 2.0])),
                 (fe.tanh, np.array([0.2, -0.4]))]:
        for eps in (1e-6, 1e-3, 1e-2):
            assert [r.kinks for r in gc.check_grad(f, [x], eps=eps)] == [0]
            assert [r.kinks for r in gc.check_jvp(f, [x], eps=eps)] == [0]
    # |x| with the kink at every fraction of ε from the point (a blind spot of any one scale)
    eps = 1e-4
    for r in (0.05, 1 / 3, 0.5, 0.6, 0.7, 0.9):
        (res,) = gc.check_grad(fe.abs, [np.array([r * eps])], eps=eps)
        assert res.kinks == 1, r
