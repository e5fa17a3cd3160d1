"""The Python surface (a notebook's): :func:`fit`, :func:`solve`, :func:`sweep`,
:func:`check` — thin calls into the layers below; nothing here prints.

``fit`` and ``solve`` are one thing: a config built into a
:class:`~fitcli.problem.Problem` and run by the one loop (:func:`fitcli.loop.run`).
``solve`` adds what image recovery needs: ``input`` replaces the model's observation
(``Model.input_overrides``) and ``output`` receives the model's result array
(``Model.result_array``: the recovered image, the warped moving image).

Every entry point runs inside :func:`fitcli.runtime.performance` (one BLAS thread for the
call, restored after it; the allocator tuned once per process), so that a notebook's fit is
as fast as the CLI's without changing the host program's own settings.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config as C
from . import loop
from .errors import ConfigError
from .problem import Problem, build, check_objective
from .runtime import scoped

__all__ = ["FitResult", "build", "check", "evaluate", "fit", "load", "load_fitted",
           "load_run", "predict", "register", "run", "sample", "solve", "sweep",
           "with_changes", "with_input"]


@dataclass
class FitResult:
    """What :func:`fit` and :func:`solve` return."""

    params: dict[str, np.ndarray]      # name -> array (copies of the fitted blocks)
    history: list[dict]                # one dict per metrics row (as in metrics.csv)
    summary: dict                      # as summary.json
    problem: Problem | None = None     # the final Problem (model, data, parameters)

    @property
    def metrics(self) -> dict:
        """The summary's metrics: the last row's and the model's final ones."""
        return self.summary.get("metrics", {})


def _merge(base: dict, extra: Mapping) -> dict:
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v
    return base


def load(config: str | Path | Mapping | C.Config, overrides: Mapping | Sequence | None = None,
         **sections) -> C.Config:
    """A resolved config from a path, a dict or a Config, with dotted ``overrides``
    (``{"optimizer.iterations": 50}`` or ``["optimizer.iterations=50"]``) and top-level
    ``sections`` merged in."""
    if isinstance(config, C.Config):
        return with_changes(config, overrides or {}, **sections)
    raw = dict(config) if isinstance(config, Mapping) else C.read_config(config)
    raw = _merge(C.apply_overrides(raw, overrides if overrides else None), sections)
    base = Path.cwd() if isinstance(config, Mapping) else Path(config).resolve().parent
    name = "run" if isinstance(config, Mapping) else Path(config).stem
    return C.resolve(raw, base, name)


def with_changes(cfg: C.Config, changes: Mapping | Sequence, **sections) -> C.Config:
    """A copy of a resolved Config with dotted-key changes, validated again."""
    raw = C.apply_overrides(copy.deepcopy(cfg.resolved), changes or None)
    return C.resolve(_merge(raw, sections), cfg.base_dir, cfg.name)


def with_input(cfg: C.Config, path: str | Path) -> C.Config:
    """``cfg`` with the model's observation replaced by the image at ``path``."""
    return with_changes(cfg, cfg.model_cls.input_overrides(str(Path(path).resolve()), cfg.data))


@scoped
def run(cfg: C.Config, run_dir: str | Path | None = None, *, problem: Problem | None = None,
        callback=None, resume: str | Path | None = None, on_step=None,
        output: str | Path | None = None, handle_signals: bool = True) -> FitResult:
    """Build ``cfg`` (unless ``problem`` is given) and fit it with the one loop.

    ``output``: also write the model's result array there (.png 8-bit, .tif 16-bit,
    .npy float) unless the fit diverged.
    """
    problem = problem if problem is not None else build(cfg)
    run_dir = Path(run_dir) if run_dir is not None else None
    out = loop.run(problem, run_dir, callback=callback,
                   resume=Path(resume) if resume is not None else None,
                   handle_signals=handle_signals, on_step=on_step)
    final = out.problem
    if output is not None and out.summary["status"] != "diverged":
        from .data.images import save_image

        array = final.model.result_array(final.params.views)
        if array is None:
            raise ConfigError("--output", f"a model kind with a result image "
                              f"({final.model.name} has none)")
        out.summary["output"] = str(save_image(output, array))
        if run_dir is not None:
            from .runfolder import write_json

            write_json(run_dir / "summary.json", out.summary)
    params = {k: np.array(v) for k, v in final.params.views.items()}
    return FitResult(params, out.history, out.summary, final)


@scoped
def fit(config: str | Path | Mapping, overrides: Mapping | None = None, *,
        out: str | Path | None = None, callback=None, resume: str | Path | None = None,
        **sections) -> FitResult:
    """Fit a config from Python (a notebook): never prints.

    Parameters
    ----------
    config : path to a YAML file, or a config dict.
    overrides : dotted-key overrides, e.g. ``{"optimizer.iterations": 50}``.
    out : run folder to write (None: no run folder, results only).
    callback : called with a :class:`fitcli.loop.Progress` at every logged row.
    resume : a run folder to continue from its checkpoint.
    **sections : top-level sections merged into the config, e.g.
        ``seed=1, optimizer={"iterations": 50}``.

    Returns
    -------
    FitResult with ``params`` (dict of arrays), ``history`` (list of row dicts)
    and ``summary`` (dict).
    """
    return run(load(config, overrides, **sections), out, callback=callback, resume=resume)


@scoped
def solve(config: str | Path | Mapping | C.Config, overrides: Mapping | None = None, *,
          input: str | Path | None = None, output: str | Path | None = None,
          out: str | Path | None = None, callback=None, resume: str | Path | None = None,
          **sections) -> FitResult:
    """Image recovery (superres, registration): :func:`fit` plus ``input`` (a real
    observation instead of the config's, e.g. a low-resolution PNG) and ``output``
    (where to write the result image). ``summary["metrics"]`` holds the model's final
    metrics (superres: ``recovered`` and ``bicubic`` PSNR/SSIM when the truth is known)."""
    cfg = load(config, overrides, **sections)
    if not cfg.model_cls.solvable:
        raise ConfigError("model.type", "an image-recovery model for solve (superres, "
                          "registration)", cfg.resolved["model"]["type"], "use fit / train")
    if input is not None:
        cfg = with_input(cfg, input)
    return run(cfg, out, callback=callback, resume=resume, output=output)


@scoped
def sweep(config: str | Path | Mapping | C.Config, key: str | None = None,
          values: Sequence | None = None, out: str | Path | None = None, *,
          grid: Mapping | Sequence[str] | None = None, zip: Mapping | Sequence[str] | None = None,
          sample: Mapping | Sequence[str] | None = None, trials: int | None = None,
          seeds: int | None = None, search: str | None = None, metric: str | None = None,
          mode: str | None = None, executor=None, workers: int | None = None,
          overrides: Mapping | None = None, input: str | Path | None = None,
          callback=None, on_result=None):
    """Many fits of one config, each an ordinary run folder under ``out``.

    ``sweep(cfg, grid={"optimizer.step": [1e-3, 1e-2]}, seeds=3, out="runs/s")`` runs
    the search (``grid``, ``zip``, ``sample={"regularization.0.weight":
    "loguniform(1e-5,1e-2)"}`` with ``trials``, ``seeds``, ``search`` random | tpe; laid
    over the config's ``sweep:`` section) on ``executor`` (None: in this process, one by
    one; ``workers=N``: a process pool; or an executor from
    :func:`fitcli.sweep.make_executor`) and returns a :class:`fitcli.sweep.SweepTable`
    (rows, best; ``out`` gets trial-NNNN/, sweep.csv, sweep.png, best.json). ``metric`` /
    ``mode`` default to the model's score. A rerun with the same arguments resumes.

    The older form ``sweep(cfg, key, values, out)`` (``fitcli solve --sweep``) fits one
    value per folder ``out/<key>=<value>/`` and returns a
    :class:`fitcli.sweep.SweepResult`.
    """
    from .sweep.driver import run_space
    from .sweep.executors import make_executor
    from .sweep.space import space_from

    cfg = load(config, overrides)
    section = config.sweep if isinstance(config, C.Config) else cfg.sweep  # not re-resolved
    if input is not None:
        cfg = with_input(cfg, input)
    if key is not None:
        from .sweep.legacy import run_sweep

        return run_sweep(cfg, key, list(values or []), Path(out), executor=executor,
                         callback=callback)
    space = space_from(section, grid=grid, zip_=zip, sample=sample, trials=trials,
                       seeds=seeds, search=search)
    own = executor is None
    executor = make_executor(workers, callback=callback) if own else executor
    try:
        return run_space(cfg, space, Path(out) if out else Path("runs") / f"{cfg.name}-sweep",
                         executor, metric=metric or section.get("metric"),
                         mode=mode or section.get("mode"), on_result=on_result)
    finally:
        if own:
            executor.close()


@scoped
def check(config: str | Path, overrides: Sequence[str] | None = None, *, seed: int = 0,
          mode: str = "reverse", point: str = "both", **tolerances):
    """Gradient check of a config's whole objective per parameter block and of each
    smooth regularizer alone (tiny size then ``overrides``, float64), at the initial
    and/or a seeded random point; ``tolerances``: eps, atol, rtol.
    ``(list of CheckResult, objective formula)``."""
    return check_objective(config, list(overrides or []), seed, mode=mode, point=point,
                           **tolerances)


@scoped
def load_run(run_dir: str | Path) -> Problem:
    """The Problem of a run folder (config.yaml) with the parameters of its checkpoint.

    The data are rebuilt from the resolved config (for text: the vocabulary from the
    file, with paths relative to the directory the run was started from); a staged
    model is moved to the checkpoint's stage.
    """
    from .errors import InputError
    from .problem import enter_stage
    from .runfolder import read_checkpoint, restore_parameters

    run_dir = Path(run_dir)
    cfg_path, ckpt = run_dir / "config.yaml", run_dir / "checkpoint.npz"
    for p in (cfg_path, ckpt):
        if not p.exists():
            raise InputError(f"RUN_DIR: {run_dir} has no {p.name} (not a finished run folder?)")
    ck = read_checkpoint(ckpt)
    base = ck.base_dir or run_dir
    problem = build(C.resolve(C.read_config(cfg_path), base_dir=base, default_name=run_dir.name))
    problem.model.load_state_arrays(ck.model)
    stage = int(ck.loop.get("stage", 0))
    if stage != problem.stage:
        problem = enter_stage(problem, stage, None)
    restore_parameters(ckpt, ck, problem)
    return problem


@scoped
def sample(run_dir: str | Path, length: int = 300, *, temperature: float = 0.8,
           prime: str = "", seed: int = 0) -> str:
    """Text generated by the character-level RNN of a run folder (``fitcli sample``)."""
    from .errors import InputError
    from .models.rnn.text import sample_text

    problem = load_run(run_dir)
    model = problem.model
    if model.name != "rnn" or "vocab" not in (getattr(model.data, "extras", {}) or {}):
        raise InputError(f"RUN_DIR: {run_dir} is not a character-level rnn run "
                         "(model.type rnn with data.dataset text)")
    return sample_text(model, problem.params.views, length, temperature=temperature,
                       prime=prime, rng=np.random.default_rng(seed))


@scoped
def register(fixed: np.ndarray, moving: np.ndarray, *, loss: str | dict = "ssd",
             regularization: Sequence[dict] = (), optimizer: str | dict = "lbfgs",
             truth: np.ndarray | None = None, callback=None, every: int = 10,
             **model) -> FitResult:
    """Register ``moving`` to ``fixed`` (both (H, W) arrays) with the one loop: a
    ``registration`` config built from the arguments, data given as arrays.

    ``model`` holds the model options (``transform``, ``levels``, ``iterations`` per level,
    ``pre``, ``interpolation``, ``boundary``); ``regularization`` is a list of config
    terms (``{"type": "diffusion", "weight": 0.1}``); ``optimizer`` a name or a config
    section (``{"type": "lbfgs", "tol": 1e-6}``). The result's ``problem.model``
    gives the displacement (``model.displacement(result.params)``, (2, H, W)) and the
    warped image; ``summary["metrics"]`` the final metrics.
    """
    from .models.registration.data import registration_pair

    raw = {"name": "register", "model": {"type": "registration", **model}, "loss": loss,
           "regularization": list(regularization),
           "optimizer": {"type": optimizer} if isinstance(optimizer, str) else dict(optimizer),
           "output": {"every": every, "plot": False}}
    cfg = C.resolve(raw, Path.cwd(), "register")
    data = registration_pair(np.asarray(fixed), np.asarray(moving), truth)
    return run(cfg, None, problem=build(cfg, data=data), callback=callback,
               handle_signals=False)


@scoped
def load_fitted(run_dir: str | Path, *, best: bool = False):
    """A fitted run ready to apply (:class:`fitcli.inference.Fitted`): from its ``model.npz``
    (``best``: ``best.npz``) without reading the training data; a run folder from before
    model.npz is rebuilt from config.yaml, checkpoint.npz and its training data (``note``
    says so)."""
    from .inference import from_problem
    from .inference import load_fitted as read_fitted

    run_dir, name = Path(run_dir), "best.npz" if best else "model.npz"
    if best or (run_dir / name).exists():
        return read_fitted(run_dir, name)
    problem = load_run(run_dir)
    from .runfolder import read_checkpoint

    it = int(read_checkpoint(run_dir / "checkpoint.npz").loop.get("iteration", -1))
    return from_problem(run_dir, problem, it, f"{run_dir} has no model.npz (a run from before "
                        "fitcli wrote one): the model was rebuilt from config.yaml, "
                        "checkpoint.npz and the training data")


@scoped
def predict(run: str | Path, data: str | Path, out: str | Path | None = None, *,
            best: bool = False):
    """Apply a fitted run to new data (``fitcli predict``): a
    :class:`fitcli.inference.Predictions` (``header``/``rows`` of the CSV, raw ``outputs``,
    class ``probabilities``; registration: the warped ``image``), also written to ``out``
    when given."""
    from .inference import predict as apply
    from .inference import write

    result = apply(load_fitted(run, best=best), data)
    if out is not None:
        write(result, Path(out))
    return result


@scoped
def evaluate(run: str | Path, data: str | Path, out: str | Path | None = None, *,
             best: bool = False) -> dict:
    """A fitted run's metrics on a labelled file (``fitcli evaluate``), as evaluation.json;
    ``out``: a folder to write evaluation.json (and confusion.png) into."""
    from .evaluation import evaluate as measure
    from .evaluation import write_evaluation

    result = measure(load_fitted(run, best=best), data)
    if out is not None:
        write_evaluation(result, Path(out))
    return result
