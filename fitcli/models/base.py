"""The Model protocol every model kind follows, and the flat parameter buffer.

How a model kind plugs in (mlp, rnn, superres, registration, testfn, ...)
-------------------------------------------------------------------------
1. Subclass :class:`Model` in ``fitcli/models/<kind>.py`` (or a package
   ``fitcli/models/<kind>/`` when the kind has data, outputs and figures of its
   own, like ``rnn/``, ``superres/``, ``registration/``) and set the class
   attributes ``name`` (the YAML ``model.type``), ``load_data`` (the function
   that builds its :class:`~fitcli.data.base.Dataset` from the ``data:``
   section), ``default_loss`` and ``main_metric``.
2. Add ``"<name>": "<module>:<Class>"`` to ``MODELS`` in ``fitcli/models/__init__.py``
   (imported on first use). Losses
   and regularizers only this kind can use go in its class attributes
   ``losses`` / ``regularizers`` (name → class), which the config lays over
   the global ``LOSSES`` / ``REGULARIZERS`` for configs of this kind.

YAML options
    The keyword-only arguments of ``__init__`` after ``data`` ARE the YAML
    options under ``model:`` (besides ``type``): the config checks every key
    against the signature (unknown key → error with did-you-mean), coerces to
    the annotation (``float`` accepts ``1e-3``; ``list[int]``; ``bool``;
    ``str`` / ``Literal[...]``), and a parameter without a default is
    required. Defaults are the documented defaults (``fitcli list models``
    and ``fitcli schema`` read them from the signature). Validate ranges in
    ``__init__`` and raise ``ConfigError("model.<key>", expected, got)`` (or
    :func:`check_choice`, the one of :mod:`fitcli.errors`)::

        class MLP(Model):
            name = "mlp"
            def __init__(self, data: Dataset, *, hidden: list[int] = (64,),
                         activation: Literal["tanh", "relu"] = "tanh"): ...

Data needs
    ``load_data(ctx: DataContext, /, **data_options) -> Dataset``: its
    keyword-only arguments are the schema of the ``data:`` section, exactly
    like a model's ``__init__`` (see ``fitcli/data/base.py``). ``ctx`` gives
    the config's directory (data paths resolve relative to it), the seeded
    generator and the dtype. The model receives the Dataset in ``__init__``
    (input/output sizes come from it).

Parameters
    ``param_shapes() -> dict[name, shape]`` (ordered). The fit loop allocates
    ONE flat buffer (:class:`ParamVector`) and hands the model views into it:
    ``init_params(views, rng)`` fills them in place (seeded). During the fit
    the objective receives ``params: dict[name, Tensor]`` whose ``.data`` are
    views of the optimizer's flat ``x`` (no copies). ``regularized()`` names
    the blocks the ``regularization:`` terms apply to (default: all).

Forward and data term
    ``forward(params, inputs) -> Tensor`` (engine ops only, so reverse mode
    works) gives the predictions for a batch of ``inputs`` (first axis:
    samples; ``inputs`` may be ``None`` for models whose data is not a sample
    set, e.g. super-resolution). The data term is ``loss(forward(params, X),
    y)``; override ``data_term`` when the objective needs more than that.
    ``batchable`` says whether the data term is a mean over samples that a
    stochastic optimizer may subsample (``batch`` = index array into the
    training samples). When the model overrides ``data_term``, the fit loop
    logs no per-sample ``train_``/``val_`` metrics (only ``param_metrics``).
    A class attribute ``quadratic = True`` is passed on to the closure (the
    ``exact`` line search of gd needs it).

Metrics and outputs
    ``metrics(pred, y) -> dict[str, float]`` on numpy arrays (default:
    accuracy for classification, R² for regression); the fit loop evaluates
    them on the training and the validation part every ``output.every``
    iterations and logs them as ``train_<m>`` / ``val_<m>``. ``main_metric``
    names the one shown in the progress line. ``param_metrics(params) -> dict``
    (optional) adds metrics computed from the parameters themselves (PSNR of
    a recovered image against the ground truth, displacement error, ...),
    logged under their own names. ``save_outputs(run_dir, params,
    data) -> list[str]`` writes the model's extra run-folder files
    (predictions, recovered.png, displacement.npy, ...) and returns their
    names; it must not print.

Tiny size
    ``tiny`` (class attribute): dotted ``--set`` overrides that make any config
    of this kind small and fast, e.g. ``{"model.hidden": [4]}`` or
    ``{"data.size": 16}``. The smoke test of ``configs/`` and ``fitcli
    gradcheck CONFIG`` apply them (plus a few iterations).

Stages (a fit in several steps)
    ``stages()`` labels them (default: one); the loop runs each with a new
    optimizer: ``enter_stage(i, previous)`` switches the model (``param_shapes``
    then describes stage i) and returns the starting values from the previous
    stage's result; ``stage_iterations()`` the budgets (default:
    ``optimizer.iterations`` each); ``stage_weight(name, w, loss)`` a
    regularizer's weight on the stage; ``state_arrays()`` /
    ``load_state_arrays()`` what a checkpoint must keep between stages.
    Registration's pyramid levels are stages.

Results (train and solve alike)
    ``final_metrics(params)`` — computed once at the end, merged into the
    summary's metrics (numbers, or groups such as ``recovered``/``bicubic``);
    ``warnings(params)`` — doubts about the result the user must read;
    ``result_array(params)`` — what ``solve --output`` writes;
    ``input_overrides(path, data)`` — the config changes of ``solve --input``;
    ``score()`` — the metric ranking fits in a sweep; ``solvable`` — whether
    ``fitcli solve`` takes the kind.

Who calls what (fitcli/problem.py ``build`` and fitcli/loop.py ``run``)
    ``data = cls.load_data(ctx, **cfg.data)``; ``model = cls(data, **cfg.model)``;
    per stage ``model.enter_stage(i, previous)``, ``pv = ParamVector(
    model.param_shapes(), dtype)``, ``model.init_params(pv.views, rng_init)``
    (unless the stage starts from the previous one); per evaluation
    ``model.data_term(pv.leaves(x), loss, X[batch], y[batch])`` + Σ weight·reg(block)
    over ``model.regularized()``; every logged row ``model.forward`` /
    ``model.metrics`` / ``model.param_metrics``; at the end
    ``model.final_metrics``, ``model.warnings`` and ``model.save_outputs(run_dir,
    pv.views, data)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..engine import Tensor, no_grad
from ..errors import ConfigError, check_choice  # check_choice re-exported for model kinds

__all__ = ["OPTIMIZER_COPIES", "Model", "ParamVector", "check_choice",
           "classification_metrics", "regression_metrics"]

# Copies of the parameter vector any fit holds at least (parameters, gradient, a trial
# point, a direction): the factor of Model.memory_estimate for parameter-sized arrays.
OPTIMIZER_COPIES = 4


class ParamVector:
    """Named parameter blocks as views into one contiguous flat buffer.

    Parameters
    ----------
    shapes : mapping name -> shape
        The blocks, in order; block ``k`` occupies ``flat[offset_k : offset_k + size_k]``.
    dtype : numpy dtype
        float64 (default) or float32; the buffer and every view share it.
    """

    def __init__(self, shapes: Mapping[str, tuple], dtype=np.float64):
        self.dtype = np.dtype(dtype)
        self.shapes = {k: tuple(int(n) for n in s) for k, s in shapes.items()}
        self.slices: dict[str, slice] = {}
        offset = 0
        for k, s in self.shapes.items():
            size = int(np.prod(s, dtype=np.int64))
            self.slices[k] = slice(offset, offset + size)
            offset += size
        self.size = offset
        self.flat = np.zeros(offset, dtype=self.dtype)
        self.views = self.unflatten(self.flat)

    def unflatten(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Views of a flat vector ``x`` (shape ``(size,)``) as the named blocks (no copy)."""
        return {k: x[sl].reshape(self.shapes[k]) for k, sl in self.slices.items()}

    def leaves(self, x: np.ndarray, requires_grad: bool = True) -> dict[str, Tensor]:
        """Engine leaf tensors whose data are views of ``x``."""
        return {k: Tensor(v, requires_grad=requires_grad) for k, v in self.unflatten(x).items()}

    def gather_grad(self, leaves: Mapping[str, Tensor], out: np.ndarray) -> np.ndarray:
        """Write each leaf's ``.grad`` into its segment of ``out`` (zero where None)."""
        for k, sl in self.slices.items():
            g = leaves[k].grad
            if g is None:
                out[sl] = 0.0
            else:
                out[sl] = g.reshape(-1)
        return out


def classification_metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy; ``pred`` (N, C) scores, or (N, 1) a binary logit (> 0 is class 1)."""
    if pred.ndim == 1 or pred.shape[-1] == 1:
        labels = (pred.reshape(y.shape) > 0).astype(y.dtype)
    else:
        labels = np.argmax(pred, axis=-1)
    return {"accuracy": float(np.mean(labels == y))}


def regression_metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Coefficient of determination R² = 1 − SS_res / SS_tot (over all outputs)."""
    y = y.reshape(pred.shape)
    ss_res = float(np.sum((pred - y) ** 2))
    ss_tot = float(np.sum((y - y.mean(axis=0)) ** 2))
    return {"r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")}


class Model:
    """Base class of every model kind (see the module docstring for the protocol)."""

    name: ClassVar[str] = "model"
    load_data: ClassVar[Callable]            # load_data(ctx, /, **data_options) -> Dataset
    default_loss: ClassVar[str] = "mse"      # used when the config has no ``loss:``
    main_metric: ClassVar[str] = "loss"      # shown in progress: val_<main_metric>
    batchable: ClassVar[bool] = True         # data term is a mean over samples
    # how the data term reads for this model, by loss name (default: the loss's formula)
    data_formulas: ClassVar[dict[str, str]] = {}
    tiny: ClassVar[dict] = {}                # --set overrides for a tiny run (tests, gradcheck)
    # names only this kind's configs may use, laid over the global LOSSES / REGULARIZERS
    # (registration: ncc; tv / diffusion / ... of a displacement field)
    losses: ClassVar[dict[str, type]] = {}
    regularizers: ClassVar[dict[str, type]] = {}
    # the Regularizer.applies_to kinds its regularized blocks take: plain parameter vectors
    # ("any": l1, l2) unless its blocks are images or fields (config refuses the others)
    regularizer_kinds: ClassVar[tuple[str, ...]] = ("any",)

    def __init__(self, data, **options):
        self.data = data

    # -- parameters -----------------------------------------------------------------
    def param_shapes(self) -> dict[str, tuple]:
        """Ordered name → shape of every parameter block."""
        raise NotImplementedError

    def init_params(self, params: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        """Fill the views ``params`` in place (seeded by ``rng``)."""
        raise NotImplementedError

    def regularized(self) -> list[str]:
        """Names of the blocks the ``regularization:`` terms apply to."""
        return list(self.param_shapes())

    # -- objective ------------------------------------------------------------------
    def forward(self, params: Mapping[str, Tensor], inputs) -> Tensor:
        """Predictions for ``inputs`` (engine ops only)."""
        raise NotImplementedError

    def data_term(self, params: Mapping[str, Tensor], loss, inputs, targets) -> Tensor:
        """The scalar data term ``loss(forward(params, inputs), targets)``."""
        return loss(self.forward(params, inputs), targets)

    def process_grad(self, grad: np.ndarray) -> np.ndarray:
        """Post-process the flat training gradient (default: as is; the RNN clips its norm)."""
        return grad

    # -- evaluation -----------------------------------------------------------------
    def predict(self, params: Mapping[str, np.ndarray], inputs) -> np.ndarray:
        """Forward without recording a graph; numpy in, numpy out."""
        with no_grad():
            tensors = {k: Tensor(v) for k, v in params.items()}
            return self.forward(tensors, inputs).data

    def metrics(self, pred: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        """Task metrics of predictions against targets (numpy)."""
        task = getattr(self.data, "task", "regression")
        if task == "classification":
            return classification_metrics(pred, targets)
        return regression_metrics(pred, targets)

    def param_metrics(self, params: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Metrics of the parameters themselves (e.g. PSNR against a ground truth)."""
        return {}

    def save_outputs(self, run_dir: Path, params: Mapping[str, np.ndarray], data) -> list[str]:
        """Write the model's extra run-folder files; return their names."""
        return []

    def describe(self) -> str:
        """One line for the objective formula, e.g. ``f(x; θ) = mlp 64-32-10``."""
        return self.name

    @classmethod
    def memory_estimate(cls, model: dict, data: dict, ctx) -> dict[str, float]:
        """Bytes of the big arrays a config of this kind would allocate, by the config
        field that sizes them (``{"model.hidden": 6.4e10}``), from the resolved options
        alone (``ctx``: the DataContext; nothing is loaded yet). A lower bound:
        :func:`fitcli.resources.check_memory` refuses the config when the sum exceeds
        the machine's available memory. Default: nothing big."""
        return {}

    # -- stages: a fit in several steps (registration's pyramid levels) ---------------
    def stages(self) -> list[str]:
        """Labels of the stages the loop runs in order (default: one, unlabelled)."""
        return [""]

    def stage_iterations(self) -> list[int] | None:
        """Iterations per stage, or None: ``optimizer.iterations`` for every stage."""
        return None

    def enter_stage(self, index: int, previous: Mapping[str, np.ndarray] | None
                    ) -> dict[str, np.ndarray] | None:
        """Switch to stage ``index`` (``param_shapes`` then describes its parameters).

        ``previous`` holds the final parameters of stage ``index − 1`` (None on a
        resume, where the checkpoint supplies them). Return the new stage's starting
        values, or None to start from ``init_params``.
        """
        return None

    def stage_weight(self, name: str, weight: float, loss) -> float:
        """The weight of regularizer ``name`` on the current stage, given the loss
        (default: as configured)."""
        return weight

    def state_arrays(self) -> dict[str, np.ndarray]:
        """What the model carries between stages, saved in checkpoints (default: nothing)."""
        return {}

    def load_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Restore :meth:`state_arrays` from a checkpoint."""

    # -- results: the end of a fit (train and solve) ----------------------------------
    def final_metrics(self, params: Mapping[str, np.ndarray]) -> dict:
        """Metrics of the fitted parameters, computed once at the end: numbers, or groups
        of numbers by name (superres: ``{"recovered": {psnr, ssim}, "bicubic": {...}}``)."""
        return {}

    def warnings(self, params: Mapping[str, np.ndarray]) -> list[str]:
        """Doubts about the result a user must read (folds, a fit below its baseline)."""
        return []

    # -- export: model.npz (fitcli/export.py) and predict ---------------------------------
    # the Dataset.extras keys predict needs (preprocessing, vocabularies), saved in model.npz
    export_keys: ClassVar[tuple[str, ...]] = ()

    def export_arrays(self, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Arrays model.npz keeps besides the parameters (``result.<key>``; registration:
        the displacement on the finest grid)."""
        return {}

    def result_array(self, params: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """The array ``fitcli solve --output`` writes (an image), or None."""
        return None

    solvable: ClassVar[bool] = False   # `fitcli solve` takes the kind (image recovery)

    def score(self) -> tuple[str, str]:
        """The summary metric that ranks fits of this model (a sweep's best) and whether
        ``max`` or ``min`` is best; a dotted name reads a group (``recovered.psnr``)."""
        m = self.main_metric
        if m == "loss":
            return ("val_loss", "min")
        return (f"val_{m}", "max" if m in ("accuracy", "r2", "legal", "psnr") else "min")

    @classmethod
    def input_overrides(cls, path: str, data: Mapping) -> dict:
        """Dotted config changes for ``fitcli solve --input PATH`` (the observation), given
        the config's resolved ``data:`` section."""
        raise ConfigError("--input", f"a model kind with an observation to replace "
                          f"({cls.name} has none)")


