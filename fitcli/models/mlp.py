"""The multilayer perceptron: affine layers with an activation between them."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np

from .. import engine as fe
from ..data.base import Dataset
from ..data.tabular import in_target_units, label_strings, load_tabular
from ..engine import Tensor
from ..errors import ConfigError
from .base import OPTIMIZER_COPIES, Model

ACTIVATIONS = {"tanh": fe.tanh, "relu": fe.relu, "sigmoid": fe.sigmoid, "softplus": fe.softplus}


class MLP(Model):
    """f(x; θ) = W_L σ(… σ(W_1 x + b_1) …) + b_L; input and output sizes from the data.

    Parameters ``W1, b1, …, WL, bL`` with ``Wk`` of shape (fan_in, fan_out)
    (rows are inputs, so a batch X (N, D) maps as X @ W). The output is C
    logits for C > 2 classes, one logit for two, K values for K regression
    targets.
    """

    name = "mlp"
    load_data = staticmethod(load_tabular)
    default_loss = "logistic"
    main_metric = "accuracy"
    tiny = {"model.hidden": [4]}
    export_keys = ("classes", "labels", "target", "missing", "columns", "features",
                   "categories", "impute", "mean", "std", "target_mean", "target_std")

    def __init__(self, data: Dataset, *, hidden: list[int] = (64,),
                 activation: Literal["tanh", "relu", "sigmoid", "softplus"] = "tanh",
                 init: Literal["xavier", "he"] = "xavier"):
        super().__init__(data)
        for i, h in enumerate(hidden):
            if not (isinstance(h, int) and h > 0):
                raise ConfigError(f"model.hidden[{i}]", "a positive integer", h)
        if data.X_train is None:
            raise ConfigError("data", "samples with features for an mlp")
        self.sizes = [data.n_features, *hidden, data.n_outputs]
        self.activation, self.init = activation, init
        self.act = ACTIVATIONS[activation]
        if data.task != "classification":
            self.main_metric = "r2"

    @classmethod
    def memory_estimate(cls, model: dict, data: dict, ctx) -> dict[str, float]:
        """Weights between the hidden layers (input and output sizes count as 1: unknown
        before the data are read) times the optimizer's copies; activations of the
        generated samples (spirals, moons)."""
        item = ctx.dtype.itemsize
        hidden = [h for h in model.get("hidden") or [] if isinstance(h, int) and h > 0]
        sizes = [1, *hidden, 1]
        weights = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        n = data.get("samples") or 0
        return {"model.hidden": float(weights * item * OPTIMIZER_COPIES),
                "data.samples": float(n * 3 * item),
                "data.samples × model.hidden": float(n * 2 * sum(hidden) * item)}

    def param_shapes(self) -> dict[str, tuple]:
        shapes = {}
        for k, (a, b) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True), 1):
            shapes[f"W{k}"] = (a, b)
            shapes[f"b{k}"] = (b,)
        return shapes

    def init_params(self, params: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        """Xavier (Glorot) uniform U(±√(6/(fan_in+fan_out))) or He normal N(0, 2/fan_in);
        biases 0."""
        for name, view in params.items():
            if name.startswith("b"):
                view[...] = 0.0
                continue
            fan_in, fan_out = view.shape
            if self.init == "he":
                view[...] = rng.standard_normal(view.shape) * np.sqrt(2.0 / fan_in)
            else:
                bound = np.sqrt(6.0 / (fan_in + fan_out))
                view[...] = rng.uniform(-bound, bound, view.shape)

    def forward(self, params: Mapping[str, Tensor], inputs) -> Tensor:
        """Logits / outputs (N, n_outputs) for inputs (N, D)."""
        n_layers = len(self.sizes) - 1
        h = inputs
        for k in range(1, n_layers + 1):
            h = fe.matmul(h, params[f"W{k}"]) + params[f"b{k}"]
            if k < n_layers:
                h = self.act(h)
        return h

    def describe(self) -> str:
        return f"mlp {'-'.join(map(str, self.sizes))}, {self.activation}"

    def save_outputs(self, run_dir: Path, params: Mapping[str, np.ndarray], data) -> list[str]:
        """predictions.csv: split, target and prediction of every sample, in the data's own
        terms (class labels as in the file; regression values in the target's units)."""
        parts = []
        for is_val, X, y in ((0, data.X_train, data.y_train), (1, data.X_val, data.y_val)):
            if X is None:
                continue
            pred = self.predict(params, X)
            if data.task == "classification":
                labels = np.asarray(data.extras.get("labels")
                                    or label_strings(data.extras["classes"]))
                lab = (pred[:, 0] > 0).astype(int) if pred.shape[1] == 1 else pred.argmax(1)
                target, pred = labels[y], labels[lab]
            else:
                target = np.char.mod("%.10g", in_target_units(data, y))
                pred = np.char.mod("%.10g", in_target_units(data, pred))
            n = len(y)
            parts.append(np.column_stack([np.full(n, str(is_val)), target.reshape(n, -1),
                                          pred.reshape(n, -1)]))
        table = np.concatenate(parts)
        k = (table.shape[1] - 1) // 2
        header = ["validation"] + [f"target{i}" if k > 1 else "target" for i in range(k)] \
            + [f"prediction{i}" if k > 1 else "prediction" for i in range(k)]
        with (run_dir / "predictions.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")   # quotes labels with commas
            writer.writerow(header)
            writer.writerows(table.tolist())
        return ["predictions.csv"]
