"""How much memory a config would need, against what the machine has — checked by
:func:`fitcli.problem.build` before anything is loaded or allocated.

Each model kind estimates its own big arrays from the resolved config alone
(``Model.memory_estimate(model_options, data_options, itemsize)``: the kind knows
which options size what, and the config is all there is before the data are read);
this module holds the one rule: the sum against the machine's available memory, and
the one-line refusal. Estimates are lower bounds of the arrays that dominate
(parameters and their optimizer copies, activations, kernels, images), so a refusal
is never a false alarm; a config that passes may still be slow.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError, InputError

__all__ = ["available_memory", "check_memory", "format_bytes", "regular_file"]


def available_memory() -> int | None:
    """Bytes the machine can give now: MemAvailable (Linux), else free physical pages;
    None when unknown (then nothing is refused)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"   # pragma: no cover


def check_memory(items: dict[str, float], available: int | None = None) -> None:
    """Refuse (one ConfigError line naming the largest item) when the estimated arrays
    exceed the available memory."""
    avail = available_memory() if available is None else available
    total = float(sum(items.values()))
    if avail is None or total <= avail:
        return
    field, _ = max(items.items(), key=lambda kv: kv[1])
    raise ConfigError(field, f"a size this machine can hold: it would need at least "
                      f"{format_bytes(total)} of memory, {format_bytes(avail)} is available")


def regular_file(path: str | Path, what: str, limit: int | None = None) -> Path:
    """``path`` when it is a regular file (of at most ``limit`` bytes): a link to
    /dev/zero, a FIFO or a folder would be read forever or fail obscurely."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: {what} not found")
    if not p.is_file():
        raise InputError(f"{p}: not a regular file (expected {what})")
    if limit is not None and p.stat().st_size > limit:
        raise InputError(f"{p}: {format_bytes(p.stat().st_size)}, more than the "
                         f"{format_bytes(limit)} a {what} may have")
    return p
