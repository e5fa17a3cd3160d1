"""Built-in objectives for studying optimizers from YAML: ``model: {type: testfn, ...}``.

The parameter ``x`` is the point; the objective is the function itself (loss
``value``), written with engine ops so every derivative mode applies:

- ``quadratic``: ½ (x − x*)ᵀ A (x − x*), A with spectrum log-spaced in [1, κ]
  (``condition``) under a seeded random rotation (``fitcli.optim.testfns``);
  L = κ, minimum 0 at x*.
- ``rosenbrock``: Σ b (x_{i+1} − x_i²)² + (a − x_i)², minimum 0 at (1, …, 1) for a = 1.
- ``logistic_regression``: mean softmax cross-entropy of a linear model X W + c on
  the ``data:`` section's dataset (digits, a CSV, ...); add ``regularization: l2``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from .. import engine as fe
from ..data.base import DataContext, Dataset
from ..data.tabular import load_tabular
from ..engine import Tensor
from ..errors import ConfigError
from ..losses import Loss
from ..optim import testfns
from .base import OPTIMIZER_COPIES, Model


def load_testfn(ctx: DataContext, /, *, dataset: str | None = None, validation: float = 0.0,
                standardize: bool = True, target: str = "target") -> Dataset:
    """No data for quadratic / rosenbrock; a tabular dataset for logistic_regression."""
    if dataset is None:
        return Dataset(name="none", task="function", X_train=None, y_train=np.zeros(0))
    data = load_tabular(ctx, dataset=dataset, validation=validation, standardize=standardize,
                        target=target, task="classification")
    return data


class Value(Loss):
    """The objective is the model's own value (test functions): E(θ) = f(θ)."""

    name = "value"
    tasks = ("function", "classification")
    formula = "f(θ)"

    def __call__(self, pred: Tensor, target=None) -> Tensor:
        return pred


class TestFunction(Model):
    """f(θ) for a built-in test objective (see the module docstring).

    Options (``model:``): ``function`` (quadratic | rosenbrock | logistic_regression),
    ``dim`` (quadratic, rosenbrock), ``condition`` (κ of the quadratic), ``a``, ``b``
    (rosenbrock), ``start`` (the initial point; default 0 for the quadratic, (−1.2, 1, …)
    for rosenbrock, 0 for logistic regression).
    """

    __test__ = False  # not a pytest class
    name = "testfn"
    load_data = staticmethod(load_testfn)
    default_loss = "value"
    losses = {Value.name: Value}
    main_metric = "loss"
    batchable = False
    tiny: dict = {}  # already small (and ``start`` fixes the dimension)

    @classmethod
    def memory_estimate(cls, model: dict, data: dict, ctx) -> dict[str, float]:
        """quadratic: its dense dim × dim matrix (and an eigendecomposition); rosenbrock:
        the optimizer's copies of x."""
        dim, item = model.get("dim") or 0, ctx.dtype.itemsize
        if model.get("function") == "quadratic":
            return {"model.dim": float(3 * dim * dim * 8)}
        return {"model.dim": float(dim * item * OPTIMIZER_COPIES * 4)}

    def __init__(self, data: Dataset, *,
                 function: Literal["quadratic", "rosenbrock", "logistic_regression"],
                 dim: int = 2, condition: float = 10.0, a: float = 1.0, b: float = 100.0,
                 start: list[float] | None = None):
        super().__init__(data)
        self.function = function
        self.quadratic = function == "quadratic"
        if function == "logistic_regression":
            if data.X_train is None:
                raise ConfigError("data.dataset", "a dataset for logistic_regression")
            self.shapes = {"W": (data.n_features, data.n_classes), "c": (data.n_classes,)}
            self.main_metric = "accuracy"
            self.batchable = True
        else:
            if function == "quadratic":
                ref = testfns.quadratic(dim=dim, condition=condition, seed=0)
                self.A, self.x_star = ref.hessian, ref.x_star
                self.lipschitz = ref.lipschitz
            else:
                ref = testfns.rosenbrock(dim=dim, a=a, b=b)
            self.a, self.b = float(a), float(b)
            self.f_star = float(ref.f_star)      # the minimum, known in closed form
            self.default_start = np.asarray(ref.start, dtype=float)
            self.shapes = {"x": (dim,)}
        n = int(np.prod(next(iter(self.shapes.values())))) if function != "logistic_regression" \
            else None
        if start is not None and (n is None or len(start) != n):
            raise ConfigError("model.start", f"a list of {n} numbers (one per coordinate)"
                              if n else "no start for logistic_regression (starts at 0)", start)
        self.start = start

    def param_shapes(self) -> dict[str, tuple]:
        return dict(self.shapes)

    def init_params(self, params: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        for v in params.values():
            v[...] = 0.0
        if "x" in params:
            params["x"][...] = self.default_start if self.start is None else self.start

    def forward(self, params: Mapping[str, Tensor], inputs=None) -> Tensor:
        if self.function == "logistic_regression":
            return fe.matmul(inputs, params["W"]) + params["c"]
        x = params["x"]
        if self.function == "quadratic":
            r = x - self.x_star.astype(x.dtype)
            return 0.5 * fe.sum(r * fe.matmul(self.A.astype(x.dtype), r))
        x0, x1 = x[:-1], x[1:]
        t = x1 - x0 * x0
        return fe.sum(self.b * t * t + (self.a - x0) ** 2)

    def data_term(self, params, loss, inputs, targets) -> Tensor:
        if self.function == "logistic_regression":
            z = self.forward(params, inputs)
            return fe.mean(fe.logsumexp(z, axis=1) - z[np.arange(len(targets)), targets])
        return self.forward(params)

    def param_metrics(self, params: Mapping[str, np.ndarray]) -> dict[str, float]:
        if self.function == "quadratic":
            return {"dist_to_min": float(np.linalg.norm(params["x"] - self.x_star))}
        if self.function == "rosenbrock":
            return {"dist_to_min": float(np.linalg.norm(params["x"] - 1.0))} \
                if self.a == 1.0 else {}
        return {}

    def describe(self) -> str:
        if self.function == "quadratic":
            return f"quadratic, dim {self.shapes['x'][0]}, κ = {np.linalg.cond(self.A):.4g}"
        if self.function == "rosenbrock":
            return f"rosenbrock, dim {self.shapes['x'][0]}"
        return "logistic regression (linear model, softmax cross-entropy)"
