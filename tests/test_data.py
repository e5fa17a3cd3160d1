"""Tabular data: built-ins, CSV/NPZ files, stratified split, standardisation on train only."""

from __future__ import annotations

import numpy as np
import pytest

from fitcli.data import DATASETS, DataContext
from fitcli.data.tabular import load_tabular, split
from fitcli.errors import ConfigError, InputError


def ctx(tmp_path=None, seed=0, dtype=np.float64):
    from pathlib import Path
    return DataContext(Path(tmp_path or "."), np.random.default_rng(seed), np.dtype(dtype))


def test_registry_has_the_builtins():
    assert {"digits", "spirals", "moons"} <= set(DATASETS)
    assert all(DATASETS[k].family == "tabular" for k in ("digits", "spirals", "moons"))


def test_digits_shape_classes_and_stratified_split():
    d = load_tabular(ctx(), dataset="digits", validation=0.2)
    assert d.task == "classification" and d.n_classes == 10 and d.n_outputs == 10
    assert d.X_train.shape[1] == 64 and d.n_train + len(d.y_val) == 1797
    full = np.bincount(np.concatenate([d.y_train, d.y_val]))
    val = np.bincount(d.y_val, minlength=10)
    np.testing.assert_allclose(val, np.round(0.2 * full))   # every class held out at 20 %


def test_standardize_uses_training_statistics_only():
    d = load_tabular(ctx(), dataset="moons", samples=200, validation=0.25)
    np.testing.assert_allclose(d.X_train.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(d.X_train.std(0), 1, atol=1e-12)
    assert not np.allclose(d.X_val.mean(0), 0, atol=1e-6)
    raw = load_tabular(ctx(), dataset="moons", samples=200, validation=0.25, standardize=False)
    np.testing.assert_allclose((raw.X_val - d.extras["mean"]) / d.extras["std"], d.X_val)


def test_generated_data_follow_the_seed():
    a = load_tabular(ctx(seed=3), dataset="spirals", samples=100)
    b = load_tabular(ctx(seed=3), dataset="spirals", samples=100)
    c = load_tabular(ctx(seed=4), dataset="spirals", samples=100)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)
    assert a.n_outputs == 1 and a.n_classes == 2      # binary: one logit


def test_float32(tmp_path):
    d = load_tabular(ctx(dtype=np.float32), dataset="spirals", samples=50)
    assert d.X_train.dtype == np.float32


def test_csv_with_target_column(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3
    table = np.column_stack([X[:, :1], y, X[:, 1:]])
    (tmp_path / "d.csv").write_text("a,price,b,c\n" + "\n".join(
        ",".join(f"{v:.17g}" for v in row) for row in table) + "\n")
    d = load_tabular(ctx(tmp_path), dataset="d.csv", target="price", standardize=False)
    assert d.task == "regression" and d.X_train.shape == (32, 3)
    np.testing.assert_allclose(d.X_train @ [1.0, -2.0, 0.5] + 0.3, d.y_train)
    with pytest.raises(ConfigError, match="data.target: expected a column of d.csv"):
        load_tabular(ctx(tmp_path), dataset="d.csv")


def test_csv_classification_labels_are_remapped(tmp_path):
    rows = "\n".join(f"{i},{[3, 7][i % 2]}" for i in range(20))
    (tmp_path / "c.csv").write_text("x,target\n" + rows + "\n")
    d = load_tabular(ctx(tmp_path), dataset="c.csv")
    assert d.task == "classification" and list(d.extras["classes"]) == [3, 7]
    assert set(np.unique(d.y_train)) == {0, 1}


def test_npz_file(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "d.npz", X=rng.standard_normal((30, 4)), y=np.arange(30) % 3)
    d = load_tabular(ctx(tmp_path), dataset="d.npz", validation=0.0)
    assert d.n_classes == 3 and d.X_val is None and not d.has_validation
    np.savez(tmp_path / "bad.npz", X=np.zeros((3, 2)))
    with pytest.raises(InputError, match="missing array"):
        load_tabular(ctx(tmp_path), dataset="bad.npz")


@pytest.mark.parametrize("kwargs, err, match", [
    ({"dataset": "nofile.csv"}, InputError, "data.dataset: file not found"),
    ({"dataset": "digitz"}, ConfigError, "data.dataset: expected one of digits"),
    ({"dataset": "digits", "samples": 10}, ConfigError, "data.samples"),
    ({"dataset": "spirals", "validation": 1.0}, ConfigError, "data.validation"),
])
def test_bad_data_options(tmp_path, kwargs, err, match):
    with pytest.raises(err, match=match):
        load_tabular(ctx(tmp_path), **kwargs)


def test_split_is_a_partition():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 101)
    tr, va = split(rng, labels, 101, 0.3)
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(101))
