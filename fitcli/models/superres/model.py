"""Super-resolution: the parameter is the unknown high-resolution image x.

Forward model ``A x = S(h ⋆ x)``: blur by the kernel h (``model.blur``, with
``model.boundary``), then subsample by ``model.factor`` on a pixel grid
(``model.grid``): *corner* keeps pixels 0, f, 2f, …; *centre* reads the image at the
f-block centres k·f + (f−1)/2, which is where ``skimage.transform.resize``/``rescale``,
PIL and camera binning put a low-resolution pixel. ``grid: auto`` (the default) is the
corner grid for a synthetic observation (made here with the same operator) and the
centre grid for a real one (``data.observation``, ``solve --input``). ``sampling: area``
averages f × f blocks (binning; always the centre grid). The data term is the loss
(``ssd`` = ½‖A x − y‖²) against the observation y; regularizers act on x.
Images are floats in [0, 1], (H, W) or (H, W, C) channels last.

Data (``data:`` section, :func:`load_superres`): synthetic mode takes ``image``
(a scikit-image built-in or a path) as the ground truth and degrades it with
the model's own operator plus Gaussian ``noise`` — so the observation is made
here, in the model, which knows the operator (``data.y_train`` is replaced by
it); real mode takes ``observation`` (a low-resolution image, optionally with
``truth`` — or ``image`` — as a ground truth of ``factor`` times its size: PSNR/SSIM
are then reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np

from ... import engine as fe
from ...data.base import DataContext, Dataset
from ...data.images import image_size, load_image
from ...engine import Tensor
from ...errors import ConfigError
from ...operators import Blur, kernel_from_spec, subsample
from ...operators import blur as apply_blur
from ...operators.decimate import BlurSubsample
from ...operators.sampling import ARRAYS
from ..base import OPTIMIZER_COPIES, Model
from .auto import discrepancy_weight
from .baseline import aligned_cubic, centred_cubic, observe, quality
from .figures import write_figures

DEFAULT_BLUR = {"kernel": "gaussian", "sigma": 2.0}


def load_superres(ctx: DataContext, /, *, image: str | None = None,
                  size: int | list[int] | None = None, gray: bool = False,
                  noise: float = 0.01, observation: str | None = None,
                  truth: str | None = None) -> Dataset:
    """The images of a super-resolution problem (see the module docstring).

    Parameters (the ``data:`` keys)
    ----------
    image : a scikit-image built-in (camera, astronaut, shepp_logan_phantom, …) or a
        path: the ground truth. Required unless ``observation`` is given.
    size : centre crop of the ground truth, an integer or [height, width].
    gray : convert colour images to grayscale.
    noise : standard deviation of the Gaussian noise added to the synthetic observation.
    observation : a real low-resolution image (no synthetic degradation).
    truth : with ``observation``: the high-resolution ground truth (a path), for PSNR/SSIM
        (``image`` means the same in real mode).
    """
    if truth is not None:
        if observation is None:
            raise ConfigError("data.truth", "data.observation alongside it (a synthetic "
                              "run's truth is data.image)", truth)
        if image is not None and image != truth:
            raise ConfigError("data.truth", "one ground truth (data.image is set too)", truth)
        image = truth
    if image is None and observation is None:
        raise ConfigError("data.image", "a built-in image name or a path "
                          "(or data.observation for a real low-resolution input)")
    if not (noise >= 0 and np.isfinite(noise)):
        raise ConfigError("data.noise", "a non-negative number", noise)
    dtype = np.dtype(ctx.dtype)
    truth = None
    if image is not None:
        truth = load_image(image, size=size, gray=gray, base_dir=ctx.base_dir,
                                   dtype=dtype)
    extras = {"truth": truth, "noise": float(noise), "base_dir": ctx.base_dir,
              "synthetic": observation is None, "source": image}
    if observation is not None:
        obs = load_image(observation, gray=gray, base_dir=ctx.base_dir, dtype=dtype)
        name = str(observation)
    else:
        # a child generator of the config's: the model draws the noise once it knows A
        extras["rng"] = ctx.rng.spawn(1)[0]
        obs = truth
        name = str(image)
    return Dataset(name=name, task="image", X_train=None, y_train=obs, extras=extras)


class SuperRes(Model):
    """x ↦ S(h ⋆ x): blur, then subsample by ``factor``; the parameter ``image`` is x.

    Options (``model:``): ``factor`` (integer ≥ 1), ``blur`` ({kernel: gaussian, sigma} |
    {kernel: box, size} | {kernel: motion, length, angle} | {kernel: file, path}),
    ``boundary`` (symmetric | periodic), ``sampling`` (sample: one value per low-res pixel |
    area: f × f block means), ``grid`` (auto: corner for a synthetic observation, centre
    for a real one | corner: pixels 0, f, 2f, … | centre: the block centres, as resize),
    ``init`` (bicubic: the cubic upsampling of y on the grid | zeros | adjoint: f²·Aᵀy),
    ``method`` (how to blur: auto — for a separable kernel on images up to 2048 px, blur
    and subsampling fused as R₀ x R₁ᵀ, else the best blur path —
    | separable | direct | fft).
    """

    name = "superres"
    load_data = staticmethod(load_superres)
    default_loss = "ssd"
    main_metric = "psnr"
    batchable = False
    data_formulas = {"ssd": "½‖S(h⋆x) − y‖²"}
    regularizer_kinds = ("any", "image")
    tiny = {"data.size": 32}   # holds the 17 × 17 kernel of sigma 2

    @classmethod
    def memory_estimate(cls, model: dict, data: dict, ctx) -> dict[str, float]:
        """The high-resolution image (from data.size, or the header of data.observation
        times the factor, or of data.image) and its working copies; the blur kernel."""
        f = model.get("factor") or 1
        hw = None
        if data.get("observation"):
            lo = image_size(data["observation"], ctx.base_dir)
            hw = (lo[0] * f, lo[1] * f) if lo else None
        elif data.get("size") is not None:
            s = data["size"]
            hw = (s, s) if isinstance(s, int) else tuple(s)[:2]
        elif data.get("image"):
            hw = image_size(data["image"], ctx.base_dir)
        pixels = float(np.prod(hw, dtype=float)) if hw else 0.0   # gray: a lower bound
        # parameters + optimizer copies, truth, baseline, blur/regularizer temporaries
        image = pixels * max(ctx.dtype.itemsize, 8) * (OPTIMIZER_COPIES + 8)
        blur = model.get("blur") or {}
        try:
            width = {"gaussian": 2 * np.ceil(float(blur.get("truncate", 4.0))
                                             * float(blur.get("sigma", 2.0))) + 1,
                     "box": float(blur.get("size", 1)),
                     "motion": 2 * np.ceil(float(blur.get("length", 1)) / 2) + 3,
                     }.get(blur.get("kernel", "gaussian"), 0.0)
        except (TypeError, ValueError):   # a bad option: the kernel's own check names it
            width = 0.0
        field = ("data.observation" if data.get("observation") else
                 "data.size" if data.get("size") is not None else "data.image")
        return {field: image,
                "model.blur": float(width) ** 2 * 8 * 4}

    def __init__(self, data: Dataset, *, factor: int = 4,
                 blur: dict = DEFAULT_BLUR,  # noqa: B006  (never mutated; shown as the default)
                 boundary: Literal["symmetric", "periodic"] = "symmetric",
                 sampling: Literal["sample", "area"] = "sample",
                 grid: Literal["auto", "corner", "centre"] = "auto",
                 init: Literal["bicubic", "zeros", "adjoint"] = "bicubic",
                 method: Literal["auto", "separable", "direct", "fft"] = "auto"):
        super().__init__(data)
        if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
            raise ConfigError("model.factor", "a positive integer", factor)
        self.factor, self.sampling, self.init = int(factor), sampling, init
        ex = data.extras
        self.grid = self._grid(grid, sampling, bool(ex.get("synthetic")))
        # the subsampling primitive: corner grid, block means, or the block centres
        self.mode = "area" if sampling == "area" else (
            "centre" if self.grid == "centre" else "sample")
        kernel = kernel_from_spec(dict(blur), ex.get("base_dir"), "model.blur")
        self.blur = Blur(kernel, boundary=boundary, method=method)
        self.truth = ex.get("truth")
        self.shape = self._hr_shape(data)
        kh, kw = kernel.array.shape
        if kh > self.shape[0] or kw > self.shape[1]:
            raise ConfigError("model.blur", f"a kernel no larger than the image "
                              f"{self.shape[0]}x{self.shape[1]}", f"{kh}x{kw}")
        if self.mode != "sample" and (self.shape[0] % self.factor
                                      or self.shape[1] % self.factor):
            raise ConfigError("model.factor", f"a divisor of the image size {self.shape[0]}x"
                              f"{self.shape[1]} (the pixel-centre grid)", self.factor)
        # separable kernels: S(h ⋆ ·) as two small matrices R₀ x R₁ᵀ (4× faster on 512²)
        self.fused = (BlurSubsample(kernel, boundary, self.factor, self.mode, self.shape)
                      if method == "auto" and BlurSubsample.applicable(kernel, self.shape)
                      else None)
        if ex.get("synthetic"):
            data.y_train = observe(self.truth, self.apply, ex["noise"], ex["rng"])
            ex["synthetic"] = False  # made once: a second model on this Dataset reuses it
        self.observation = data.y_train

    @staticmethod
    def _grid(grid: str, sampling: str, synthetic: bool) -> str:
        """The grid in use: block means are centred; ``auto`` is the centre grid for a
        real observation (what resize/rescale, PIL and binning make), else the corner."""
        if grid not in ("auto", "corner", "centre"):
            raise ConfigError("model.grid", "one of auto, corner, centre", grid)
        if sampling == "area":
            if grid == "corner":
                raise ConfigError("model.grid", "centre or auto with sampling: area (block "
                                  "means sit at the block centres)", grid)
            return "centre"
        if grid == "auto":
            return "corner" if synthetic else "centre"
        return grid

    def _hr_shape(self, data: Dataset) -> tuple:
        truth, f = self.truth, self.factor
        if data.extras.get("synthetic"):
            return truth.shape
        obs = data.y_train
        if obs.ndim not in (2, 3):
            raise ConfigError("data.observation", "an image (h, w) or (h, w, C)", obs.shape)
        shape = (obs.shape[0] * f, obs.shape[1] * f) + obs.shape[2:]
        if truth is not None and truth.shape != shape:
            raise ConfigError("data.observation", f"an image of the ground truth's size / factor "
                              f"({truth.shape[0]}x{truth.shape[1]} / {f})",
                              f"{obs.shape[0]}x{obs.shape[1]}")
        return shape

    # -- the operator on arrays ------------------------------------------------------------
    def apply(self, x: np.ndarray) -> np.ndarray:
        """A x on a numpy image."""
        if self.fused is not None:
            return self.fused.forward(x)
        return ARRAYS[self.mode][0](self.blur.forward(x), self.factor)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        """Aᵀ y on a numpy low-resolution image."""
        if self.fused is not None:
            return self.fused.adjoint(y)
        return self.blur.adjoint(ARRAYS[self.mode][1](y, self.factor, self.shape))

    def baseline(self) -> np.ndarray:
        """The bicubic upsampling of the observation on the operator's grid (high-res)."""
        y = self.observation
        if self.grid == "centre":  # samples at the block centres: resize's convention
            return centred_cubic(y, self.shape)
        return aligned_cubic(y, self.factor, self.shape)

    @property
    def baseline_label(self) -> str:
        return f"bicubic ({'pixel-centre' if self.grid == 'centre' else 'corner'} grid)"

    # -- weight: auto --------------------------------------------------------------------------
    auto_report: dict | None = None

    def auto_weights(self, regs: list, loss, optimizer_cls, options: dict, stop: dict) -> list:
        """Replace each ``"auto"`` weight by the discrepancy principle's choice (see
        :mod:`.auto`); the others stay (an earlier auto term enters with its choice)."""
        regs, reports = list(regs), []
        for i, (reg, w) in enumerate(regs):
            if w != "auto":
                continue
            rest = [(r, 0.0 if v == "auto" else v) for r, v in regs]
            rep = discrepancy_weight(self, loss, rest, i, optimizer_cls, options, stop)
            regs[i] = (reg, rep["weight"])
            reports.append({"term": i, **rep})
        self.auto_report = reports[0] if len(reports) == 1 else {"terms": reports}
        return regs

    # -- Model protocol ----------------------------------------------------------------------
    def param_shapes(self) -> dict[str, tuple]:
        return {"image": tuple(self.shape)}

    def init_params(self, params: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        x = params["image"]
        if self.init == "zeros":
            x[...] = 0.0
        elif self.init == "adjoint":
            x[...] = self.factor ** 2 * self.adjoint(self.observation)
        else:
            x[...] = self.baseline()

    def forward(self, params: Mapping[str, Tensor], inputs=None) -> Tensor:
        if self.fused is not None:
            return self.fused(params["image"])
        z = apply_blur(params["image"], self.blur)
        return subsample(z, self.factor, mode=self.mode)

    def data_term(self, params, loss, inputs, targets) -> Tensor:
        if loss is None:  # ½‖A x − y‖², the ssd loss
            r = self.forward(params) - self.observation
            return 0.5 * fe.sum(r * r)
        return loss(self.forward(params), self.observation if targets is None else targets)

    def image_metrics(self, image: np.ndarray) -> dict[str, float]:
        """PSNR / SSIM of ``image`` against the ground truth ({} when unknown)."""
        return {} if self.truth is None else quality(self.truth, image)

    def param_metrics(self, params: Mapping[str, np.ndarray]) -> dict[str, float]:
        """PSNR of the current image against the truth, logged live by the fit loop (SSIM,
        ~50× dearer on 512², is computed once at the end: :meth:`image_metrics`)."""
        if self.truth is None:
            return {}
        from skimage.metrics import peak_signal_noise_ratio

        x = np.clip(np.asarray(params["image"], dtype=np.float64), 0.0, 1.0)
        return {"psnr": float(peak_signal_noise_ratio(self.truth.astype(np.float64), x,
                                                      data_range=1.0))}

    def metrics(self, pred: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        """RMS of the observation residual A x − y (the image metrics need x: image_metrics)."""
        r = np.asarray(pred, dtype=np.float64) - np.asarray(targets, dtype=np.float64)
        return {"residual_rms": float(np.sqrt(np.mean(r * r)))}

    # -- results: final metrics, figures, the --output image, --input -----------------------
    solvable = True

    @classmethod
    def input_overrides(cls, path: str, data: Mapping) -> dict:
        """``--input low.png``: a real low-resolution observation, no ground truth."""
        return {"data.observation": path, "data.image": None, "data.truth": None}

    def score(self) -> tuple[str, str]:
        return ("recovered.psnr", "max")

    def final_metrics(self, params: Mapping[str, np.ndarray]) -> dict:
        """PSNR / SSIM of the recovered image and of the bicubic baseline ({} without
        the truth); computed once per image (the figures reuse them)."""
        auto = {} if self.auto_report is None else {"auto_weight": self._auto_summary()}
        if self.truth is None:
            return auto
        x = np.asarray(params["image"])
        cached = getattr(self, "_final", None)
        if cached is not None and np.array_equal(cached[0], x):
            return cached[1]
        out = {"recovered": self.image_metrics(x), "bicubic": self.image_metrics(self.baseline()),
               **auto}
        self._final = (x.copy(), out)
        return out

    def _auto_summary(self) -> dict:
        """The auto weight's report without its curve (the curve: auto_weight.csv)."""
        r = self.auto_report
        return {k: v for k, v in r.items() if k != "curve"} if "terms" not in r else {
            "terms": [{k: v for k, v in t.items() if k != "curve"} for t in r["terms"]]}

    def warnings(self, params: Mapping[str, np.ndarray]) -> list[str]:
        m = self.final_metrics(params)
        out = []
        for r in ([] if self.auto_report is None else self.auto_report.get("terms",
                                                                          [self.auto_report])):
            if r["note"] != "root bracketed":
                out.append(f"weight: auto for regularization[{r['term']}]: {r['note']}; "
                           f"kept {r['weight']:.3g}")
        if "recovered" in m and m["recovered"]["psnr"] < m["bicubic"]["psnr"]:
            return out + [f"the recovered image ({m['recovered']['psnr']:.2f} dB) is below the "
                          f"bicubic baseline ({m['bicubic']['psnr']:.2f} dB): the regularization "
                          "weight or the blur may not fit this image"]
        return out

    def result_array(self, params: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.asarray(params["image"])

    def save_outputs(self, run_dir: Path, params: Mapping[str, np.ndarray], data) -> list[str]:
        x = np.asarray(params["image"])
        extra = []
        if self.auto_report is not None:
            # the criterion curve: one row per trial solve
            rows = [(t["term"], lam, rms) for t in self.auto_report.get(
                "terms", [self.auto_report]) for lam, rms in t["curve"]]
            (Path(run_dir) / "auto_weight.csv").write_text("term,weight,residual_rms\n" + "".join(
                f"{i},{lam:.6g},{rms:.6g}\n" for i, lam, rms in rows), encoding="utf-8")
            extra = ["auto_weight.csv"]
        return extra + write_figures(run_dir, recovered=x, observed=self.observation,
                             baseline=self.baseline(), factor=self.factor, truth=self.truth,
                             metrics=self.final_metrics(params), suptitle=self.describe(),
                             baseline_label=self.baseline_label)

    def describe(self) -> str:
        s = {"sample": "S", "area": "S_area", "centre": "S_centre"}[self.mode]
        return (f"A x = {s}_{self.factor}(h ⋆ x), h = {self.blur.kernel.name}, "
                f"{self.blur.boundary} boundary, {self.grid} grid; x in [0, 1], "
                f"shape {self.shape}")
