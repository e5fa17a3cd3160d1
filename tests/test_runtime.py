"""fitcli.runtime.performance: BLAS threads scoped to fitcli's calls, restored after."""

import numpy as np  # noqa: F401  (loads the BLAS library the tests control)
import pytest

import fitcli
from fitcli import runtime

pytestmark = pytest.mark.skipif(not runtime.blas_threads(), reason="no controllable BLAS")


@pytest.fixture
def two_threads():
    before = runtime.blas_threads()
    runtime._set({p: 2 for p in before})
    yield
    runtime._set(before)


def test_performance_sets_and_restores(two_threads, monkeypatch):
    monkeypatch.delenv("FITCLI_BLAS_THREADS", raising=False)
    with runtime.performance():
        assert set(runtime.blas_threads().values()) == {1}
        with runtime.performance(3):
            assert set(runtime.blas_threads().values()) == {3}
        assert set(runtime.blas_threads().values()) == {1}
    assert set(runtime.blas_threads().values()) == {2}


def test_keep_leaves_the_host_setting(two_threads, monkeypatch):
    monkeypatch.setenv("FITCLI_BLAS_THREADS", "keep")
    with runtime.performance():
        assert set(runtime.blas_threads().values()) == {2}


def test_fit_runs_with_one_thread_and_restores(two_threads, monkeypatch):
    monkeypatch.delenv("FITCLI_BLAS_THREADS", raising=False)
    seen = []
    fitcli.fit("configs/quadratic2d.yaml", {"optimizer.iterations": 2},
               callback=lambda p: seen.append(set(runtime.blas_threads().values())))
    assert seen and all(s == {1} for s in seen)
    assert set(runtime.blas_threads().values()) == {2}
