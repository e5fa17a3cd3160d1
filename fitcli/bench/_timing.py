"""Interleaved timing: each round runs every candidate once, the median over rounds is kept."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def interleaved(fns: dict[str, Callable[[], object]], rounds: int = 15,
                warmup: int = 2, clock: Callable[[], float] = time.perf_counter
                ) -> dict[str, float]:
    """Median seconds per call of each function, timed in alternation (``clock``:
    ``time.process_time`` counts this process's CPU only, steadier on a shared machine)."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = clock()
            f()
            times[k].append(clock() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}
