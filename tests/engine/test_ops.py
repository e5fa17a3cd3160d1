"""Every registered primitive against central finite differences, on the shape battery.

The battery (``fitcli.battery``) covers the engine's ops and every primitive
defined elsewhere with ``fitcli.engine.extend`` (imaging operators, warps, field
regularizers, fused recurrent cells).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fitcli.engine as fe
from fitcli.battery import all_cases, all_ops, missing_cases
from fitcli.engine.gradcheck import check_grad

CASES = all_cases(seed=0)


def test_every_op_has_a_case():
    missing = missing_cases(CASES)
    assert not missing, f"ops without a gradcheck case: {missing}"


def test_every_case_names_a_real_op():
    assert {c.op for c in CASES} <= set(all_ops())


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op}[{c.label}]" for c in CASES])
def test_gradient(case):
    for r in check_grad(case.fn, case.args, name=case.op, label=case.label):
        assert r.passed, r.failure_line()


@pytest.mark.parametrize("case", CASES[::7], ids=[f"{c.op}[{c.label}]" for c in CASES[::7]])
def test_forward_preserves_float32(case):
    args = [np.asarray(a, dtype=np.float32) for a in case.args]
    out = case.fn(*[fe.tensor(a, requires_grad=True) for a in args])
    assert out.dtype == np.float32, f"{case.op} returned {out.dtype}"


# -- random broadcasting shapes (hypothesis) -------------------------------------------
BINARY = {"add": fe.add, "subtract": fe.subtract, "multiply": fe.multiply,
          "maximum": fe.maximum, "minimum": fe.minimum}


@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                  max_side=3),
       name=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_broadcasting_binary(shapes, name, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    for r in check_grad(BINARY[name], (a, b), name=name):
        assert r.passed, r.failure_line()


@settings(max_examples=25, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                  max_side=3),
       seed=st.integers(0, 2**16))
def test_broadcasting_divide_power(shapes, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, shapes.input_shapes[0])
    b = rng.uniform(0.5, 2.0, shapes.input_shapes[1])
    for f, name in ((fe.divide, "divide"), (fe.power, "power")):
        for r in check_grad(f, (a, b), name=name):
            assert r.passed, r.failure_line()


@settings(max_examples=25, deadline=None)
@given(batch=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
       n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3), seed=st.integers(0, 99))
def test_batched_matmul_broadcasting(batch, n, k, m, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(batch.input_shapes[0] + (n, k))
    b = rng.standard_normal(batch.input_shapes[1] + (k, m))
    for r in check_grad(fe.matmul, (a, b), name="matmul"):
        assert r.passed, r.failure_line()
