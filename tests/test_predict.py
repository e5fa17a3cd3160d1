"""predict / evaluate / model.npz: a fitted run applied to files it was not trained on gives
what the run itself computed, from model.npz alone."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import fitcli
from fitcli.cli import app
from fitcli.errors import FitcliError

ROOT = Path(__file__).resolve().parents[1]
NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                  "nine"])


def _write(path, header, columns):
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(np.column_stack(columns).tolist())


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """An mlp trained on a CSV of digits with string labels and its validation file."""
    d = tmp_path_factory.mktemp("digits")
    with np.load(ROOT / "datasets" / "digits.npz") as f:
        X, y = f["X"][:700].astype(int), f["y"][:700]
    header = [f"px{i}" for i in range(64)] + ["digit"]
    _write(d / "train.csv", header, [X[:500], NAMES[y[:500]]])
    _write(d / "valid.csv", header, [X[500:], NAMES[y[500:]]])
    cfg = {"name": "digits-csv", "data": {"dataset": "train.csv", "validation": "valid.csv",
                                          "target": "digit"},
           "model": {"type": "mlp", "hidden": [16]},
           "optimizer": {"type": "lbfgs", "iterations": 30}}
    (d / "c.yaml").write_text(yaml.safe_dump(cfg))
    r = fitcli.fit(d / "c.yaml", out=d / "run")
    return d, r


def test_classification_predict_and_evaluate_reproduce_the_run(digits_run):
    d, r = digits_run
    (d / "train.csv").rename(d / "moved.csv")       # predict needs no training data
    try:
        pred = fitcli.predict(d / "run", d / "valid.csv", d / "p.csv")
        ev = fitcli.evaluate(d / "run", d / "valid.csv", d / "ev")
    finally:
        (d / "moved.csv").rename(d / "train.csv")
    p = r.problem
    with fitcli.performance():   # the same BLAS threads as predict's (bitwise equality)
        own = p.model.predict(p.params.views, p.data.X_val)
    assert np.array_equal(pred.outputs, own)
    last = r.history[-1]
    assert ev["metrics"]["loss"] == last["val_loss"]
    assert ev["metrics"]["accuracy"] == last["val_accuracy"]
    with (d / "run" / "predictions.csv").open() as f:
        own = [row["prediction"] for row in csv.DictReader(f) if row["validation"] == "1"]
    with (d / "p.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [row["prediction"] for row in rows] == own
    assert set(own) <= set(NAMES) and rows[0]["row"] == "1"
    assert list(rows[0])[2:] == [f"p_{n}" for n in sorted(NAMES)]
    assert np.allclose(pred.probabilities.sum(axis=1), 1.0)
    cm = np.array(ev["confusion"]["matrix"])
    assert cm.sum() == 200 and np.trace(cm) == round(200 * last["val_accuracy"])
    assert json.loads((d / "ev" / "evaluation.json").read_text())["metrics"] == ev["metrics"]
    assert (d / "ev" / "confusion.png").stat().st_size > 0


def test_columns_by_name_extra_ignored_missing_and_nan_one_line(digits_run, tmp_path):
    d, _ = digits_run
    with (d / "valid.csv").open() as f:
        rows = list(csv.reader(f))
    header, body = rows[0], np.array(rows[1:11])
    order = list(range(len(header)))[::-1]
    _write(tmp_path / "shuffled.csv", ["note", *[header[i] for i in order]],
           [np.full(10, "x"), body[:, order]])
    a = fitcli.predict(d / "run", tmp_path / "shuffled.csv")
    _write(tmp_path / "same.csv", header, [body])
    b = fitcli.predict(d / "run", tmp_path / "same.csv")
    assert np.array_equal(a.outputs, b.outputs) and a.rows == b.rows
    _write(tmp_path / "short.csv", header[1:], [body[:, 1:]])
    with pytest.raises(FitcliError, match="px0"):
        fitcli.predict(d / "run", tmp_path / "short.csv")
    body[3, 5] = "NA"
    _write(tmp_path / "gap.csv", header, [body])
    with pytest.raises(FitcliError, match=r"gap\.csv: a missing value in column 'px5' on "
                       r"line 5"):
        fitcli.predict(d / "run", tmp_path / "gap.csv")


def test_model_npz_forward_in_plain_numpy(digits_run):
    """The README's example: the layout of model.npz is enough for a numpy forward pass."""
    d, r = digits_run
    with (d / "valid.csv").open() as f:
        X = np.array([row[:-1] for row in list(csv.reader(f))[1:]], dtype=float)
    m = np.load(d / "run" / "model.npz", allow_pickle=False)
    h = (X - m["extra.mean"]) / m["extra.std"]
    h = np.tanh(h @ m["param.W1"] + m["param.b1"])
    logits = h @ m["param.W2"] + m["param.b2"]
    labels = m["extra.labels"][logits.argmax(axis=1)]
    config = json.loads(str(m["config"]))
    assert config["model"]["activation"] == "tanh"
    p = r.problem
    assert np.allclose(logits, p.model.predict(p.params.views, p.data.X_val), atol=1e-12)
    pred = fitcli.predict(d / "run", d / "valid.csv")
    assert labels.tolist() == [row[1] for row in pred.rows]


def test_regression_in_the_targets_units(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(240, 3))
    y = 1000 + 50 * X[:, 0] - 20 * X[:, 1] ** 2 + rng.normal(size=240)
    _write(tmp_path / "t.csv", ["a", "b", "c", "price"], [X[:180], y[:180]])
    _write(tmp_path / "v.csv", ["price", "c", "b", "a"], [y[180:], X[180:, ::-1]])
    cfg = {"name": "reg", "data": {"dataset": "t.csv", "validation": "v.csv",
                                   "target": "price", "standardize_target": True},
           "model": {"type": "mlp", "hidden": [8]}, "loss": "mse",
           "optimizer": {"type": "lbfgs", "iterations": 40}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    r = fitcli.fit(tmp_path / "c.yaml", out=tmp_path / "run")
    pred = fitcli.predict(tmp_path / "run", tmp_path / "v.csv")
    p, ex = r.problem, r.problem.data.extras
    own = p.model.predict(p.params.views, p.data.X_val) * ex["target_std"] + ex["target_mean"]
    assert np.array_equal(np.array([row[1] for row in pred.rows], dtype=float),
                          np.array([float(f"{v:.10g}") for v in own[:, 0]]))
    assert abs(np.mean(own[:, 0]) - np.mean(y[180:])) < 20          # in the target's units
    ev = fitcli.evaluate(tmp_path / "run", tmp_path / "v.csv")
    assert ev["metrics"]["loss"] == r.history[-1]["val_loss"]
    assert ev["metrics"]["r2"] == r.history[-1]["val_r2"]
    rmse = np.sqrt(np.mean((own[:, 0] - y[180:]) ** 2))
    assert ev["metrics"]["rmse"] == pytest.approx(rmse, rel=1e-9)


@pytest.mark.parametrize("dataset", ["text", "adding"])
def test_rnn_predict_and_evaluate_reproduce_the_run(tmp_path, dataset):
    cfg = "rnn_text.yaml" if dataset == "text" else "rnn_adding.yaml"
    r = fitcli.fit(ROOT / "configs" / cfg,
                   {"optimizer.iterations": 6, "data.samples": 60, "data.length": 12,
                    "model.hidden": 8}, out=tmp_path / "run", output={"every": 3})
    d, p = r.problem.data, r.problem
    np.savez(tmp_path / "v.npz", X=d.X_val, y=d.y_val)
    pred = fitcli.predict(tmp_path / "run", tmp_path / "v.npz")
    with fitcli.performance():   # the same BLAS threads as predict's (bitwise equality)
        own = p.model.predict(p.params.views, d.X_val)
    assert np.array_equal(pred.outputs, own)
    ev = fitcli.evaluate(tmp_path / "run", tmp_path / "v.npz")
    last = r.history[-1]
    for k, v in ev["metrics"].items():
        assert v == last[f"val_{k}"], k
    if dataset == "text":      # a plain text: every character predicts the next one
        vocab = d.extras["vocab"]
        text = "".join(vocab[i] for i in d.X_val[0]) + vocab[d.y_val[0, -1]]
        (tmp_path / "t.txt").write_text(text, encoding="utf-8")
        ev = fitcli.evaluate(tmp_path / "run", tmp_path / "t.txt")
        own = p.model.predict(p.params.views, d.X_val[:1])
        from fitcli.models.rnn.outputs import bits_per_char
        assert ev["metrics"]["bpc"] == pytest.approx(bits_per_char(own, d.y_val[:1]), 1e-12)
        rows = fitcli.predict(tmp_path / "run", tmp_path / "t.txt").rows
        assert len(rows) == len(text) and rows[1][1] == text[1]
        (tmp_path / "odd.txt").write_text("☃", encoding="utf-8")
        with pytest.raises(FitcliError, match="not in the run's vocabulary"):
            fitcli.predict(tmp_path / "run", tmp_path / "odd.txt")


def test_registration_warps_another_image_superres_has_nothing(tmp_path):
    cfg = ROOT / "configs" / "registration_phantom.yaml"
    r = fitcli.solve(cfg, {"data.resize": 32, "model.levels": 2, "model.iterations": 4},
                     out=tmp_path / "reg")
    model = r.problem.model
    np.save(tmp_path / "moving.npy", model.pyramid[-1].moving)
    pred = fitcli.predict(tmp_path / "reg", tmp_path / "moving.npy", tmp_path / "w.npy")
    assert np.array_equal(pred.image, model.result_array(r.params))
    assert np.array_equal(np.load(tmp_path / "w.npy"), pred.image)
    np.save(tmp_path / "small.npy", np.zeros((16, 16)))
    with pytest.raises(FitcliError, match="expected an image of 32x32 pixels"):
        fitcli.predict(tmp_path / "reg", tmp_path / "small.npy")
    cfg = cfg.with_name("superres_camera.yaml")
    fitcli.solve(cfg, {"data.size": 32, "optimizer.iterations": 2}, out=tmp_path / "sr")
    with pytest.raises(FitcliError, match="superres run: nothing to predict"):
        fitcli.predict(tmp_path / "sr", tmp_path / "small.npy")


def test_cli_and_a_run_from_before_model_npz(digits_run, tmp_path):
    d, _ = digits_run
    run = CliRunner().invoke(app, ["evaluate", str(d / "run"), "--data", str(d / "valid.csv"),
                                   "--out", str(tmp_path / "ev")])
    assert run.exit_code == 0, run.output
    assert "accuracy" in run.output and (tmp_path / "ev" / "evaluation.json").exists()
    run = CliRunner().invoke(app, ["predict", str(d / "run"), "--data", str(d / "valid.csv")])
    assert run.exit_code == 0 and (d / "run" / "predictions-valid.csv").exists()
    bad = CliRunner().invoke(app, ["predict", str(d / "run"), "--data", str(d / "c.yaml")])
    assert bad.exit_code == 2 and "error: --data:" in bad.output
    assert len(bad.output.strip().splitlines()) == 1
    # an old run folder: rebuilt from config.yaml + checkpoint.npz, with a note
    old = tmp_path / "old"
    old.mkdir()
    for name in ("config.yaml", "checkpoint.npz"):
        (old / name).write_bytes((d / "run" / name).read_bytes())
    fitted = fitcli.load_fitted(old)
    assert "has no model.npz" in fitted.note
    assert np.array_equal(fitcli.predict(old, d / "valid.csv").outputs,
                          fitcli.predict(d / "run", d / "valid.csv").outputs)
    (old / "checkpoint.npz").unlink()
    with pytest.raises(FitcliError, match="has no checkpoint.npz"):
        fitcli.predict(old, d / "valid.csv")
