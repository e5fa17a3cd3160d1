"""Many fits of one config: ``fitcli sweep`` (and ``fitcli solve --sweep``).

- :mod:`.space` — the search: grids, zipped lists, seeds, sampled ranges; the trials.
- :mod:`.trial` — one trial: its config and run folder, fitted by the one loop.
- :mod:`.executors` — where trials run: sequential, a process pool, Dask.
- :mod:`.driver` — scheduling, resuming, the lock, signals.
- :mod:`.table`, :mod:`.figure` — sweep.csv, best.json, sweep.png.
- :mod:`.tpe` — ``--search tpe`` through Optuna (optional).
- :mod:`.legacy` — ``solve --sweep KEY=v1,v2``'s own table over the same machinery.

Lazy: a spawned pool worker imports this package before it pins BLAS threads, so
nothing here may import numpy at import time.
"""

_LAZY = {"SweepResult": "legacy", "parse_values": "legacy", "run_sweep": "legacy",
         "sweep_figure": "legacy", "Space": "space", "space_from": "space",
         "run_space": "driver", "SweepTable": "table", "make_executor": "executors"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
