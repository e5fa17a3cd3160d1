"""Sequence datasets: shapes, seeding, the grammar, adding statistics, text windows."""

from pathlib import Path

import numpy as np
import pytest

from fitcli.data import DATASETS
from fitcli.data.base import DataContext
from fitcli.data.sequences import (
    REBER_LEGAL,
    REBER_NEXT,
    REBER_SYMBOLS,
    load_sequences,
    reber_legal_mask,
    unigram_entropy,
    window_starts,
)
from fitcli.errors import ConfigError, InputError

TEXT = Path(__file__).resolve().parents[2] / "datasets" / "text" / "lighthouse.txt"


def ctx(seed=0, base=None, dtype=np.float64):
    return DataContext(base or Path("."), np.random.default_rng(seed), np.dtype(dtype))


@pytest.mark.parametrize("kind,xshape,yshape", [
    ("adding", (16, 12, 2), (16, 1)), ("sine", (16, 12, 1), (16, 12, 1)),
    ("reber", (16, 12), (16, 12))])
def test_shapes_split_and_seeding(kind, xshape, yshape):
    d = load_sequences(ctx(), dataset=kind, length=12, samples=20, validation=0.2)
    assert d.X_train.shape == xshape and d.y_train.shape == yshape
    assert len(d.X_val) == len(d.y_val) == 4
    again = load_sequences(ctx(), dataset=kind, length=12, samples=20, validation=0.2)
    other = load_sequences(ctx(1), dataset=kind, length=12, samples=20, validation=0.2)
    np.testing.assert_array_equal(d.X_train, again.X_train)
    assert not np.array_equal(d.X_train, other.X_train)
    assert d.extras["kind"] == kind
    assert d.extras["readout"] == ("last" if kind == "adding" else "all")


def test_adding_targets_and_trivial_predictor():
    d = load_sequences(ctx(), dataset="adding", length=40, samples=20000, validation=0.0)
    X, y = d.X_train, d.y_train
    marks = X[..., 1]
    assert np.all(marks.sum(axis=1) == 2)
    assert np.all(marks[:, :20].sum(axis=1) == 1)          # one mark in each half
    np.testing.assert_allclose(y[:, 0], np.sum(X[..., 0] * marks, axis=1))
    # predicting the mean sum (1.0) scores the variance of a sum of two U(0, 1): 1/6
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.01
    assert d.X_val is None and d.task == "regression"


def test_sine_next_value_targets_and_dtype():
    d = load_sequences(ctx(dtype=np.float32), dataset="sine", length=30, samples=10,
                       validation=0.5, noise=0.1)
    np.testing.assert_array_equal(d.X_train[:, 1:, 0], d.y_train[:, :-1, 0])
    assert d.X_train.dtype == np.float32
    clean = d.extras["clean_val"]
    noise = np.concatenate([d.X_val[..., 0], d.y_val[:, -1:, 0]], axis=1) - clean
    assert 0.05 < noise.std() < 0.15


def test_reber_strings_follow_the_grammar():
    d = load_sequences(ctx(), dataset="reber", length=60, samples=200, validation=0.0)
    X, y = d.X_train, d.y_train
    assert np.all(X[:, 0] == REBER_SYMBOLS.index("B"))
    np.testing.assert_array_equal(X[:, 1:], y[:, :-1])
    mask = reber_legal_mask(y)
    assert np.all(np.take_along_axis(mask, y[..., None], -1))       # every symbol legal
    # the long dependency: the symbol before each final E repeats the string's second symbol
    T, P, E = (REBER_SYMBOLS.index(s) for s in "TPE")
    state = np.full(len(y), REBER_NEXT[0, 0])
    branch = np.full(len(y), -1)
    checked = 0
    for t in range(y.shape[1]):
        branch = np.where(state == 1, y[:, t], branch)
        final = state == 18                                            # expecting final E
        assert np.all(y[final, t] == E)
        prev = (state == 9) | (state == 17)                            # expecting the branch
        assert np.all(y[prev, t] == branch[prev])
        checked += prev.sum()
        state = REBER_NEXT[state, y[:, t]]
    assert checked > 100 and set(np.unique(branch[branch >= 0])) == {T, P}


def test_reber_automaton_has_one_or_two_choices_everywhere():
    counts = REBER_LEGAL.sum(axis=1)
    assert set(counts) <= {1, 2} and REBER_NEXT.shape == (19, 7)


def test_text_windows_vocabulary_and_held_out_tail(tmp_path):
    text = "abcdefghij" * 30 + "zzzzzzzzzz" * 10
    (tmp_path / "t.txt").write_text(text)
    d = load_sequences(ctx(base=tmp_path), dataset="text", path="t.txt", length=8,
                       samples=40, validation=0.25)
    vocab = d.extras["vocab"]
    assert vocab == sorted(set(text)) and d.n_classes == len(vocab) == 11
    # 40 training windows over the first 300 characters (38 would cover them); the
    # held-out 100 characters tiled by ⌈99 / 8⌉ = 13 windows
    assert d.X_train.shape == (40, 8) and d.X_val.shape == (13, 8)
    np.testing.assert_array_equal(d.X_train[:, 1:], d.y_train[:, :-1])
    decoded = ["".join(vocab[i] for i in row) for row in d.X_train]
    assert all(s in text[:300] for s in decoded)                     # windows of the file
    assert "z" not in "".join(decoded)                               # the tail is held out
    assert all(set(vocab[i] for i in row) == {"z"} for row in d.X_val)
    assert d.task == "classification"


@pytest.mark.parametrize("n_chars,length,count", [
    (300, 8, None), (300, 8, 40), (65, 64, None), (66, 64, None), (1000, 7, 500),
    (129, 64, 2), (19724, 64, 900)])
def test_text_windows_cover_every_character(n_chars, length, count):
    starts = window_starts(n_chars, length, count)
    need = -(-(n_chars - 1) // length)
    assert len(starts) == max(need, count or 0)
    assert starts[0] == 0 and starts[-1] == n_chars - 1 - length    # inside, to the end
    covered = np.zeros(n_chars, dtype=bool)
    covered[(starts[:, None] + np.arange(length + 1)).ravel()] = True
    assert covered.all()


def test_an_epoch_of_text_windows_visits_every_training_character(tmp_path):
    rng = np.random.default_rng(5)
    text = "".join(rng.choice(list("abcdefgh "), 997))
    (tmp_path / "t.txt").write_text(text)
    d = load_sequences(ctx(base=tmp_path), dataset="text", path="t.txt", length=16,
                       validation=0.1)                                # samples: the fewest
    cut = d.extras["train_chars"]
    assert cut == 997 - round(0.1 * 997) and d.extras["val_chars"] == 997 - cut
    vocab = np.array(d.extras["vocab"])
    train = text[:cut]
    seen = np.zeros(cut, dtype=bool)
    for row, target in zip(d.X_train, d.y_train, strict=True):     # find each window
        s = "".join(vocab[row]) + vocab[target[-1]]
        at = train.find(s)
        assert at >= 0
        seen[at:at + len(s)] = True
    assert seen.all() and len(d.X_train) == -(-(cut - 1) // 16)


def test_text_validation_cut_is_a_fraction_of_the_file_apart_from_the_windows(tmp_path):
    text = "abcdefghij" * 100 + "z" * 250 + "y" * 250
    (tmp_path / "t.txt").write_text(text)
    for samples in (None, 80, 300):     # the cut does not move with the number of windows
        d = load_sequences(ctx(base=tmp_path), dataset="text", path="t.txt", length=10,
                           samples=samples, validation=1 / 3)
        vocab = d.extras["vocab"]
        assert d.extras["train_chars"] == 1000 and d.extras["val_chars"] == 500
        assert not {"y", "z"} & {vocab[i] for i in d.X_train.ravel()}
        assert len(d.X_val) == 50                                    # 500 / 10, all of them
        held = {vocab[i] for i in np.concatenate([d.X_val.ravel(), d.y_val.ravel()])}
        assert held == {"z", "y"}                                    # the whole tail
    capped = load_sequences(ctx(base=tmp_path), dataset="text", path="t.txt", length=10,
                            validation=1 / 3, validation_windows=7)
    assert len(capped.X_val) == 7
    assert {capped.extras["vocab"][i] for i in capped.X_val.ravel()} == {"z", "y"}  # spread
    none = load_sequences(ctx(base=tmp_path), dataset="text", path="t.txt", length=10,
                          validation=0.0)
    assert none.X_val is None and none.extras["train_chars"] == 1500


def test_shipped_text_is_large_enough_and_has_a_readme():
    d = load_sequences(ctx(base=TEXT.parent), dataset="text", path=TEXT.name, length=64,
                       samples=100, validation=0.1)
    assert 20_000 <= TEXT.stat().st_size <= 60_000
    assert (TEXT.parent / "README.md").exists()
    assert 3.5 < d.extras["unigram_bits"] < np.log2(len(d.extras["vocab"]))


def test_unigram_entropy():
    assert unigram_entropy(np.arange(8), 8) == pytest.approx(3.0)
    assert unigram_entropy(np.zeros(5, dtype=int), 3) == pytest.approx(0.0)


@pytest.mark.parametrize("options,field", [
    ({"dataset": "text"}, "data.path"),
    ({"dataset": "adding", "path": "x.txt"}, "data.path"),
    ({"dataset": "adding", "length": 1}, "data.length"),
    ({"dataset": "adding", "samples": 0}, "data.samples"),
    ({"dataset": "sine", "validation": 1.0}, "data.validation"),
    ({"dataset": "sine", "noise": -1.0}, "data.noise"),
    ({"dataset": "nope"}, "data.dataset"),
    ({"dataset": "adding", "samples": 1.5}, "data.samples"),
    ({"dataset": "adding", "validation_windows": 5}, "data.validation_windows"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ConfigError) as e:
        load_sequences(ctx(), **options)
    assert e.value.field == field


def test_text_file_errors(tmp_path):
    with pytest.raises(InputError, match="data.path"):
        load_sequences(ctx(base=tmp_path), dataset="text", path="missing.txt")
    (tmp_path / "short.txt").write_text("tiny text")
    with pytest.raises(ConfigError) as e:
        load_sequences(ctx(base=tmp_path), dataset="text", path="short.txt", length=50)
    assert e.value.field == "data.length"
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(InputError, match="empty"):
        load_sequences(ctx(base=tmp_path), dataset="text", path="empty.txt")


def test_registered_in_datasets():
    for kind in ("adding", "sine", "reber", "text"):
        assert DATASETS[kind].family == "sequences"
    d = DATASETS["reber"].make(ctx(), length=5, samples=4)
    assert d.X_train.shape[1] == 5
