"""Sequence datasets for the ``rnn`` model: adding, sine, reber, text.

Every generator is vectorised over the samples (loops run over time steps
only) and draws from the config's seeded generator. All sequences of a
dataset have the same ``length`` T. Inputs and targets:

=========  ==========================  ===========================  =========
dataset    inputs                      targets                      readout
=========  ==========================  ===========================  =========
adding     (N, T, 2) float: value,     (N, 1) sum of the two        last
           marker                      marked values
sine       (N, T, 1) float: x_0..T-1   (N, T, 1) x_1..x_T (next     all
                                       value, noisy)
reber      (N, T) int symbol codes     (N, T) next symbol           all
text       (N, T) int character codes  (N, T) next character        all
=========  ==========================  ===========================  =========

Text: ``validation`` holds out the file's last characters (that fraction of
them); the training windows are fixed and spread evenly over the rest so that
together they cover every training character — one epoch of the optimizer's
minibatches (a permutation of the windows) visits all of the training text.
The held-out tail is tiled by non-overlapping windows (the last one ending at
the end of the file), at most ``validation_windows`` of them.

Integer inputs are symbol codes into ``extras["vocab"]``; the model one-hot
encodes them. ``task`` is ``classification`` for reber and text (integer
targets, softmax cross-entropy) and ``regression`` for adding and sine.
``extras`` also carries ``kind``, ``n_inputs``, ``n_outputs``, ``readout``
(what the targets need) and a ``sample_seed`` for text sampling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import ConfigError, InputError
from ..resources import regular_file
from .base import DataContext, Dataset, DatasetEntry, resolve_path

__all__ = ["SEQUENCES", "REBER_SYMBOLS", "load_sequences", "reber_legal_mask", "unigram_entropy",
           "window_starts"]

KINDS = ("adding", "sine", "reber", "text")
DEFAULT_SAMPLES = 2000          # generated datasets
MAX_VALIDATION_WINDOWS = 4096   # text: held-out windows kept at most (memory of evaluation)


# -- adding ------------------------------------------------------------------------------
def make_adding(rng: np.random.Generator, n: int, length: int, dtype=np.float64):
    """Hochreiter & Schmidhuber's adding problem, T = ``length``.

    Channel 0 holds values uniform in [0, 1]; channel 1 marks one position in
    the first half and one in the second half. Target: the sum of the two
    marked values. Predicting the mean (1.0) scores MSE = 2/12 ≈ 0.167.
    """
    values = rng.random((n, length))
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    marks = np.zeros((n, length))
    rows = np.arange(n)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    X = np.stack([values, marks], axis=-1).astype(dtype)
    y = (values[rows, first] + values[rows, second])[:, None].astype(dtype)
    return X, y


# -- sine ------------------------------------------------------------------------------------
def make_sine(rng: np.random.Generator, n: int, length: int, noise: float = 0.05,
              components: int = 3, dtype=np.float64):
    """Noisy sums of ``components`` sines; inputs x_0..x_{T-1}, targets x_1..x_T.

    Periods are uniform in [8, 40] steps, amplitudes in [0.2, 0.6], phases
    uniform; Gaussian noise of std ``noise`` is added to every observed value.
    Returns X (N, T, 1), y (N, T, 1) and the noise-free series (N, T + 1).
    """
    t = np.arange(length + 1)
    period = rng.uniform(8.0, 40.0, (n, components, 1))
    amp = rng.uniform(0.2, 0.6, (n, components, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (n, components, 1))
    clean = np.sum(amp * np.sin(2 * np.pi * t / period + phase), axis=1)
    series = clean + noise * rng.standard_normal(clean.shape)
    X = series[:, :-1, None].astype(dtype)
    y = series[:, 1:, None].astype(dtype)
    return X, y, clean.astype(dtype)


# -- embedded Reber grammar ---------------------------------------------------------------
REBER_SYMBOLS = ("B", "T", "P", "S", "X", "V", "E")
_SYM = {s: i for i, s in enumerate(REBER_SYMBOLS)}


def _reber_automaton() -> tuple[np.ndarray, np.ndarray]:
    """Transition table NEXT (states, symbols) → state (−1: illegal) of a stream of
    embedded Reber strings, and LEGAL (states, symbols): the symbols allowed next.

    State 0 expects the outer B; 1 expects the branch symbol T | P; each branch
    (offset 2 for T, 10 for P) runs the inner Reber graph (B, nodes 1–6, E) and
    then expects its own branch symbol again; state 18 expects the final E,
    after which the next string starts (state 0).
    """
    nxt = -np.ones((19, len(REBER_SYMBOLS)), dtype=np.int64)

    def edge(a, sym, b):
        nxt[a, _SYM[sym]] = b

    edge(0, "B", 1)
    for branch, o in (("T", 2), ("P", 10)):
        edge(1, branch, o)
        edge(o, "B", o + 1)
        edge(o + 1, "T", o + 2)
        edge(o + 1, "P", o + 3)
        edge(o + 2, "S", o + 2)
        edge(o + 2, "X", o + 4)
        edge(o + 3, "T", o + 3)
        edge(o + 3, "V", o + 5)
        edge(o + 4, "X", o + 3)
        edge(o + 4, "S", o + 6)
        edge(o + 5, "P", o + 4)
        edge(o + 5, "V", o + 6)
        edge(o + 6, "E", o + 7)
        edge(o + 7, branch, 18)
    edge(18, "E", 0)
    return nxt, nxt >= 0


REBER_NEXT, REBER_LEGAL = _reber_automaton()


def make_reber(rng: np.random.Generator, n: int, length: int):
    """Streams of embedded Reber strings, each sample starting at a string's B.

    Every step picks uniformly among the legal symbols (one or two). Returns
    symbol codes X (N, T) and next-symbol targets y (N, T).
    """
    # the (one or two) legal symbols of every state, the second repeating the first if single
    first = np.argmax(REBER_LEGAL, axis=1)
    last = REBER_LEGAL.shape[1] - 1 - np.argmax(REBER_LEGAL[:, ::-1], axis=1)
    state = np.zeros(n, dtype=np.int64)
    seq = np.empty((n, length + 1), dtype=np.int64)
    for t in range(length + 1):
        sym = np.where(rng.random(n) < 0.5, first[state], last[state])
        seq[:, t] = sym
        state = REBER_NEXT[state, sym]
    return seq[:, :-1], seq[:, 1:]


def reber_legal_mask(targets: np.ndarray) -> np.ndarray:
    """The legal next symbols at every step, (N, T, 7) bool, from next-symbol targets (N, T).

    A sample starts with the outer B, so the grammar state before each
    target is recovered by running the automaton over the targets.
    """
    targets = np.asarray(targets, dtype=np.int64)
    n, length = targets.shape
    state = np.full(n, REBER_NEXT[0, _SYM["B"]])
    mask = np.empty((n, length, len(REBER_SYMBOLS)), dtype=bool)
    for t in range(length):
        mask[:, t] = REBER_LEGAL[state]
        state = REBER_NEXT[state, targets[:, t]]
        state = np.where(state < 0, 0, state)  # an illegal target: restart (never in our data)
    return mask


# -- text ---------------------------------------------------------------------------------------
def read_text(path: Path) -> str:
    """The file's text (UTF-8); InputError when unreadable or empty."""
    regular_file(path, "a UTF-8 text file", 1 << 30)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"data.path: cannot read {path} as UTF-8 text ({exc})") from None
    if not text:
        raise InputError(f"data.path: {path} is empty")
    return text


def unigram_entropy(codes: np.ndarray, n_symbols: int) -> float:
    """Entropy in bits of the symbol frequencies: the bits/char of a memoryless model."""
    p = np.bincount(codes, minlength=n_symbols) / len(codes)
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)))


def window_starts(n_chars: int, length: int, count: int | None = None) -> np.ndarray:
    """Start positions of windows of ``length`` + 1 characters spread evenly over
    ``n_chars`` characters, the first at 0 and the last ending at the end.

    At least ⌈(n_chars − 1) / length⌉ windows (fewer, or ``count`` None, give exactly
    that many): consecutive starts are then at most ``length`` apart, so the windows'
    inputs and targets together cover every character. More windows overlap more.
    """
    need = -(-(n_chars - 1) // length)
    n = need if count is None else max(int(count), need)
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    return np.round(np.linspace(0, n_chars - 1 - length, n)).astype(np.int64)


def _windows(codes, starts, length):
    """The windows at ``starts`` of ``codes``: (inputs, next-symbol targets), (n, length)."""
    w = codes[starts[:, None] + np.arange(length + 1)]
    return w[:, :-1], w[:, 1:]


def make_text(path: Path, length: int, validation: float, n_train: int | None,
              max_val: int):
    """Character windows from a text file: the last ``validation`` fraction of the
    characters is held out; the training windows cover the rest (:func:`window_starts`,
    ``n_train`` windows or the fewest that cover), the validation windows tile the
    held-out tail without overlap (at most ``max_val``, evenly spaced)."""
    text = read_text(path)
    vocab = sorted(set(text))
    lookup = {c: i for i, c in enumerate(vocab)}
    codes = np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))
    cut = len(codes) - int(round(validation * len(codes)))
    held = len(codes) - cut
    if cut < length + 1 or (held and held < length + 1):
        raise ConfigError("data.length", f"at most {min(cut, held or cut) - 1} for "
                          f"{path.name} ({len(codes)} characters, validation "
                          f"{validation:g})", length)
    Xtr, ytr = _windows(codes[:cut], window_starts(cut, length, n_train), length)
    Xva = yva = None
    if held:
        starts = window_starts(held, length)
        if len(starts) > max_val:   # bounded memory: evenly spaced among the tiles
            starts = starts[np.round(np.linspace(0, len(starts) - 1, max_val)).astype(int)]
        Xva, yva = _windows(codes[cut:], starts, length)
    extras = {"vocab": vocab, "unigram_bits": unigram_entropy(codes[:cut], len(vocab)),
              "text_head": text[:200], "train_chars": cut, "val_chars": held}
    return Xtr, ytr, Xva, yva, extras


# -- the family loader -------------------------------------------------------------------------
def _split(n_total: int, validation: float) -> tuple[int, int]:
    n_val = int(round(validation * n_total))
    return n_total - n_val, n_val


def _is_int(value, low) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low


def _check(dataset, length, samples, validation, noise, validation_windows):
    if not _is_int(length, 2):
        raise ConfigError("data.length", "an integer >= 2", length)
    if not (samples is None or _is_int(samples, 2)):
        raise ConfigError("data.samples", "an integer >= 2", samples)
    if dataset != "text" and validation_windows is not None:
        raise ConfigError("data.validation_windows", f"nothing for dataset {dataset} "
                          "(only text cuts windows from a file)", validation_windows)
    if not _is_int(2 if validation_windows is None else validation_windows, 1):
        raise ConfigError("data.validation_windows", "an integer >= 1", validation_windows)
    if not 0.0 <= validation < 1.0:
        raise ConfigError("data.validation", "a fraction in [0, 1)", validation)
    n = DEFAULT_SAMPLES if samples is None and dataset != "text" else samples
    if n is not None and _split(n, validation)[0] < 1:   # text: checked on the file's cut
        raise ConfigError("data.validation", f"a fraction that leaves training samples "
                          f"(of {n})", validation)
    if noise < 0:
        raise ConfigError("data.noise", "a non-negative number", noise)


def load_sequences(ctx: DataContext, /, *, dataset: Literal["adding", "sine", "reber", "text"],
                   length: int = 50, samples: int | None = None, validation: float = 0.2,
                   path: str | None = None, noise: float = 0.05,
                   validation_windows: int | None = None) -> Dataset:
    """Build a sequence dataset (see the module docstring for shapes).

    Parameters
    ----------
    dataset : adding | sine | reber | text
    length : sequence length T (all sequences of a dataset share it)
    samples : number of sequences (training + validation; default 2000); for ``text``
        the number of training windows, spread evenly over the training text and never
        fewer than cover it (default: the fewest that do, ≈ training characters / T)
    validation : held-out fraction (of the sequences; for ``text``, of the file's
        characters: the tail)
    path : the plain-text file (``text`` only), relative to the config
    noise : std of the observation noise (``sine`` only)
    validation_windows : ``text`` only: at most this many held-out windows (default
        4096), which otherwise tile the whole held-out tail
    """
    if dataset not in KINDS:
        raise ConfigError("data.dataset", "one of " + ", ".join(KINDS), dataset)
    _check(dataset, length, samples, validation, noise, validation_windows)
    if dataset != "text" and path is not None:
        raise ConfigError("data.path", f"no path for dataset {dataset} (only text reads a file)",
                          path)
    rng, dtype = ctx.rng, np.dtype(ctx.dtype)
    extras: dict = {"kind": dataset, "sample_seed": int(rng.integers(2**31))}
    if dataset == "text":
        if path is None:
            raise ConfigError("data.path", "a plain-text file for dataset text", None)
        Xtr, ytr, Xva, yva, more = make_text(
            resolve_path(path, ctx, "data.path"), length, validation, samples,
            MAX_VALIDATION_WINDOWS if validation_windows is None else validation_windows)
        extras.update(more)
    else:
        samples = DEFAULT_SAMPLES if samples is None else samples
        n_train, n_val = _split(samples, validation)
        if dataset == "adding":
            X, y = make_adding(rng, samples, length, dtype)
        elif dataset == "sine":
            X, y, clean = make_sine(rng, samples, length, noise, dtype=dtype)
            extras["clean_val"] = clean[n_train:]
        else:
            X, y = make_reber(rng, samples, length)
            extras["vocab"] = list(REBER_SYMBOLS)
        Xtr, ytr, Xva, yva = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
        if not n_val:
            Xva = yva = None
    symbolic = dataset in ("reber", "text")
    n_sym = len(extras["vocab"]) if symbolic else 0
    extras.update(
        n_inputs=n_sym if symbolic else int(Xtr.shape[-1]),
        n_outputs=n_sym if symbolic else int(ytr.shape[-1]),
        readout="last" if dataset == "adding" else "all",
    )
    name = str(path) if dataset == "text" else dataset
    # the task names the kind of targets (what losses accept): symbols or real values
    task = "classification" if symbolic else "regression"
    return Dataset(name=name, task=task, X_train=Xtr, y_train=ytr, X_val=Xva, y_val=yva,
                   n_classes=n_sym, extras=extras)


def _entry(kind: str, doc: str, **options) -> DatasetEntry:
    def make(ctx: DataContext, **kw) -> Dataset:
        return load_sequences(ctx, dataset=kind, **kw)

    return DatasetEntry(name=kind, family="sequences", make=make, doc=doc, options=options)


# the built-in sequence datasets by name (fitcli.data.DATASETS gathers every family's)
SEQUENCES: dict[str, DatasetEntry] = {e.name: e for e in (
    _entry("adding", "adding problem: sum of two marked values in a sequence", length=50,
           samples=2000),
    _entry("sine", "next-value forecasting of noisy sums of sines", length=50, samples=2000,
           noise=0.05),
    _entry("reber", "embedded Reber grammar, next-symbol prediction", length=50, samples=2000),
    _entry("text", "character-level language model on a plain-text file", length=50,
           samples=None, path=None, validation_windows=None),
)}
