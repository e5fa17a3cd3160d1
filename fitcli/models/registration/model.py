"""The model kind ``registration``: θ is the transform, fitted coarse to fine.

Minimise  D(moving ∘ φ_θ, fixed) + Σ_k w_k R_k(u)  over θ, where φ_θ(x) = x + u_θ(x),
on a Gaussian pyramid. Each (transform, level) pair is one stage of the one loop
(:mod:`fitcli.loop`): the coarsest level first, each level's result refined onto the
next (``Transform.refine``); with ``pre: affine`` the affine stages run first and their
field is added under the dense one, u = u_affine + u_dense (regularizers act on u_dense).
``model.iterations`` gives the iterations per level (one number, or a list, coarsest
first); without it every level runs ``optimizer.iterations``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from ...data.images import image_size
from ...engine import Tensor
from ...errors import ConfigError
from ...losses import Loss
from ...operators.pyramid import upsample_field
from ...operators.warp import warp
from ..base import OPTIMIZER_COPIES, Model, check_choice
from .checks import (
    ANGLE_DISAGREE,
    SCALE_BOUNDS,
    SCALE_DISAGREE,
    auto_levels,
    doubts,
    noise_floor,
    search_affine,
)
from .data import endpoint_error, fold_fraction, load_registration_data, pair_metrics
from .fields import FIELD_REGULARIZERS
from .transforms import (
    Similarity,
    affine_info,
    affine_theta,
    build_levels,
    coarsen_affine,
    make_transform,
)

__all__ = ["NCC", "RegistrationModel"]

# A squared k-th derivative energy on a level 2^L coarser weighs 4^{(k-1)L} times more
# against the data term than on the finest level; the weight is rescaled by 4^{-(k-1)L}
# so that it means the same on every level (k = 0: l2, 1: diffusion, tv, 2: bending).
LEVEL_POWER = {"bending": 1, "l2": -1, "tikhonov": -1}


class NCC(Loss):
    """1 − normalised cross-correlation of the warped and fixed images; with ``window``
    (odd, pixels) 1 − the mean local NCC over window × window boxes."""

    name = "ncc"
    tasks = ("image",)
    formula = "1 − NCC(moving ∘ φ, fixed)"

    def __init__(self, *, window: int | None = None, eps: float = 1e-6):
        self.similarity = Similarity("ncc", window, eps)

    def __call__(self, pred: Tensor, target: np.ndarray) -> Tensor:
        return self.similarity(pred, np.asarray(target, dtype=pred.dtype).reshape(pred.shape))


def _per_level(iterations, levels: int) -> list[int] | None:
    if iterations is None:
        return None
    if isinstance(iterations, (list, tuple)) and len(iterations) == 1:
        iterations = iterations[0]
    if isinstance(iterations, (int, np.integer)) and not isinstance(iterations, bool):
        its = [int(iterations)] * levels
    elif isinstance(iterations, (list, tuple)) and len(iterations) == levels:
        its = [int(i) for i in iterations]
    else:
        raise ConfigError("model.iterations",
                          f"a positive integer or a list of {levels} (one per level, "
                          "coarsest first)", iterations)
    if any(i < 0 for i in its):
        raise ConfigError("model.iterations", "non-negative integers", iterations)
    return its


class RegistrationModel(Model):
    """Registration of ``moving`` to ``fixed``, coarse to fine: the parameter θ is the
    transform (translation | affine | a dense displacement (2, H, W))."""

    name = "registration"
    load_data = staticmethod(load_registration_data)
    default_loss = "ssd"
    default_optimizer = "lbfgs"       # used when the config has no ``optimizer:``
    main_metric = "loss"
    batchable = False
    solvable = True
    tiny = {"data.resize": 32, "model.levels": 2, "model.iterations": 5}
    per_stage_iterations = "iterations"   # model.iterations, per level, replaces optimizer's
    data_formulas = {"ssd": "½Σ(moving ∘ φ − fixed)²"}
    # the kind's own names: regularizers of a displacement field (per component, (2, H, W))
    regularizers = FIELD_REGULARIZERS
    regularizer_kinds = ("any", "field")
    losses = {"ncc": NCC}

    @classmethod
    def memory_estimate(cls, model: dict, data: dict, ctx) -> dict[str, float]:
        """The images (data.resize², data.size², or the files' headers): the displacement,
        its optimizer copies, the warped image and its derivatives, the pyramid."""
        if data.get("resize"):
            pixels, field = float(data["resize"]) ** 2, "data.resize"
        elif data.get("size"):
            pixels, field = float(data["size"]) ** 2, "data.size"
        else:
            sizes = [image_size(data[k], ctx.base_dir) for k in ("fixed", "moving", "image")
                     if data.get(k)]
            pixels = max((float(h) * w for h, w in filter(None, sizes)), default=0.0)
            field = "data.fixed" if data.get("fixed") else "data.image"
        return {field: pixels * 8 * (2 * OPTIMIZER_COPIES + 16)}

    def __init__(self, data, *,
                 transform: Literal["translation", "affine", "displacement"] = "displacement",
                 levels: int | None = None, iterations: int | list[int] | None = None,
                 pre: Literal["affine"] | None = None,
                 interpolation: Literal["cubic", "linear"] = "cubic",
                 boundary: Literal["border", "zeros"] = "border",
                 start: Literal["search", "identity"] = "search"):
        super().__init__(data)
        ex = data.extras
        fixed, moving = ex["fixed"], ex["moving"]
        levels = auto_levels(fixed.shape) if levels is None else levels
        if not (isinstance(levels, int) and levels >= 1) or min(fixed.shape) >> (levels - 1) < 4:
            raise ConfigError("model.levels", "a positive integer leaving at least 4x4 pixels "
                              "at the coarsest level", levels)
        if pre is not None and transform != "displacement":
            raise ConfigError("model.pre", "null unless transform is displacement", pre)
        check_choice("model.interpolation", interpolation, ("cubic", "linear"))
        check_choice("model.boundary", boundary, ("border", "zeros"))
        check_choice("model.start", start, ("search", "identity"))
        self.start = start
        make_transform(transform)
        self.interpolation, self.boundary, self.pre = interpolation, boundary, pre
        self.pyramid = build_levels(fixed, moving, levels, interpolation, boundary)
        self.iterations = _per_level(iterations, levels)
        names = (["affine"] if pre == "affine" else []) + [transform]
        self.plan = [(t, i) for t in names for i in range(levels)]   # (transform, pyramid idx)
        self.truth, self.affine_truth = ex.get("truth"), ex.get("affine_truth")
        if self.truth is not None:       # shown live, like superres' PSNR
            self.main_metric = "epe_mean"
        self.notes = list(ex.get("notes", []))
        self.affine_theta: np.ndarray | None = None     # the affine stage's result (finest)
        self.pre_field: np.ndarray | None = None
        self.affine_log: list[tuple[int, float, float]] = []   # (level, angle, scale) per level
        self.search: tuple[float, float] | None = None           # the start's angle, scale
        self.noise = noise_floor(fixed, moving)
        self._set_stage(0)

    # -- stages: (transform, level), coarsest level first ------------------------------------
    def _set_stage(self, index: int) -> None:
        name, i = self.plan[index]
        self.stage_index, self.transform, self.level = index, make_transform(name), \
            self.pyramid[i]
        self.pre_field = None
        if name == "displacement" and self.affine_theta is not None:
            self.pre_field = self._affine_field(self.level)
        # the identity plus the affine field under the dense one, once per stage
        self.base = self.level.grid if self.pre_field is None else \
            self.level.grid + self.pre_field

    def _affine_field(self, level) -> np.ndarray:
        """u_affine on ``level``, from the affine result on the finest level."""
        theta, k = self.affine_theta, len(self.pyramid) - 1
        while self.pyramid[k] is not level:
            theta, k = coarsen_affine(theta, self.pyramid[k], self.pyramid[k - 1]), k - 1
        return make_transform("affine").displacement(theta, level)

    def stages(self) -> list[str]:
        return [f"{t} level {self.pyramid[i].index} ({self.pyramid[i].shape[0]}x"
                f"{self.pyramid[i].shape[1]})" for t, i in self.plan]

    def stage_iterations(self) -> list[int] | None:
        if self.iterations is None:
            return None
        return [self.iterations[i] for _, i in self.plan]

    def enter_stage(self, index, previous):
        before = self.plan[index - 1][0] if index > 0 else None
        if before == "affine" and previous is not None:
            lv = self.pyramid[self.plan[index - 1][1]]
            a = affine_info(np.asarray(previous["theta"]), lv)
            self.affine_log.append((lv.index, a["angle"], a["scale"]))
        if index == 0 and self.plan[0][0] == "affine" and self.start == "search":
            self._set_stage(0)
            return {"theta": self._search_start()}
        if previous is not None and before == "affine" and self.plan[index][0] != "affine":
            self.affine_theta = np.array(previous["theta"])
        self._set_stage(index)
        if previous is None or before != self.plan[index][0]:
            return None                                   # zeros (init_params)
        coarse = self.pyramid[self.plan[index - 1][1]]
        return {"theta": self.transform.refine(np.asarray(previous["theta"]), coarse,
                                               self.level)}

    def _search_start(self) -> np.ndarray:
        """θ of the first affine stage from the coarse rotation/scale search."""
        matrix, _, angle, scale = search_affine(self.pyramid)
        self.search = (angle, scale)
        return affine_theta(matrix, self.level)

    def stage_weight(self, name: str, weight: float, loss) -> float:
        """Rescaled so that a weight means the same on every level. ncc is a mean over
        pixels, not a sum: a level 2^L coarser keeps its data term's size while the
        regularizers lose the 4^L pixels, which the weight gets back."""
        index = self.level.index
        mean = 4.0 ** index if getattr(loss, "name", "") == "ncc" else 1.0
        return weight * mean * 0.25 ** (LEVEL_POWER.get(name, 0) * index)

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {} if self.affine_theta is None else {"affine_theta": self.affine_theta}

    def load_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        if "affine_theta" in arrays:
            self.affine_theta = np.array(arrays["affine_theta"])
            self._set_stage(self.stage_index)

    # -- the objective on the current level --------------------------------------------------
    def param_shapes(self) -> dict[str, tuple]:
        return {"theta": self.transform.param_shape(self.level.shape)}

    def init_params(self, params, rng) -> None:
        params["theta"][...] = 0.0

    def regularized(self) -> list[str]:
        return ["theta"] if self.transform.name == "displacement" else []

    def forward(self, params, inputs=None) -> Tensor:
        """The warped moving image moving(x + u_pre(x) + u_θ(x)) on the current level."""
        u = self.transform.field(params["theta"], self.level)
        return self.level.warp(u + self.base)

    def data_term(self, params, loss, inputs, targets) -> Tensor:
        return loss(self.forward(params), self.level.fixed)

    # -- results -----------------------------------------------------------------------------
    def score(self) -> tuple[str, str]:
        return ("epe_mean", "min") if self.truth is not None else ("ssd_after", "min")

    def displacement(self, params) -> np.ndarray:
        """u = u_pre + u_θ on the finest grid (2, H, W) (a coarse level's upsampled)."""
        u = self.transform.displacement(np.asarray(params["theta"]), self.level)
        if self.pre_field is not None:
            u = u + self.pre_field
        finest = self.pyramid[-1]
        if self.level is not finest:
            u = upsample_field(u, finest.shape).astype(u.dtype)
        return u

    def warped(self, u: np.ndarray) -> np.ndarray:
        return warp(self.pyramid[-1].moving, u, order=3 if self.interpolation == "cubic" else 1,
                    boundary=self.boundary)

    def param_metrics(self, params) -> dict[str, float]:
        u = self.displacement(params)
        m = {"fold_fraction": fold_fraction(u)}
        if self.truth is not None:
            m.update(endpoint_error(u, self.truth))
        return m

    def final_metrics(self, params) -> dict:
        """SSD / NCC before and after, folds, the endpoint error against a known truth, and
        the affine stage's angle and scale (against the truth of a synthetic affine)."""
        u = self.displacement(params)
        finest = self.pyramid[-1]
        m = pair_metrics(finest.fixed, finest.moving, self.warped(u), u, self.truth)
        theta = self.affine_theta if self.transform.name != "affine" else \
            np.asarray(params["theta"])
        if theta is not None and self.level is finest:
            m.update(self._affine_metrics(affine_info(theta, finest)))
        return m

    def _affine_metrics(self, a: dict) -> dict:
        m = {"angle_deg": a["angle"], "scale": a["scale"],
             "shift_row": float(a["shift"][0]), "shift_col": float(a["shift"][1])}
        if self.affine_truth is not None:
            tm = np.asarray(self.affine_truth[0])
            t_angle = float(np.degrees(np.arctan2(tm[1, 0] - tm[0, 1], tm[0, 0] + tm[1, 1])))
            t_scale = float(np.sqrt(abs(np.linalg.det(tm))))
            m.update(angle_true_deg=t_angle, scale_true=t_scale,
                     angle_error_deg=abs(a["angle"] - t_angle),
                     scale_error_rel=abs(a["scale"] / t_scale - 1.0))
        return m

    def warnings(self, params) -> list[str]:
        """Notes of the data, folds, and the doubts of a finished solve: no better match
        than before, a residual below the pair's noise, a displacement at the edge of what
        the pyramid reaches, an affine at a bound or changing from level to level."""
        out = list(self.notes)
        u = self.displacement(params)
        folds = fold_fraction(u)
        if folds > 0:
            out.append(f"the displacement folds on {100 * folds:.2f}% of the pixels (Jacobian "
                       "determinant <= 0): raise the regularizer weight")
        finest = self.pyramid[-1]
        if self.level is not finest:          # stopped early: the checks need the end
            return out
        warped = self.warped(u)
        m = pair_metrics(finest.fixed, finest.moving, warped, u)
        rms = float(np.sqrt(np.mean((warped - finest.fixed) ** 2)))
        out += doubts(m, self.noise, finest.fixed, finest.moving, rms)
        return out + self._reach_warnings(params)

    def _reach_warnings(self, params) -> list[str]:
        out, levels = [], len(self.pyramid)
        theta = np.asarray(params["theta"])
        if self.transform.name != "affine":
            own = self.transform.displacement(theta, self.level)
            reach = float(np.sqrt((own ** 2).sum(axis=0)).max())
            if reach > 2.0 ** (levels - 1):
                out.append(f"the {self.transform.name} reaches {reach:.1f} px, beyond the "
                           f"~{2 ** (levels - 1)} px (1 px at the coarsest level) that "
                           f"{levels} pyramid levels capture reliably: add levels "
                           "(model.levels) or pre: affine")
        log = list(self.affine_log)
        if self.transform.name == "affine":
            a = affine_info(theta, self.level)
            log.append((self.level.index, a["angle"], a["scale"]))
        if not log:
            return out
        _, angle, scale = log[-1]
        if not SCALE_BOUNDS[0] < scale < SCALE_BOUNDS[1]:
            out.append(f"the affine scale {scale:.3g} is outside {SCALE_BOUNDS}: almost "
                       "surely a wrong optimum (check the pair, or give more levels)")
        if len(log) > 1:
            _, a0, s0 = log[-2]
            if abs((angle - a0 + 180) % 360 - 180) > ANGLE_DISAGREE or \
                    abs(scale / s0 - 1) > SCALE_DISAGREE:
                out.append(f"the affine changed between the last two levels (angle "
                           f"{a0:.2f} to {angle:.2f} deg, scale {s0:.4f} to {scale:.4f}): "
                           "the coarse levels did not settle it; doubtful")
        return out

    def export_arrays(self, params) -> dict[str, np.ndarray]:
        """model.npz keeps the displacement on the finest grid (predict warps with it)."""
        return {"displacement": self.displacement(params)}

    def result_array(self, params) -> np.ndarray:
        """``--output``: the warped moving image (the displacement is displacement.npy)."""
        return self.warped(self.displacement(params))

    @classmethod
    def input_overrides(cls, path: str, data: Mapping) -> dict:
        """``--input moving.png``: a real moving image, registered to the config's fixed
        image (``data.fixed``, or ``data.image`` of a synthetic pair)."""
        fixed = data.get("fixed") or data.get("image")
        return {"data.fixed": fixed, "data.moving": path, "data.image": None,
                "data.deformation": None}

    def save_outputs(self, run_dir, params, data) -> list[str]:
        from .figures import write_outputs

        u = self.displacement(params)
        finest = self.pyramid[-1]
        return write_outputs(run_dir, finest.fixed, finest.moving, self.warped(u), u,
                             self.truth)

    def describe(self) -> str:
        finest = self.pyramid[-1]
        stages = " then ".join(dict.fromkeys(t for t, _ in self.plan))
        return (f"moving(x + u_θ(x)) vs fixed, {stages} transform, {len(self.pyramid)} levels, "
                f"{self.interpolation} interpolation, {finest.shape[0]}x{finest.shape[1]}")
