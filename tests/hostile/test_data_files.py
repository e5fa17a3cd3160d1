"""Issue 13: hostile data files — one line naming the file (and column) every time."""

from __future__ import annotations

import numpy as np
import pytest
from hostile_helpers import cli, one_line_error

ROWS = "1,2,0\n2,3,1\n3,4,0\n4,5,1\n5,6,0\n6,7,1\n"


def _validate(tiny, dataset, *extra):
    return cli("validate", tiny, "--set", f"data.dataset={dataset}", "--set",
               "data.samples=null", *extra)


@pytest.mark.parametrize("text, words", [
    ("a,b,y\n1,nan,0\n" + ROWS, ["nan.csv", "'b'", "line 2"]),
    ("a,b,y\n1,inf,0\n" + ROWS, ["nan.csv", "'b'", "non-finite"]),
    ("a,b,y\n1,-inf,0\n" + ROWS, ["nan.csv", "'b'"]),
    ("a,b,y\n", ["nan.csv", "no data rows"]),
])
def test_bad_csv_features(tiny, text, words):
    (tiny.parent / "nan.csv").write_text(text)
    one_line_error(_validate(tiny, "nan.csv", "--set", "data.target=y"), *words)
    one_line_error(cli("train", tiny, "--set", "data.dataset=nan.csv", "--set",
                       "data.samples=null", "--set", "data.target=y", "--out", "r"), "nan.csv")


def test_utf8_bom_is_not_part_of_the_first_name(tiny):
    (tiny.parent / "bom.csv").write_text("a,b,y\n" + ROWS, encoding="utf-8-sig")
    code, _, err = _validate(tiny, "bom.csv", "--set", "data.target=y",
                             "--set", "data.features=[a]")
    assert code == 0, err


def test_latin1_header(tiny):
    (tiny.parent / "lat.csv").write_bytes(("é,b,y\n" + ROWS).encode("latin-1"))
    one_line_error(_validate(tiny, "lat.csv", "--set", "data.target=y"), "lat.csv", "UTF-8")


def _npz(path, X, y):
    np.savez(path, X=X, y=y)
    return path


def test_truncated_npz(tiny):
    good = _npz(tiny.parent / "good.npz", np.random.rand(10, 2), np.arange(10) % 2)
    data = good.read_bytes()
    (tiny.parent / "cut.npz").write_bytes(data[:len(data) // 2])
    one_line_error(_validate(tiny, "cut.npz"), "cut.npz", "not a readable .npz")


@pytest.mark.parametrize("X, y, words", [
    (np.random.rand(10, 2) + 1j, np.arange(10) % 2, ["array X", "complex"]),
    (np.random.rand(10, 2), np.arange(10) % 2 + 0j, ["array y", "complex"]),
])
def test_complex_npz(tiny, X, y, words):
    _npz(tiny.parent / "c.npz", X, y)
    one_line_error(_validate(tiny, "c.npz"), "c.npz", *words)


def test_nan_features_in_npz(tiny):
    X = np.random.rand(10, 2)
    X[3, 1] = np.inf
    _npz(tiny.parent / "n.npz", X, np.arange(10) % 2)
    one_line_error(_validate(tiny, "n.npz"), "n.npz", "'x2'")


def test_predict_refuses_complex_npz(tiny):
    code, _, err = cli("train", tiny, "--out", "run", "-q")
    assert code == 0, err
    _npz(tiny.parent / "c.npz", np.random.rand(5, 2) + 1j, np.arange(5) % 2)
    one_line_error(cli("predict", "run", "--data", "c.npz"), "c.npz", "complex")
    one_line_error(cli("evaluate", "run", "--data", "c.npz"), "c.npz", "complex")
