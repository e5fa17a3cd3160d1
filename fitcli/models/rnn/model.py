"""The ``rnn`` model: Elman, GRU and LSTM cells, stacked, unrolled on the engine graph.

One set of parameters θ serves every step, h_t = cell(x_t, h_{t−1}; θ). The
forward pass unrolls the loop over time (one Python loop over t, every step
vectorised over the batch); reverse mode through the unrolled graph then adds
the contributions of all steps into the shared weights' gradients — the
engine accumulates with ``+``, nothing here is RNN-specific (backpropagation
through time). Truncated BPTT (``bptt: N``) cuts the graph every N steps by
restarting from a detached copy of the state: values flow on, gradients do
not reach further back than N steps. ``clip`` rescales the gradient to at most
that norm (:meth:`RNN.clip_grad`).

Cells (all gates in one matmul; fused step primitives from ``cells``, and for the GRU
and LSTM one node per layer, ``gru.gru_layer``, ``lstm.lstm_layer``, which truncate
BPTT themselves):

* elman: h' = tanh(x W + h U + b), U initialised orthogonal;
* gru:   r, z = σ(·), n = tanh(x W_n + b_n + r (h U_n + c_n)), h' = (1 − z) n + z h;
* lstm:  i, f, o = σ(·), g = tanh(·), c' = f c + i g, h' = o tanh(c'); forget bias 1.

Parameters per layer l: ``W{l}`` (D_l, G·H), ``U{l}`` (H, G·H), ``b{l}`` (G·H,)
(GRU also ``c{l}`` (3H,), the recurrent bias), with G = 1, 3, 4 gates; the
readout ``Wy`` (H, O), ``by`` (O,).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np

import fitcli.engine as fe

from ...data.base import Dataset
from ...data.sequences import load_sequences
from ...engine import Tensor
from ...errors import ConfigError
from ..base import Model, check_choice
from .cells import elman_step, gru_step
from .gru import gru_layer
from .lstm import lstm_layer, lstm_step
from .outputs import save_rnn_outputs, sequence_metrics

__all__ = ["GATES", "RNN"]

GATES = {"elman": 1, "gru": 3, "lstm": 4}
MAIN_METRIC = {"adding": "mse", "sine": "mse", "reber": "legal", "text": "bpc"}


def _orthogonal(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """A random (n, m) matrix with orthonormal rows or columns (QR of a Gaussian)."""
    a = rng.standard_normal((max(n, m), min(n, m)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # uniform (Haar) distribution
    return q if n >= m else q.T


class RNN(Model):
    """A recurrent network of ``layers`` stacked cells and a linear readout.

    Parameters
    ----------
    data : Dataset
        A sequence dataset (``fitcli.data.sequences``): inputs (N, T, D) floats or
        (N, T) integer symbol codes (one-hot encoded here).
    cell : elman | gru | lstm
    hidden : state size H of every layer
    layers : number of stacked cells
    readout : last (one output per sequence, (N, O)) | all (one per step, (N, T, O));
        default: what the dataset's targets need
    bptt : truncate backpropagation to this many steps (0: full BPTT)
    clip : rescale the gradient to at most this norm (0: no clipping)
    """

    name = "rnn"
    load_data = staticmethod(load_sequences)
    default_loss = "mse"
    main_metric = "loss"          # per instance: mse, legal or bpc, by dataset
    batchable = True
    tiny = {"model.hidden": 4, "data.samples": 8, "data.length": 6}
    export_keys = ("kind", "vocab", "n_inputs", "n_outputs", "readout")

    @classmethod
    def memory_estimate(cls, model: dict, data: dict, ctx) -> dict[str, float]:
        """The unrolled activations (samples × length × hidden × gates, kept for the
        backward pass) and the sequences themselves."""
        from ...data.sequences import DEFAULT_SAMPLES

        # samples: None is the generated datasets' default (text: windows covering the file)
        n = data.get("samples") or DEFAULT_SAMPLES
        T = data.get("length") or 0
        h, layers = model.get("hidden") or 0, model.get("layers") or 1
        gates = {"elman": 1, "gru": 3, "lstm": 4}.get(model.get("cell"), 1)
        item = ctx.dtype.itemsize
        return {"data.length": float(n) * T * (h * layers * (gates + 1) * 2 + 2) * item}

    def __init__(self, data: Dataset, *, cell: Literal["elman", "gru", "lstm"] = "elman",
                 hidden: int = 64, layers: int = 1, readout: Literal["last", "all"] | None = None,
                 bptt: int = 0, clip: float = 0.0):
        super().__init__(data)
        self.cell = check_choice("model.cell", cell, tuple(GATES))
        for key, value, low in (("hidden", hidden, 1), ("layers", layers, 1), ("bptt", bptt, 0)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ConfigError(f"model.{key}", f"an integer >= {low}", value)
        if not np.isfinite(clip) or clip < 0:
            raise ConfigError("model.clip", "a non-negative number (0: no clipping)", clip)
        extras = getattr(data, "extras", {}) or {}
        needed = extras.get("readout")
        readout = needed if readout is None else readout
        self.readout = check_choice("model.readout", readout or "last", ("last", "all"))
        if needed is not None and self.readout != needed:
            raise ConfigError("model.readout", f"'{needed}' for dataset {extras.get('kind')}",
                              readout, hint="its targets are "
                              + ("one per sequence" if needed == "last" else "one per step"))
        self.hidden, self.layers, self.bptt, self.clip = int(hidden), int(layers), int(bptt), clip
        self.kind = extras.get("kind", "")
        self.n_inputs = int(extras.get("n_inputs") or data.X_train.shape[-1])
        self.n_outputs = int(extras.get("n_outputs") or data.n_outputs)
        self.symbolic = np.issubdtype(np.asarray(data.X_train).dtype, np.integer)
        self.main_metric = MAIN_METRIC.get(self.kind, "loss")

    # -- parameters ---------------------------------------------------------------------
    def param_shapes(self) -> dict[str, tuple]:
        G, H = GATES[self.cell], self.hidden
        shapes: dict[str, tuple] = {}
        for layer in range(self.layers):
            D = self.n_inputs if layer == 0 else H
            shapes[f"W{layer}"] = (D, G * H)
            shapes[f"U{layer}"] = (H, G * H)
            shapes[f"b{layer}"] = (G * H,)
            if self.cell == "gru":
                shapes[f"c{layer}"] = (G * H,)
        shapes["Wy"] = (H, self.n_outputs)
        shapes["by"] = (self.n_outputs,)
        return shapes

    def init_params(self, params: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        """Input and readout weights Glorot-uniform; recurrent blocks orthogonal; biases 0
        (LSTM forget gate 1, so the cell remembers by default)."""
        G, H = GATES[self.cell], self.hidden
        for name, view in params.items():
            if name[0] in "bc":
                view[...] = 0.0
            elif name[0] == "U":
                for k in range(G):
                    view[:, k * H:(k + 1) * H] = _orthogonal(rng, H, H)
            else:
                fan_in, fan_out = view.shape[0], view.shape[1] // (G if name[0] == "W" else 1)
                limit = np.sqrt(6.0 / (fan_in + fan_out))
                view[...] = rng.uniform(-limit, limit, view.shape)
        if self.cell == "lstm":
            for layer in range(self.layers):
                params[f"b{layer}"][H:2 * H] = 1.0

    def regularized(self) -> list[str]:
        return [k for k in self.param_shapes() if k[0] in "WU"]

    # -- forward --------------------------------------------------------------------------
    def _step_inputs(self, inputs, dtype) -> np.ndarray:
        """Time-major inputs (T, N, D), contiguous (so is each step's (N, D) block);
        symbol codes become one-hot rows."""
        X = np.asarray(inputs)
        if X.ndim != (2 if self.symbolic else 3):
            want = "(N, T) symbol codes" if self.symbolic else f"(N, T, {self.n_inputs})"
            raise ConfigError("data", f"sequence inputs of shape {want}", X.shape)
        if self.symbolic:
            return np.eye(self.n_inputs, dtype=dtype)[X.T]
        return np.ascontiguousarray(np.swapaxes(X, 0, 1), dtype=dtype)

    def initial_state(self, n: int, dtype) -> list[np.ndarray]:
        """Zero states of every layer: (N, H), or the LSTM record [h, c] (N, 2H)."""
        width = 2 * self.hidden if self.cell == "lstm" else self.hidden
        return [np.zeros((n, width), dtype=dtype) for _ in range(self.layers)]

    def cell_step(self, params: Mapping[str, Tensor], layer: int, x, state):
        """One step of one layer: (new state, its output h)."""
        W, U, b = params[f"W{layer}"], params[f"U{layer}"], params[f"b{layer}"]
        if self.cell == "elman":
            h = elman_step(x, state, W, U, b)
            return h, h
        if self.cell == "gru":
            h = gru_step(x, state, W, U, b, params[f"c{layer}"])
            return h, h
        record = lstm_step(x, state, W, U, b)
        return record, record[:, :self.hidden]

    def run(self, params: Mapping[str, Tensor], inputs, state=None):
        """Unroll over the inputs: the top layer's outputs per step and the final states.

        Returns ``(outputs, states)``: the outputs of the T steps — a list of T tensors
        (N, H), or for the GRU and LSTM (whose layers are single nodes, :func:`gru_layer`,
        :func:`lstm_layer`) one time-major tensor (T, N, H) — and one state per layer.
        """
        dtype = params["Wy"].dtype
        xs = self._step_inputs(inputs, dtype)
        states = self.initial_state(xs.shape[1], dtype) if state is None else list(state)
        for layer in range(self.layers):
            W, U, b = params[f"W{layer}"], params[f"U{layer}"], params[f"b{layer}"]
            if self.cell == "lstm":
                records = lstm_layer(xs, states[layer], W, U, b, bptt=self.bptt)
                states[layer], xs = records[-1], records[:, :, :self.hidden]
                continue
            if self.cell == "gru":
                hs = gru_layer(xs, states[layer], W, U, b, params[f"c{layer}"], bptt=self.bptt)
                states[layer], xs = hs[-1], hs
                continue
            s, outs = states[layer], []
            for t, x in enumerate(xs):
                if self.bptt and t and t % self.bptt == 0 and isinstance(s, Tensor):
                    s = s.detach()  # truncated BPTT: the gradient stops here
                s, h = self.cell_step(params, layer, x, s)
                outs.append(h)
            states[layer], xs = s, outs
        return xs, states

    def readout_layer(self, params: Mapping[str, Tensor], outs) -> Tensor:
        """Linear readout of the last step (N, O) or of every step (N, T, O); ``outs`` as
        :meth:`run` returns them (a list of steps or one time-major tensor)."""
        if self.readout == "last":
            return fe.matmul(outs[-1], params["Wy"]) + params["by"]
        # time-major: stacking along a new first axis keeps each step's block contiguous
        # (the stack's VJP hands every step a contiguous slice of the cotangent), and
        # all steps share one 2-d matmul
        n, t = outs[0].shape[0], len(outs)
        stacked = fe.reshape(outs if isinstance(outs, Tensor) else fe.stack(outs, axis=0),
                             (t * n, self.hidden))
        flat = fe.matmul(stacked, params["Wy"]) + params["by"]
        return fe.transpose(fe.reshape(flat, (t, n, self.n_outputs)), (1, 0, 2))

    def forward(self, params: Mapping[str, Tensor], inputs) -> Tensor:
        """Predictions: (N, O) for readout last, (N, T, O) for all (logits for symbols)."""
        outs, _ = self.run(params, inputs)
        return self.readout_layer(params, outs)

    # -- gradient post-processing -----------------------------------------------------
    def clip_grad(self, grad: np.ndarray) -> np.ndarray:
        """Rescale the flat gradient in place to norm ≤ ``clip`` (no-op when clip is 0).

        Returns ``grad``. Clipping changes the search direction only, not the loss.
        """
        if self.clip > 0:
            norm = float(np.sqrt(np.dot(grad, grad)))
            if norm > self.clip:
                grad *= self.clip / norm
        return grad

    def process_grad(self, grad: np.ndarray) -> np.ndarray:
        """The fit loop's gradient hook: norm clipping (``clip``)."""
        return self.clip_grad(grad)

    # -- evaluation -------------------------------------------------------------------------
    def metrics(self, pred: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        """mse (adding, sine); legal and accuracy (reber); bpc and accuracy (text)."""
        return sequence_metrics(self.kind, pred, targets)

    def save_outputs(self, run_dir: Path, params: Mapping[str, np.ndarray], data) -> list[str]:
        """``samples.txt`` for text, ``forecast.png`` for sine."""
        return save_rnn_outputs(self, Path(run_dir), params, data)

    def describe(self) -> str:
        return (f"rnn {self.cell} {self.layers}x{self.hidden} ({self.n_inputs} -> "
                f"{self.n_outputs}, readout {self.readout}"
                + (f", bptt {self.bptt}" if self.bptt else "") + ")")
