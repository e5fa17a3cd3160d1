"""The objective of a config: model + data + loss + regularizers, and the optimizer on it.

:func:`build` turns a resolved :class:`~fitcli.config.Config` into a :class:`Problem`
once (no per-iteration re-parsing): the data, the model, its parameters as views of
one flat buffer (:class:`~fitcli.models.base.ParamVector`), the loss, the
regularization terms (smooth ones in the closure; non-smooth ones handed to a prox
optimizer), the optimizer on the flat vector and the objective's formula.

:func:`objective` evaluates it on engine leaves, :func:`make_closure` wraps it for the
optimizers (``closure(x, batch, need_grad) -> (loss, grad)``, plus ``closure.hvp``),
:func:`evaluate` computes a logged row (the terms and the model's metrics), and
:func:`enter_stage` moves a staged model (registration's pyramid) to its next stage.
Nothing here prints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config as C
from .data.base import DataContext, Dataset
from .engine import Tensor, forward_mode, no_grad
from .errors import ConfigError
from .models.base import Model, ParamVector
from .regularizers import NonSmoothTerm
from .resources import check_memory
from .seeding import generators

__all__ = ["Problem", "build", "check_objective", "enter_stage", "evaluate", "load_tiny",
           "epoch_steps", "iteration_budgets", "make_closure", "objective",
           "objective_formula", "predict_and_loss",
           "regularization_terms"]


@dataclass
class Problem:
    """Everything the loop needs, built once."""

    cfg: C.Config
    data: Dataset
    model: Model
    params: ParamVector
    loss: object
    smooth: list                       # [(column name, regularizer, weight)] in the closure
    nonsmooth: list                    # [(column name, NonSmoothTerm)] (prox or in the closure)
    optimizer: object
    formula: str
    term_names: list = field(default_factory=list)   # "data", then each regularizer
    prox_handles_nonsmooth: bool = False
    stage: int = 0                     # the model's current stage (see Model.stages)
    rngs: dict = field(default_factory=dict, repr=False)   # data, init, optimizer
    regs: list = field(default_factory=list, repr=False)   # [(regularizer, weight)] as given

    @property
    def dtype(self) -> np.dtype:
        return self.params.dtype


def _unique(name: str, taken: list[str]) -> str:
    k, out = 2, name
    while out in taken:
        out, k = f"{name}_{k}", k + 1
    return out


def objective_formula(model: Model, loss, regs) -> str:
    """E.g. ``mean logistic(f(x; θ), y) + 0.0001·½‖θ‖²   [f: mlp 64-128-10, tanh]``;
    ``regs`` are (regularizer instance, weight) pairs (an instance may spell out its
    options, e.g. smooth_tv's ε)."""
    data = getattr(model, "data_formulas", {}).get(loss.name, loss.formula)
    parts = [data] + [f"{weight:g}·{reg.formula}" for reg, weight in regs]
    return " + ".join(parts) + f"   [f: {model.describe()}]"


def build(cfg: C.Config, data: Dataset | None = None) -> Problem:
    """Construct data (unless given), model, parameters, loss, regularizers and optimizer
    from ``cfg``, at the model's first stage."""
    rngs = generators(cfg.seed)
    ctx = DataContext(cfg.base_dir, rngs["data"], np.dtype(cfg.dtype))
    # before anything is loaded or allocated: a size beyond the machine is one line
    check_memory(cfg.model_cls.memory_estimate(cfg.model, cfg.data if data is None else {},
                                               ctx))
    if data is None:
        data = cfg.model_cls.load_data(ctx, **cfg.data)
        if data.X_train is not None and not cfg.data.get("samples"):
            # a file's row count is known only now: check again before the model allocates
            n = data.n_train + (0 if data.X_val is None else len(data.X_val))
            check_memory(cfg.model_cls.memory_estimate(cfg.model, {**cfg.data, "samples": n},
                                                       ctx))
    model = cfg.model_cls(data, **cfg.model)
    loss = cfg.loss_cls(**cfg.loss)
    if hasattr(loss, "check_task"):
        loss.check_task(data.task)
    regs = [(reg_cls(**opts), weight) for _, reg_cls, weight, opts in cfg.regularization]
    if any(w == "auto" for _, w in regs):   # weight: auto — the model chooses it from the data
        if not hasattr(model, "auto_weights"):
            raise ConfigError("regularization.weight", f"a number (auto is not available "
                                f"for {cfg.model_cls.name})", "auto")
        regs = model.auto_weights(regs, loss, cfg.optimizer_cls, cfg.optimizer, cfg.stop)
    term_names = ["data"]
    for name, *_ in cfg.regularization:
        term_names.append(_unique(name, term_names))
    handles = bool(getattr(cfg.optimizer_cls, "handles_nonsmooth", False))
    shell = Problem(cfg, data, model, None, loss, [], [], None,
                    objective_formula(model, loss, regs), term_names, handles, -1, rngs, regs)
    problem = enter_stage(shell, 0, None)
    iteration_budgets(problem)      # optimizer.epochs needs samples: say so now
    return problem


def enter_stage(problem: Problem, index: int, previous: Mapping[str, np.ndarray] | None
                ) -> Problem:
    """The Problem of the model's stage ``index``: new parameters (the model's starting
    values from ``previous``, or its seeded ``init_params``), regularizer weights of that
    stage, and a new optimizer on them."""
    cfg, model = problem.cfg, problem.model
    start = model.enter_stage(index, previous)
    params = ParamVector(model.param_shapes(), np.dtype(cfg.dtype))
    if start is None:
        model.init_params(params.views, problem.rngs["init"])
    else:
        for k, v in params.views.items():
            v[...] = start[k]
    names = model.regularized()
    smooth, nonsmooth = [], []
    for col, (reg, weight), (name, *_) in zip(problem.term_names[1:], problem.regs,
                                             cfg.regularization, strict=True):
        w = model.stage_weight(name, weight, problem.loss)
        if getattr(reg, "smooth", True):
            smooth.append((col, reg, w))
        else:
            nonsmooth.append((col, NonSmoothTerm(reg, w, params.slices, params.shapes, names)))
    opt_cls = cfg.optimizer_cls
    n_samples = problem.data.n_train if model.batchable and problem.data.X_train is not None \
        else None
    try:
        optimizer = opt_cls(params.flat, rng=problem.rngs["optimizer"], n_samples=n_samples,
                            **cfg.optimizer)
    except TypeError as exc:  # an option the class does not take (validated earlier: a bug)
        raise ConfigError("optimizer", "options of " + opt_cls.name, str(exc)) from None
    if problem.prox_handles_nonsmooth and nonsmooth:
        optimizer.set_nonsmooth([t for _, t in nonsmooth])
    return dataclasses.replace(problem, params=params, smooth=smooth, nonsmooth=nonsmooth,
                               optimizer=optimizer, stage=index)


def epoch_steps(problem: Problem) -> int | None:
    """Steps of one epoch (every training sample once: ⌈n_samples / batch_size⌉) of a
    stochastic optimizer; None for others."""
    batches = getattr(problem.optimizer, "batches", None)
    if batches is None or batches.n is None:
        return None
    return -(-batches.n // batches.batch_size)


def iteration_budgets(problem: Problem) -> list[int]:
    """The iterations of each stage: the model's own, or ``optimizer.iterations``; with
    ``optimizer.epochs`` that many epochs (the earlier of the two when both are given)."""
    stop, model = problem.cfg.stop, problem.model
    budgets = model.stage_iterations() or [stop["iterations"]] * len(model.stages())
    if stop.get("epochs") is None:
        return budgets
    steps = epoch_steps(problem)
    if steps is None:
        raise ConfigError("optimizer.epochs", "training samples to make epochs of (the "
                          f"{model.name} model's objective is not a mean over samples)",
                          stop["epochs"])
    return [stop["epochs"] * steps if b is None else min(b, stop["epochs"] * steps)
            for b in budgets]


# -- the objective ------------------------------------------------------------------------
def _block_sum(fn, leaves, names):
    """Σ over the regularized blocks of fn(block)."""
    total = None
    for k in names:
        v = fn(leaves[k])
        total = v if total is None else total + v
    return total


def objective(problem: Problem, leaves: Mapping[str, Tensor], inputs, targets,
              include_nonsmooth: bool):
    """The objective (a scalar Tensor) at ``leaves`` on a batch, and its terms by column
    name (weighted Tensors): ``data`` then each regularizer."""
    terms = {"data": problem.model.data_term(leaves, problem.loss, inputs, targets),
             **regularization_terms(problem, leaves, include_nonsmooth)}
    total = None
    for v in terms.values():
        total = v if total is None else total + v
    return total, terms


def regularization_terms(problem: Problem, leaves: Mapping[str, Tensor],
                         include_nonsmooth: bool) -> dict:
    """The weighted regularization terms (Tensors) by column name."""
    names, terms = problem.model.regularized(), {}
    if names:
        for col, reg, weight in problem.smooth:
            terms[col] = _block_sum(reg, leaves, names) * weight
        if include_nonsmooth:
            for col, term in problem.nonsmooth:
                terms[col] = _block_sum(term.reg, leaves, names) * term.weight
    return terms


def make_closure(problem: Problem, include_nonsmooth: bool | None = None):
    """``closure(x, batch=None, need_grad=True) -> (loss, grad)`` over the training data.

    Non-smooth terms are left out when the optimizer applies their prox (or when
    ``include_nonsmooth`` is False); ``closure.hvp(x, v)`` is the Hessian-vector product.
    """
    pv, data = problem.params, problem.data
    X, y = data.X_train, data.y_train
    include = (not problem.prox_handles_nonsmooth) if include_nonsmooth is None \
        else include_nonsmooth

    def closure(x, batch=None, need_grad=True):
        Xb, yb = (X, y) if batch is None else (None if X is None else X[batch], y[batch])
        if not need_grad:
            with no_grad():
                total, _ = objective(problem, pv.leaves(x, False), Xb, yb, include)
            return float(total.data), None
        leaves = pv.leaves(x, True)
        total, _ = objective(problem, leaves, Xb, yb, include)
        if total.requires_grad:
            total.backward()
        # the model may post-process the gradient (e.g. the RNN's norm clipping)
        return float(total.data), problem.model.process_grad(
            pv.gather_grad(leaves, np.empty_like(x)))

    def hvp(x, v):
        """Hessian-vector product of the full objective, by reverse-over-forward."""
        leaves = pv.leaves(x, True)
        for k, t in pv.unflatten(np.asarray(v, dtype=x.dtype)).items():
            leaves[k].tangent = Tensor(t)
        with forward_mode():
            total, _ = objective(problem, leaves, X, y, include)
        d = total.tangent
        if d is None or not d.requires_grad:
            return np.zeros_like(x)
        d.backward()
        return pv.gather_grad(leaves, np.empty_like(x))

    closure.quadratic = getattr(problem.model, "quadratic", False)
    closure.hvp = hvp
    lipschitz = getattr(problem.model, "lipschitz", None)
    if not problem.smooth and not problem.nonsmooth:   # known for a bare test function
        if lipschitz is not None:
            closure.lipschitz = lipschitz
        if getattr(problem.model, "f_star", None) is not None:
            closure.f_star = problem.model.f_star
    return closure


def evaluate(problem: Problem, x: np.ndarray) -> dict:
    """Full objective, its terms and the model's metrics at ``x`` (no graph recorded).

    When the data term is ``loss(forward(X), y)`` (the model does not override
    ``data_term``), one forward pass over the samples, ``output.eval_batch`` at a time
    for a batchable model (memory bounded by the predictions, not the model's
    intermediates), gives both the data term and the predictions the metrics need.
    """
    model, data, pv = problem.model, problem.data, problem.params
    shared = type(model).data_term is Model.data_term
    row = {}
    with no_grad():
        leaves = pv.leaves(x, False)
        if shared:
            pred, value = predict_and_loss(problem, leaves, data.X_train, data.y_train)
            terms = {"data": Tensor(np.asarray(value, dtype=pv.dtype)),
                     **regularization_terms(problem, leaves, True)}
        else:
            terms = objective(problem, leaves, data.X_train, data.y_train, True)[1]
        total = None
        for v in terms.values():
            total = v if total is None else total + v
        row["loss"] = float(total.data)
        row.update({k: float(v.data) for k, v in terms.items()})
        if shared:
            row.update({f"train_{k}": v for k, v in model.metrics(pred, data.y_train).items()})
            if data.has_validation:
                pred, row["val_loss"] = predict_and_loss(problem, leaves, data.X_val, data.y_val)
                row.update({f"val_{k}": v for k, v in model.metrics(pred, data.y_val).items()})
    row.update(model.param_metrics(pv.unflatten(x)))
    return row


def predict_and_loss(problem: Problem, leaves: Mapping[str, Tensor], inputs, targets
                     ) -> tuple[np.ndarray, float]:
    """The predictions for ``inputs`` (numpy) and the loss against ``targets``,
    ``output.eval_batch`` samples per forward pass for a batchable model (its loss is a
    mean over samples: the batches' losses weighted by their sizes), one pass otherwise."""
    model, loss = problem.model, problem.loss
    size = problem.cfg.output.get("eval_batch") or C.OUTPUT_KEYS["eval_batch"]
    if inputs is None or not model.batchable or len(inputs) <= size:
        pred = model.forward(leaves, inputs)
        return pred.data, float(loss(pred, targets).data)
    preds, value, n = [], 0.0, len(inputs)
    for i in range(0, n, size):
        pred = model.forward(leaves, inputs[i:i + size])
        value += float(loss(pred, targets[i:i + size]).data) * (len(pred.data) / n)
        preds.append(pred.data)
    return np.concatenate(preds), value


# -- a config at its tiny size, and its gradient check ----------------------------------------
POINTS = ("init", "random", "both")


def load_tiny(config: str | Path, overrides: list[str] | None = None,
              extra: dict | None = None) -> C.Config:
    """The resolved config at the model kind's ``tiny`` size, then the user's
    ``overrides`` (so ``--set model.hidden=[4,4]`` wins over the tiny size), then
    ``extra`` (settings the caller needs whatever the user asks, e.g. float64)."""
    raw = C.read_config(config)
    base, name = Path(config).resolve().parent, Path(config).stem
    # the kind (hence its tiny sizes) is the one the user's overrides select
    model_cls = C.resolve(C.apply_overrides(raw, overrides), base, name).model_cls
    raw = C.apply_overrides(C.apply_overrides(raw, model_cls.tiny), overrides)
    return C.resolve(C.apply_overrides(raw, extra or {}), base, name)


def random_point(values: Mapping[str, np.ndarray], rng: np.random.Generator,
                 spread: float = 0.5) -> dict[str, np.ndarray]:
    """A seeded point near ``values``: each block moved by ``spread`` times its own RMS
    (one unit where the block is all zero: a displacement field in pixels, a bias), so
    no block sits at a special point (a zero field, where every quadratic regularizer has
    zero gradient whatever its formula) while keeping each block's scale."""
    out = {}
    for k, v in values.items():
        rms = float(np.sqrt(np.mean(np.square(v)))) if v.size else 0.0
        out[k] = v + (spread * rms if rms > 0 else 1.0) * rng.standard_normal(v.shape)
    return out


def check_objective(config: str | Path, overrides: list[str] | None = None, seed: int = 0,
                    max_samples: int = 16, mode: str = "reverse", point: str = "both",
                    **tolerances):
    """Gradcheck a config's whole objective per parameter block, on a tiny version of it,
    and each smooth regularizer alone (without its weight, which can hide a wrong term).

    The model kind's ``tiny`` overrides, then the user's ``overrides``, then
    ``dtype: float64`` are applied; at most ``max_samples`` training samples are used.
    ``point``: ``init`` (the seeded initial point of the model's last stage — a staged
    model: its finest level), ``random`` (:func:`random_point` near it, seeded by
    ``seed``) or ``both``. ``mode``: ``reverse``, ``forward`` or ``all`` (both, and
    reverse against forward directly). ``tolerances``: eps, atol, rtol.
    Returns (list of CheckResult, formula); a check that raises is one failed result.
    """
    from .engine.gradcheck import check

    if mode not in ("reverse", "forward", "all"):
        raise ConfigError("--mode", "one of reverse, forward, all for a config", mode)
    if point not in POINTS:
        raise ConfigError("--point", "one of " + ", ".join(POINTS), point)
    problem = build(load_tiny(config, overrides, {"dtype": "float64"}))
    last = len(problem.model.stages()) - 1
    if last > 0:
        problem = enter_stage(problem, last, None)
    data = problem.data
    n = min(data.n_train, max_samples)
    X = data.X_train[:n] if data.X_train is not None else None
    y = data.y_train[:n] if problem.model.batchable else data.y_train
    names, regularized = list(problem.params.shapes), problem.model.regularized()
    init = {k: problem.params.views[k].copy() for k in names}
    points = {"init": init, "random": random_point(init, np.random.default_rng(seed))}

    def total(*tensors):
        return objective(problem, dict(zip(names, tensors, strict=True)), X, y, True)[0]

    results = []
    for where in (("init", "random") if point == "both" else (point,)):
        at = points[where]
        results += _labelled(check(total, [at[k] for k in names], mode, seed=seed,
                                   name=problem.cfg.name, input_names=names, **tolerances),
                             where)
        for col, reg, _ in (problem.smooth if regularized else []):   # alone, unweighted
            results += _labelled(check(lambda *t, reg=reg: _block_sum(
                reg, dict(zip(regularized, t, strict=True)), regularized),
                [at[k] for k in regularized], mode, seed=seed, name=problem.cfg.name,
                input_names=[f"{k} [{col}]" for k in regularized], **tolerances), where)
    return results, problem.formula


def _labelled(results, where: str):
    for r in results:
        if not r.error:
            r.label = "x".join(map(str, r.shape)) + f" at {where}"
        else:
            r.label = f"at {where} {r.label}".strip()
    return results
