"""The search space of a sweep: grids, zipped lists, seeds, sampled ranges; its trials.

From the command line (``--grid KEY=v1,v2``, ``--zip KEY=v1,v2``, ``--sample
KEY=loguniform(1e-5,1e-2)``, ``--trials N``, ``--seeds N``) and/or a ``sweep:`` section of
the config (the same names: ``grid: {KEY: [v1, v2]}``, ``zip: {KEY: [...]}``, ``sample:
{KEY: "loguniform(1e-5,1e-2)"}``, ``trials``, ``seeds``, ``search``, ``metric``, ``mode``);
the command line wins on a key given in both.

The trials, in order: the cartesian product of every ``grid`` key and of the ``zip``
group (its lists advance together, one axis), times ``trials`` random draws when
``sample`` is given (each grid point gets the same draws), times ``seeds`` (``seed`` set to
the config's seed + 0..N-1; the innermost axis). Draws come from the config's seed, so
the same command gives the same trials (what lets a rerun resume). Imports no numpy at
module level (the process pool pins BLAS threads before numpy loads).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

from ..errors import ConfigError, FitcliError, did_you_mean

__all__ = ["DISTRIBUTIONS", "Dist", "Space", "parse_dist", "parse_list", "space_from"]

SECTION_KEYS = ("grid", "zip", "sample", "trials", "seeds", "search", "metric", "mode")
DISTRIBUTIONS = ("uniform", "loguniform", "int", "logint", "choice")
SEARCHES = ("grid", "random", "tpe")


def split_top(text: str) -> list[str]:
    """Split at commas outside brackets and quotes: ``[32],[64,64]`` → two items."""
    parts, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _yaml(text: str, where: str):
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(where, "YAML values", text) from None
    if isinstance(value, str) and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+", value):
        return float(value)      # PyYAML reads 1e-3 (no dot) as a string
    return value


def parse_list(spec: str, option: str) -> tuple[str, list]:
    """``KEY=v1,v2,...`` → (key, values read as YAML); brackets keep lists whole."""
    key, sep, text = spec.partition("=")
    values = [_yaml(v, f"{option} {key.strip()}") for v in split_top(text)] if sep else []
    if not sep or not key.strip() or not values:
        raise ConfigError(option, "KEY=v1,v2,...", spec)
    return key.strip(), values


@dataclass(frozen=True)
class Dist:
    """One sampled key: ``kind`` in DISTRIBUTIONS, ``args`` (low, high) or the choices."""

    kind: str
    args: tuple

    def draw(self, rng):
        lo, hi = (self.args + (None, None))[:2]
        if self.kind == "uniform":
            return float(rng.uniform(lo, hi))
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        if self.kind == "int":
            return int(rng.integers(lo, hi + 1))
        if self.kind == "logint":
            return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi + 0.5)))))
        return self.args[int(rng.integers(len(self.args)))]

    def __str__(self) -> str:
        return f"{self.kind}({','.join(map(str, self.args))})"


def parse_dist(text, where: str) -> Dist:
    """``loguniform(1e-5,1e-2)``, ``uniform(a,b)``, ``int(a,b)`` (both ends included),
    ``logint(a,b)``, ``choice(a,b,...)``; a list is a choice."""
    if isinstance(text, list):
        return Dist("choice", tuple(text))
    m = re.fullmatch(r"\s*(\w+)\s*\((.*)\)\s*", str(text))
    kind = m.group(1) if m else None
    if kind not in DISTRIBUTIONS:
        raise ConfigError(where, "one of " + ", ".join(f"{d}(...)" for d in DISTRIBUTIONS),
                          text)
    args = tuple(_yaml(a, where) for a in split_top(m.group(2)))
    if kind == "choice":
        if not args:
            raise ConfigError(where, "choice(v1,v2,...) with at least one value", text)
        return Dist(kind, args)
    ok = len(args) == 2 and all(isinstance(a, (int, float)) and not isinstance(a, bool)
                                 for a in args) and args[0] < args[1]
    ok = ok and (kind in ("uniform", "int") or args[0] > 0)
    ok = ok and (kind not in ("int", "logint") or all(float(a).is_integer() for a in args))
    if not ok:
        need = "positive " if kind.startswith("log") else ""
        num = "integers" if kind.endswith("int") else "numbers"
        raise ConfigError(where, f"{kind}(low,high) with {need}{num} low < high", text)
    return Dist(kind, tuple(int(a) if kind.endswith("int") else float(a) for a in args))


@dataclass
class Space:
    """What to try. ``trials()`` lists the dotted config changes of every trial."""

    grid: dict = field(default_factory=dict)      # key -> values
    zip: dict = field(default_factory=dict)       # key -> values (all the same length)
    sample: dict = field(default_factory=dict)    # key -> Dist
    n_trials: int | None = None                   # random draws (sample) / tpe trials
    seeds: int = 1
    search: str = "grid"                          # grid (+ random draws) | random | tpe

    @property
    def keys(self) -> list[str]:
        seed = ["seed"] if self.seeds > 1 else []
        return [*self.grid, *self.zip, *self.sample, *seed]

    def describe(self) -> dict:
        """A plain description (sweep.json: a rerun must declare the same sweep)."""
        return {"grid": self.grid, "zip": self.zip,
                "sample": {k: str(d) for k, d in self.sample.items()},
                "trials": self.n_trials, "seeds": self.seeds, "search": self.search}

    def trials(self, seed: int) -> list[dict]:
        """Every trial's changes (not for tpe, whose trials depend on earlier results)."""
        import numpy as np

        axes = [[{k: v} for v in vals] for k, vals in self.grid.items()]
        if self.zip:
            axes.append([dict(zip(self.zip, vals, strict=True))
                         for vals in zip(*self.zip.values(), strict=True)])
        points = [dict(kv for d in combo for kv in d.items())
                  for combo in itertools.product(*axes)]
        if self.sample:
            rng = np.random.default_rng([seed, 0x5EE9])
            draws = [{k: d.draw(rng) for k, d in self.sample.items()}
                     for _ in range(self.n_trials or 1)]
            points = [{**p, **d} for p in points for d in draws]
        if self.seeds > 1:
            points = [{**p, "seed": seed + s} for p in points for s in range(self.seeds)]
        return points


def _count(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(where, "a positive integer", value)
    return value


def check_section(section) -> dict:
    """The config's ``sweep:`` section, its shape checked (one-line errors)."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError("sweep", "a mapping (grid, zip, sample, trials, seeds, ...)",
                          section)
    for key in section:   # config.py calls this: no import of it here (no circle)
        if key not in SECTION_KEYS:
            raise ConfigError(f"sweep.{key}", "a known key", None,
                              did_you_mean(key, SECTION_KEYS)
                              or "valid keys: " + ", ".join(SECTION_KEYS))
    for key in ("grid", "zip", "sample"):
        part = section.get(key)
        if part is not None and not isinstance(part, dict):
            raise ConfigError(f"sweep.{key}", "a mapping KEY: values", part)
        for k, v in (part or {}).items():
            if key == "sample":
                parse_dist(v, f"sweep.sample.{k}")
            elif not isinstance(v, list) or not v:
                raise ConfigError(f"sweep.{key}.{k}", "a non-empty list of values", v)
    for key in ("trials", "seeds"):
        if section.get(key) is not None:
            _count(section[key], f"sweep.{key}")
    if section.get("search") not in (None, *SEARCHES):
        raise ConfigError("sweep.search", "one of " + ", ".join(SEARCHES), section["search"])
    if section.get("mode") not in (None, "min", "max"):
        raise ConfigError("sweep.mode", "min or max", section["mode"])
    return section


def space_from(section: dict | None, *, grid=(), zip_=(), sample=(), trials=None, seeds=None,
               search=None) -> Space:
    """The Space of a config's ``sweep:`` section with the command line's options laid over."""
    section = check_section(section)
    space = Space(grid=dict(section.get("grid") or {}), zip=dict(section.get("zip") or {}),
                  sample={k: parse_dist(v, f"sweep.sample.{k}")
                          for k, v in (section.get("sample") or {}).items()},
                  n_trials=section.get("trials"), seeds=section.get("seeds") or 1,
                  search=section.get("search") or "grid")
    for spec in _specs(grid, "--grid"):
        k, v = spec if isinstance(spec, tuple) else parse_list(spec, "--grid")
        space.grid[k] = list(v)
    for spec in _specs(zip_, "--zip"):
        k, v = spec if isinstance(spec, tuple) else parse_list(spec, "--zip")
        space.zip[k] = list(v)
    for spec in _specs(sample, "--sample"):
        k, text = spec if isinstance(spec, tuple) else spec.partition("=")[::2]
        space.sample[k.strip()] = text if isinstance(text, Dist) else parse_dist(
            text, f"--sample {k.strip()}")
    space.n_trials = _count(trials, "--trials") if trials is not None else space.n_trials
    space.seeds = _count(seeds, "--seeds") if seeds is not None else space.seeds
    space.search = search or space.search
    _check(space)
    return space


def _specs(given, option: str) -> list:
    """Command-line strings ``KEY=...``, or (from Python) a mapping KEY -> values/dist."""
    if given is None:
        return []
    if isinstance(given, dict):
        for k, v in given.items():
            if option != "--sample" and (not isinstance(v, list | tuple) or not v):
                raise ConfigError(f"{option} {k}", "a non-empty list of values", v)
        return list(given.items())
    return list(given)


def _check(space: Space) -> None:
    if space.search not in SEARCHES:
        raise ConfigError("--search", "one of " + ", ".join(SEARCHES), space.search)
    lengths = {k: len(v) for k, v in space.zip.items()}
    if len(set(lengths.values())) > 1:
        raise ConfigError("--zip", "lists of one length (they advance together)",
                          ", ".join(f"{k}: {n}" for k, n in lengths.items()))
    keys = [*space.grid, *space.zip, *space.sample]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ConfigError(twice[0], "one of --grid, --zip, --sample for a key, not several")
    if space.seeds > 1 and "seed" in keys:
        raise ConfigError("--seeds", "no seed key in the grid as well", space.seeds)
    if space.search in ("random", "tpe") and not space.sample:
        raise ConfigError("--search", f"ranges to search ({space.search}): --sample "
                          "KEY=loguniform(a,b) ...", space.search)
    if space.search == "tpe" and (space.grid or space.zip):
        raise ConfigError("--search tpe", "only --sample ranges (a list: choice(a,b,...))",
                          ", ".join([*space.grid, *space.zip]))
    if space.sample and space.n_trials is None:
        raise ConfigError("--trials", "a number of draws for --sample (e.g. --trials 20)")
    if not keys and space.seeds == 1:
        raise FitcliError("sweep: nothing to sweep: give --grid, --zip, --sample or --seeds "
                          "(or a sweep: section in the config)")
