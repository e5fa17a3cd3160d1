"""Issue 13, exhaustion: sizes beyond the machine are refused before any allocation,
files that never end are not read, the bicubic baseline is banded."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hostile_helpers import TINY, cli, one_line_error, write_config

from fitcli import api, resources
from fitcli.errors import ConfigError, InputError
from fitcli.models.superres.baseline import _bicubic_taps, _keys, aligned_cubic


@pytest.mark.parametrize("sets, field", [
    (["model.hidden=[10000000000]"], "model.hidden"),
    (["data.samples=1e13"], "data.samples"),
])
def test_huge_mlp_sizes_are_refused_up_front(tiny, sets, field):
    t0 = time.perf_counter()
    line = one_line_error(cli("validate", tiny, *[a for s in sets for a in ("--set", s)]),
                          field, "would need", "available")
    assert time.perf_counter() - t0 < 5
    assert "GiB" in line or "TiB" in line or "PiB" in line


@pytest.mark.parametrize("model, field", [
    ({"type": "testfn", "function": "quadratic", "dim": 10 ** 9}, "model.dim"),
    ({"type": "testfn", "function": "rosenbrock", "dim": 10 ** 13}, "model.dim"),
])
def test_huge_testfn_dims(model, field):
    with pytest.raises(ConfigError, match=f"{field}.*would need"):
        api.build(api.load({"model": model, "optimizer": {"type": "gd"}}))


def test_huge_blur_rnn_and_registration_sizes(tmp_path):
    sr = {"model": {"type": "superres", "factor": 2, "blur": {"sigma": 1e6}},
          "data": {"image": "camera", "size": 32}, "optimizer": {"type": "lbfgs"}}
    with pytest.raises(ConfigError, match="model.blur.*would need"):
        api.build(api.load(sr))
    rnn = {"model": {"type": "rnn", "hidden": 8}, "data": {"dataset": "sine", "length": 10 ** 8},
           "optimizer": {"type": "lbfgs"}}
    with pytest.raises(ConfigError, match="data.length.*would need"):
        api.build(api.load(rnn))
    reg = {"model": {"type": "registration"}, "data": {"image": "camera", "resize": 10 ** 6,
                                                       "deformation": {"type": "rotation"}},
           "optimizer": {"type": "lbfgs"}}
    with pytest.raises(ConfigError, match="data.resize.*would need"):
        api.build(api.load(reg))


def test_a_huge_input_image_is_refused_from_its_header(tmp_path):
    from PIL import Image

    Image.new("L", (8000, 8000), 128).save(tmp_path / "big.png")   # 80 KB on disk
    cfg = {"model": {"type": "superres", "factor": 4}, "data": {"image": "camera", "size": 64},
           "optimizer": {"type": "lbfgs"}}
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="data.observation.*would need"):
        api.solve(cfg, input=tmp_path / "big.png", out=tmp_path / "r")
    assert time.perf_counter() - t0 < 5 and not (tmp_path / "r").exists()


def test_the_limit_is_the_machines_available_memory(tiny, monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: 10_000)
    one_line_error(cli("train", tiny, "--set", "model.hidden=[100]", "-q"),
                   "model.hidden", "9.8 KiB is available")
    assert resources.available_memory.__name__ == "<lambda>"
    monkeypatch.undo()
    assert resources.available_memory() > 0


def _dense(n, out, factor):
    idx, w = _bicubic_taps(n, out, factor)
    M = np.zeros((out, n))
    np.add.at(M, (np.repeat(np.arange(out), 4), idx.ravel()), w.ravel())
    return M


@pytest.mark.parametrize("n, f, shape, channels", [
    (5, 3, (15, 15), ()), (7, 2, (14, 13), (3,)), (2, 4, (8, 8), ()), (9, 1, (9, 9), ()),
    (4, 2, (12, 8), ())])
def test_the_banded_baseline_equals_the_dense_matrices(n, f, shape, channels):
    y = np.random.default_rng(0).random((n, n) + channels)
    dense = np.einsum("ia,ab...,jb->ij...", _dense(n, shape[0], f), y, _dense(n, shape[1], f))
    np.testing.assert_allclose(aligned_cubic(y, f, shape), dense, atol=1e-14)
    assert np.allclose(aligned_cubic(y, f, shape)[::f, ::f][:n, :n], y[:shape[0], :shape[1]])
    assert _keys(np.array([0.0]))[0] == 1.0


def test_the_baseline_is_linear_in_the_output_size(monkeypatch):
    """No (out, n) matrix: a 2000² input ×2 is well under a second and its memory a few
    output images (the dense version took 6 s and 3 × 8000 × 4000 float64 matrices)."""
    y = np.random.default_rng(0).random((2000, 2000))
    t0 = time.perf_counter()
    aligned_cubic(y, 2, (4000, 4000))
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("kind", ["csv", "npz", "png", "npy", "kernel", "text"])
def test_files_that_never_end_are_not_read(tmp_path, monkeypatch, target, kind):
    monkeypatch.chdir(tmp_path)
    suffix = {"csv": ".csv", "npz": ".npz", "png": ".png", "npy": ".npy", "kernel": ".npy",
              "text": ".txt"}[kind]
    (tmp_path / f"f{suffix}").symlink_to(target)
    cfg = {"csv": dict(TINY, data={"dataset": "f.csv"}),
           "npz": dict(TINY, data={"dataset": "f.npz"}),
           "png": {"model": {"type": "superres"}, "data": {"image": "f.png"}},
           "npy": {"model": {"type": "superres"}, "data": {"image": "f.npy"}},
           "kernel": {"model": {"type": "superres", "blur": {"kernel": "file", "path": "f.npy"}},
                      "data": {"image": "camera", "size": 32}},
           "text": {"model": {"type": "rnn"}, "data": {"dataset": "text", "path": "f.txt"}}}[kind]
    cfg.setdefault("optimizer", {"type": "lbfgs"})
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="regular file"):
        api.build(api.load(cfg))
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("content", [b"", b"hello, not a png\n", b"\x89PNG\r\n\x1a\n\x00"])
def test_a_broken_png_is_one_short_line(tiny, content):
    from pathlib import Path

    Path("bad.png").write_bytes(content)
    write_config(tiny, model={"type": "superres"}, data={"image": "bad.png"}, loss="ssd",
                 optimizer={"type": "lbfgs"})
    line = one_line_error(cli("validate", tiny), "bad.png")
    assert "pip install" not in line and len(line) < 300


def test_a_huge_mlp_on_a_csv_is_refused_once_the_rows_are_known(tmp_path):
    """The rows of a file are unknown before it is read: the check runs again after."""
    rows = "\n".join(f"{i},{i % 3},{i % 2}" for i in range(400))
    (tmp_path / "d.csv").write_text("a,b,target\n" + rows + "\n")
    raw = {"data": {"dataset": str(tmp_path / "d.csv")},
           "model": {"type": "mlp", "hidden": [2 * 10 ** 7]},   # weights fit, activations not
           "optimizer": {"type": "lbfgs", "iterations": 1}}
    with pytest.raises(ConfigError, match="would need"):
        api.build(api.load(raw))
