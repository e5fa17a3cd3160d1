"""Performance settings for fitcli's work inside a host program: :func:`performance`.

The CLI owns its process: it sets ``OPENBLAS_NUM_THREADS=1`` before numpy loads and tunes
glibc's allocator (:mod:`fitcli.allocator`). A notebook or a host program has loaded numpy
already, with as many BLAS threads as cores; on a shared 2-core machine OpenBLAS's threads
spin-wait between calls, and L-BFGS's vector bookkeeping on a 262k-variable problem took
335 ms per iteration from ``fitcli.solve`` instead of ~3 ms (measured). So every entry point
of :mod:`fitcli.api` runs inside :func:`performance`, which

- sets the BLAS libraries already loaded in the process (numpy's bundled scipy-openblas,
  scipy's, a system OpenBLAS, MKL) to ``threads`` through their C API and restores each
  library's previous count on exit, so the host's own numpy work is not affected after the
  call (a BLAS library first loaded inside the call keeps its own default);
- tunes the allocator once per process (``mallopt`` has no scope: thresholds that keep
  freed large blocks for reuse only change when memory goes back to the OS, never what a
  program computes; ``MALLOC_*_THRESHOLD_`` in the environment still wins).

``FITCLI_BLAS_THREADS`` chooses the thread count (default 1: fitcli's matrices are small,
where BLAS threads cost more than they give); ``FITCLI_BLAS_THREADS=keep`` leaves the
host's setting alone. Nesting is fine (an inner scope restores what the outer one set).
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import allocator

# (setter, getter) C symbols by library family; scipy-openblas exports 64-bit-interface
# names with a prefix and a trailing underscore.
_SYMBOLS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
    ("MKL_Set_Num_Threads", "MKL_Get_Max_Threads"),
)
_MARKERS = ("openblas", "mkl_rt", "libblas")
_lock = threading.RLock()
_tuned = False
_controls: dict[str, tuple] = {}   # library path -> (set, get) C functions, or ()


def _loaded_libraries() -> list[str]:
    """Paths of the BLAS shared libraries mapped into this process (Linux: /proc/self/maps;
    elsewhere numpy's bundled .libs folder)."""
    paths: set[str] = set()
    try:
        for line in Path("/proc/self/maps").read_text().splitlines():
            path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
            if path.startswith("/") and any(m in Path(path).name.lower() for m in _MARKERS):
                paths.add(path)
    except OSError:
        import numpy

        libs = Path(numpy.__file__).parent.parent / "numpy.libs"
        paths.update(str(p) for p in libs.glob("*openblas*") if p.is_file())
    return sorted(paths)


def _control(path: str) -> tuple:
    if path not in _controls:
        found: tuple = ()
        try:
            lib = ctypes.CDLL(path)   # already mapped: the same handle, nothing loads
            for set_name, get_name in _SYMBOLS:
                setter, getter = getattr(lib, set_name, None), getattr(lib, get_name, None)
                if setter is not None and getter is not None:
                    setter.argtypes, getter.restype = [ctypes.c_int], ctypes.c_int
                    found = (setter, getter)
                    break
        except OSError:
            pass
        _controls[path] = found
    return _controls[path]


def blas_threads() -> dict[str, int]:
    """The current thread count of each loaded BLAS library (path -> threads)."""
    with _lock:
        return {p: c[1]() for p in _loaded_libraries() if (c := _control(p))}


def _set(counts: dict[str, int]) -> None:
    for path, n in counts.items():
        if c := _control(path):
            c[0](int(n))


def _requested(threads: int | None) -> int | None:
    if threads is not None:
        return threads
    value = os.environ.get("FITCLI_BLAS_THREADS", "1").strip().lower()
    if value == "keep":
        return None
    try:
        return max(1, int(value))
    except ValueError:
        return 1


def tune_allocator_once() -> None:
    """:func:`fitcli.allocator.tune` the first time only (process-wide, not undone)."""
    global _tuned
    with _lock:
        if not _tuned:
            _tuned = True
            allocator.tune()


@contextmanager
def performance(threads: int | None = None) -> Iterator[None]:
    """Run the body with ``threads`` BLAS threads (default: ``FITCLI_BLAS_THREADS`` or 1),
    restoring every library's previous count on exit; tunes the allocator once."""
    tune_allocator_once()
    n = _requested(threads)
    if n is None:
        yield
        return
    with _lock:
        before = blas_threads()
        _set({p: n for p in before})
    try:
        yield
    finally:
        with _lock:
            _set(before)


def scoped(func):
    """Decorator: ``func`` runs inside :func:`performance`."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with performance():
            return func(*args, **kwargs)
    return wrapper


__all__ = ["blas_threads", "performance", "scoped", "tune_allocator_once"]
