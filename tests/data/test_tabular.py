"""CSV files as users have them: strings, categories, missing cells, column choice, a
validation file, a scaled regression target (fitcli/data/csvfile.py, encode.py, tabular.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fitcli.cli import app
from fitcli.data import DataContext, csvfile
from fitcli.data.csvfile import read_csv
from fitcli.data.tabular import encode_csv, load_tabular
from fitcli.errors import ConfigError, InputError


def ctx(tmp_path, seed=0):
    return DataContext(Path(tmp_path), np.random.default_rng(seed), np.dtype(np.float64))


def write(path: Path, rows, *, bom=False, crlf=False) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    path.write_text(("\ufeff" if bom else "") + buf.getvalue(), encoding="utf-8", newline="")
    return path


def flowers(n=60, seed=0):
    """id, colour (categorical), size (numeric), species (string label)."""
    rng = np.random.default_rng(seed)
    species = np.array(["setosa", "versicolor", "virginica"])[np.arange(n) % 3]
    size = (np.arange(n) % 3) * 2.0 + 0.3 * rng.standard_normal(n)
    colour = np.array(["red", "green, dark", 'say "hi"'])[rng.integers(0, 3, n)]
    return [["id", "colour", "size", "species"]] + [
        [f"id{i}", colour[i], f"{size[i]:.6f}", species[i]] for i in range(n)]


# -- reading ------------------------------------------------------------------------------
def test_a_spreadsheet_export_reads(tmp_path):
    rows = flowers(30)
    text = "\ufeff" + "\r\n".join(",".join(
        '"' + c.replace('"', '""') + '"' if ("," in c or '"' in c) else f" {c} " for c in r)
        for r in rows) + "\r\n\r\n"                       # spaces around cells, a blank line
    (tmp_path / "f.csv").write_text(text, encoding="utf-8", newline="")
    t = read_csv(tmp_path / "f.csv")
    assert t.header == ["id", "colour", "size", "species"] and t.n_rows == 30
    assert t.strings("colour").tolist() == [r[1] for r in rows[1:]]
    assert t.column("size").kind == "number" and t.column("colour").kind == "string"


# no lone "\r": csv.writer leaves it unquoted under "\n" line ends (unreadable by anyone)
cell = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
               max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.tuples(
    st.lists(st.text("abcxyz_", min_size=1, max_size=5), min_size=k, max_size=k, unique=True),
    st.lists(st.lists(cell, min_size=k, max_size=k), min_size=1, max_size=6))),
    st.booleans(), st.booleans())
def test_csv_round_trip(tmp_path_factory, table, bom, crlf):
    header, rows = table
    path = write(tmp_path_factory.mktemp("rt") / "t.csv", [header, *rows], bom=bom, crlf=crlf)
    t = read_csv(path)
    assert t.header == header
    for j, name in enumerate(header):
        assert t.strings(name).tolist() == [r[j].strip() for r in rows]


def test_missing_tokens_and_inf(tmp_path):
    write(tmp_path / "m.csv", [["a", "b"], ["1", "x"], ["NA", ""], ["nan", "?"], ["inf", "y"],
                               ["N/A", "null"]])
    t = read_csv(tmp_path / "m.csv")
    a, b = t.column("a"), t.column("b")
    assert a.kind == "number" and a.missing.tolist() == [False, True, True, True, True]
    assert b.kind == "string" and b.missing.tolist() == [False, True, True, False, True]


# -- string labels, categories, column choice --------------------------------------------
def test_string_labels_and_one_hot_features(tmp_path):
    write(tmp_path / "f.csv", flowers(60))
    d = load_tabular(ctx(tmp_path), dataset="f.csv", target="species", drop=["id"],
                     validation=0.25)
    assert d.task == "classification" and d.n_classes == 3
    assert d.extras["labels"] == ["setosa", "versicolor", "virginica"]
    assert d.extras["columns"] == ["colour", "size"]
    assert d.extras["features"] == ['colour=green, dark', "colour=red", 'colour=say "hi"', "size"]
    onehot = d.X_train[:, :3]
    assert set(np.unique(onehot)) == {0.0, 1.0} and np.all(onehot.sum(1) == 1)  # not scaled
    np.testing.assert_allclose(d.X_train[:, 3].mean(), 0, atol=1e-12)        # numeric: scaled
    assert d.extras["mean"][:3].tolist() == [0, 0, 0] and d.extras["std"][:3].tolist() == [1] * 3


def test_features_choose_the_inputs(tmp_path):
    write(tmp_path / "f.csv", flowers(30))
    d = load_tabular(ctx(tmp_path), dataset="f.csv", target="species", features=["size"])
    assert d.X_train.shape[1] == 1 and d.extras["features"] == ["size"]
    with pytest.raises(ConfigError, match=r"data.features\[1\]: expected a column of f.csv, "
                                          r"got 'colur' \(did you mean 'colour'\?\)"):
        load_tabular(ctx(tmp_path), dataset="f.csv", target="species", features=["id", "colur"])
    with pytest.raises(ConfigError, match=r"data.features\[0\]: expected an input column"):
        load_tabular(ctx(tmp_path), dataset="f.csv", target="species", features=["species"])
    with pytest.raises(ConfigError, match="data.drop: expected only with a .csv dataset"):
        load_tabular(ctx(tmp_path), dataset="digits", drop=["x1"])


def test_one_hot_vocabulary_comes_from_the_training_part(tmp_path):
    rows = flowers(30)
    write(tmp_path / "train.csv", rows)
    val = [["species", "size", "colour", "id"],            # another column order
           ["setosa", "0.1", "purple", "v1"], ["virginica", "4.0", "red", "v2"]]
    write(tmp_path / "val.csv", val)
    d = load_tabular(ctx(tmp_path), dataset="train.csv", target="species", drop=["id"],
                     validation="val.csv")
    assert "colour=purple" not in d.extras["features"]
    assert d.extras["categories"]["colour"] == sorted({r[1] for r in rows[1:]})
    assert d.X_val[0, :3].tolist() == [0, 0, 0]             # unseen category: all zero
    assert d.X_val[1, :3].tolist() == [0, 1, 0]
    assert d.y_val.tolist() == [0, 2] and d.n_train == 30


def test_statistics_come_from_the_training_part_only(tmp_path):
    write(tmp_path / "t.csv", [["x", "target"]] + [[str(v), str(v % 2)] for v in range(10)])
    write(tmp_path / "v.csv", [["x", "target"], ["100", "0"], ["200", "1"]])
    d = load_tabular(ctx(tmp_path), dataset="t.csv", validation="v.csv")
    raw = np.arange(10.0)
    np.testing.assert_allclose(d.extras["mean"], [raw.mean()])
    np.testing.assert_allclose(d.extras["std"], [raw.std()])
    np.testing.assert_allclose(d.X_val[:, 0], (np.array([100.0, 200.0]) - 4.5) / raw.std())


def test_validation_file_needs_the_columns_and_known_labels(tmp_path):
    write(tmp_path / "f.csv", flowers(30))
    write(tmp_path / "v.csv", [["colour", "size", "species"], ["red", "1", "setosa"]])
    with pytest.raises(ConfigError, match="data.validation: expected a column of v.csv, got 'id'"):
        load_tabular(ctx(tmp_path), dataset="f.csv", target="species", validation="v.csv")
    write(tmp_path / "v.csv", [["colour", "size", "species"], ["red", "1", "rose"]])
    with pytest.raises(InputError, match="label 'rose' in column 'species' on line 2 is not a "
                                         "training label"):
        load_tabular(ctx(tmp_path), dataset="f.csv", target="species", drop=["id"],
                     validation="v.csv")
    write(tmp_path / "v.csv", [["colour", "size", "species"], ["red", "big", "setosa"]])
    with pytest.raises(InputError, match="column 'size' is numeric in the training data but "
                                         "line 2 has 'big'"):
        load_tabular(ctx(tmp_path), dataset="f.csv", target="species", drop=["id"],
                     validation="v.csv")


# -- missing values ---------------------------------------------------------------------
def gappy(tmp_path):
    rows = [["a", "c", "target"], ["1", "u", "0"], ["", "w", "1"], ["3", "", "0"],
            ["5", "w", "1"], ["8", "w", ""], ["13", "w", "1"]]
    write(tmp_path / "g.csv", rows)
    write(tmp_path / "gv.csv", [["a", "c", "target"], ["NA", "NA", "0"], ["2", "u", "1"]])


def load_gappy(tmp_path, missing):
    return load_tabular(ctx(tmp_path), dataset="g.csv", validation="gv.csv", missing=missing,
                        standardize=False)


def test_missing_error_names_file_column_and_line(tmp_path):
    gappy(tmp_path)
    with pytest.raises(InputError, match=r"data.dataset: .*g.csv: a missing value in column "
                                         r"'a' on line 3 \(set data.missing: drop, mean or"):
        load_gappy(tmp_path, "error")


def test_missing_drop_removes_the_rows(tmp_path):
    gappy(tmp_path)
    d = load_gappy(tmp_path, "drop")
    np.testing.assert_array_equal(d.X_train[:, 0], [1, 5, 13])   # rows without a gap
    assert len(d.y_val) == 1


@pytest.mark.parametrize("how, fill", [("mean", (1 + 3 + 5 + 13) / 4), ("median", 4.0)])
def test_missing_mean_median_fill_from_the_training_part(tmp_path, how, fill):
    gappy(tmp_path)
    d = load_gappy(tmp_path, how)
    # the row without a target is dropped; a is imputed from the kept training rows only
    assert d.n_train == 5 and d.extras["impute"] == {"a": fill, "c": "w"}
    assert d.extras["features"] == ["a", "c=u", "c=w"]
    np.testing.assert_allclose(d.X_train[:, 0], [1, fill, 3, 5, 13])
    np.testing.assert_allclose(d.X_train[2, 1:], [0, 1])      # c missing: most frequent 'w'
    np.testing.assert_allclose(d.X_val[0], [fill, 0, 1])       # validation: training values


def test_non_finite_numbers_are_refused_at_load(tmp_path):
    write(tmp_path / "n.csv", [["x", "target"], ["1", "1"], ["inf", "0"], ["2", "1"]])
    with pytest.raises(InputError, match="a non-finite value in column 'x' on line 3"):
        load_tabular(ctx(tmp_path), dataset="n.csv")
    np.savez(tmp_path / "n.npz", X=np.array([[1.0], [np.nan], [2.0]]), y=np.array([0, 1, 0]))
    with pytest.raises(InputError, match="a missing value in column 'x1' in sample 2"):
        load_tabular(ctx(tmp_path), dataset="n.npz")


# -- regression target ----------------------------------------------------------------------
def test_standardize_target(tmp_path):
    x = np.linspace(0, 1, 40)
    write(tmp_path / "r.csv", [["x", "price"]] + [[f"{v:.6f}", f"{5000 + 1000 * v:.6f}"]
                                                  for v in x])
    d = load_tabular(ctx(tmp_path), dataset="r.csv", target="price", standardize_target=True)
    np.testing.assert_allclose([d.y_train.mean(), d.y_train.std()], [0, 1], atol=1e-12)
    assert 5000 < d.extras["target_mean"] < 6000 and d.extras["target_std"] > 100
    with pytest.raises(ConfigError, match="data.standardize_target: expected false for a "
                                          "classification target"):
        load_tabular(ctx(tmp_path), dataset="moons", standardize_target=True)


def test_new_rows_are_encoded_like_the_validation_rows(tmp_path):
    """What predict needs: the description in extras (through JSON, as a run keeps it)
    turns a file into the same inputs the model saw."""
    rows = flowers(40)
    rows[3][2], rows[5][1] = "", "?"
    write(tmp_path / "f.csv", rows)
    write(tmp_path / "v.csv", [rows[0]] + rows[30:] + [["x", "purple", "NA", "setosa"]])
    write(tmp_path / "f.csv", rows[:30])
    d = load_tabular(ctx(tmp_path), dataset="f.csv", target="species", drop=["id"],
                     validation="v.csv", missing="median")
    extras = json.loads(json.dumps({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                                    for k, v in d.extras.items()}))
    X, kept = encode_csv(tmp_path / "v.csv", extras)
    np.testing.assert_allclose(X, d.X_val, rtol=1e-15)
    assert kept.tolist() == list(range(12))
    X, kept = encode_csv(tmp_path / "v.csv", {**extras, "missing": "drop"})
    assert kept.tolist() == list(range(11)) and np.allclose(X, d.X_val[:11])
    with pytest.raises(ConfigError, match="--data: expected a column of f.csv, got 'colour'"):
        write(tmp_path / "f.csv", [["size"], ["1"]])
        encode_csv(tmp_path / "f.csv", extras)


# -- the CLI: runs end to end, errors are one line ---------------------------------------
runner = CliRunner()


def train(tmp_path, data, model=None, **extra):
    cfg = {"name": "t", "seed": 0, "data": data, "model": model or {"type": "mlp", "hidden": []},
           "optimizer": {"type": "lbfgs", "iterations": 60}, "output": {"every": 20}, **extra}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    return runner.invoke(app, ["train", str(tmp_path / "c.yaml"), "-q", "--out",
                               str(tmp_path / "run")])


def test_string_labels_round_trip_to_predictions(tmp_path):
    rows = flowers(60)
    rows[1:] = [r[:3] + [r[3] + ", sp."] for r in rows[1:]]   # a label with a comma
    write(tmp_path / "f.csv", rows)
    r = train(tmp_path, {"dataset": "f.csv", "target": "species", "drop": ["id"]},
              loss="logistic")
    assert r.exit_code == 0, r.output
    with (tmp_path / "run" / "predictions.csv").open(newline="") as f:
        out = list(csv.DictReader(f))
    labels = {r[3] for r in rows[1:]}
    assert len(out) == 60 and {o["target"] for o in out} == labels
    assert {o["prediction"] for o in out} <= labels
    acc = np.mean([o["target"] == o["prediction"] for o in out if o["validation"] == "1"])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert acc == pytest.approx(summary["metrics"]["val_accuracy"])


def test_predictions_are_in_the_target_units(tmp_path):
    x = np.random.default_rng(0).uniform(0, 1, 50)
    write(tmp_path / "r.csv", [["x", "price"]] + [[f"{v:.6f}", f"{5000 + 1000 * v:.6f}"]
                                                  for v in x])
    r = train(tmp_path, {"dataset": "r.csv", "target": "price", "standardize_target": True},
              loss="mse")
    assert r.exit_code == 0, r.output
    table = np.loadtxt(tmp_path / "run" / "predictions.csv", delimiter=",", skiprows=1)
    assert np.all(table[:, 1] > 4999)
    np.testing.assert_allclose(table[:, 2], table[:, 1], atol=1e-3)
    np.testing.assert_allclose(np.sort(table[:, 1]), np.sort(5000 + 1000 * np.round(x, 6)),
                               atol=1e-6)


def one_line_error(r, *parts):
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    for p in parts:
        assert p in lines[0], lines[0]


def test_a_nan_cell_is_a_data_error_not_a_divergence(tmp_path):
    write(tmp_path / "f.csv", [["x", "target"]] + [[str(i), str(i % 2)] for i in range(20)]
          + [["nan", "1"]])
    r = train(tmp_path, {"dataset": "f.csv"}, loss="logistic")
    one_line_error(r, "f.csv: a missing value in column 'x' on line 22", "data.missing")


@pytest.mark.parametrize("make, data, parts", [
    (lambda p: write(p / "f.csv", flowers(20)), {"target": "specis"},
     ["data.target: expected a column of f.csv", "did you mean 'species'?"]),
    (lambda p: write(p / "f.csv", flowers(20)), {"target": "species", "drop": ["ID"]},
     ["data.drop[0]", "did you mean 'id'?"]),
    (lambda p: (p / "f.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"), {},
     ["f.csv: not UTF-8 text"]),
    (lambda p: (p / "f.csv").symlink_to("/dev/zero"), {}, ["f.csv: not a regular file"]),
    (lambda p: (p / "f.csv").write_text("a,target\n1,2\n3\n"), {},
     ["f.csv: line 3 has 1 cells for 2 column names"]),
    (lambda p: (p / "f.csv").write_text(""), {}, ["f.csv: empty CSV file"]),
    (lambda p: write(p / "f.csv", flowers(20)), {"target": "species", "task": "regression"},
     ["data.task: expected classification for a string target column"]),
    (lambda p: write(p / "f.csv", flowers(20)), {"target": "species", "validation": "v.txt"},
     ["data.validation: expected a fraction in [0, 1) or a .csv file"]),
    (lambda p: write(p / "f.csv", flowers(20)), {"target": "species", "missing": "zero"},
     ["data.missing: expected one of error, drop, mean, median"]),
])
def test_bad_data_is_one_line_exit_2(tmp_path, make, data, parts):
    make(tmp_path)
    r = train(tmp_path, {"dataset": "f.csv", **data})
    one_line_error(r, *parts)


def test_size_cap_and_too_many_categories(tmp_path, monkeypatch):
    rows = [["x", "target"]] + [[str(i), str(i % 2)] for i in range(30)]
    rows[5][0] = "12a"                                     # a typo turns x into strings
    write(tmp_path / "f.csv", rows)
    monkeypatch.setattr("fitcli.data.encode.MAX_CATEGORIES", 10)
    one_line_error(train(tmp_path, {"dataset": "f.csv"}), "column 'x' has", "'12a'",
                   "data.drop")
    monkeypatch.setattr(csvfile, "MAX_CSV_BYTES", 100)
    one_line_error(train(tmp_path, {"dataset": "f.csv"}), "f.csv:", "larger than")


def test_the_readme_example_trains_on_a_messy_file(tmp_path):
    """The issue's 'done when': string labels, a categorical column, an ID to drop and
    missing cells, with the config the README shows."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in readme.split("```yaml")[1:] if "flowers.csv" in b).split("```")[0]
    cfg = yaml.safe_load(block)
    rows = flowers(90)
    rows[4][2], rows[9][1], rows[20][2] = "", "NA", "nan"
    write(tmp_path / "flowers.csv", rows, bom=True, crlf=True)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"name": "f", "seed": 0, **cfg}))
    r = runner.invoke(app, ["train", str(tmp_path / "c.yaml"), "-q", "--out",
                            str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["metrics"]["val_accuracy"] > 0.8
    with (tmp_path / "run" / "predictions.csv").open(newline="") as f:
        assert {o["prediction"] for o in csv.DictReader(f)} <= {"setosa", "versicolor",
                                                                "virginica"}
