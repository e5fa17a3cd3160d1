"""Where a sweep's trials run, behind one small interface.

An executor has ``slots`` (trials at once), ``submit(task) -> future`` and
``wait(futures) -> (done, pending)`` (returns when at least one is done), ``interrupt()``
and ``close()``. The futures are ``concurrent.futures`` ones (sequential, pool) or Dask's;
``future.result()`` is the trial's result dict (:func:`fitcli.sweep.trial.run_trial`
never raises for a trial's own failure).

- :class:`Sequential`: in this process, one after another (the default). Ctrl-C reaches
  the running trial's loop, which checkpoints and stops.
- :class:`Pool`: a local process pool (``--workers N``), spawned processes pinned to one
  BLAS thread each (the variables are set before the worker imports numpy). Ctrl-C at a
  terminal reaches the workers too (one process group): each running trial checkpoints.
- :class:`Dask`: Dask distributed (``--dask-workers N``: a LocalCluster of N one-thread
  worker processes; ``--scheduler ADDR``: an existing cluster, whose workers must see the
  sweep folder, e.g. a shared file system). Dask's nannies start workers with one BLAS
  thread. An interrupted sweep cancels the trials not started; running ones keep their
  last periodic checkpoint (trials run in worker threads, where no signal arrives).

No numpy at module level: spawned pool workers import this module first.
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as cf_wait

from ..errors import FitcliError

__all__ = ["BLAS_VARS", "Dask", "Pool", "Sequential", "make_executor"]

BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
DASK_HINT = "pip install 'fitcli[dask]' (dask and distributed)"


def pin_one_thread() -> None:
    """A pool worker's initializer: one BLAS thread (the pool gives the parallelism; a
    trial's matrices are small, where BLAS threads cost more than they give) and no
    KeyboardInterrupt while idle (a trial's own loop handles SIGINT: it checkpoints)."""
    import signal

    for var in BLAS_VARS:
        os.environ[var] = "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Sequential:
    """Trials in this process, one at a time (``callback`` sees the loop's progress)."""

    name = "sequential"
    slots = 1

    def __init__(self, callback=None):
        self.callback = callback

    def submit(self, task) -> Future:
        from .trial import run_trial

        fut: Future = Future()
        fut.set_result(run_trial(task, callback=self.callback))
        return fut

    def wait(self, futures):
        return set(futures), set()

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


class Pool:
    """A local process pool of ``workers`` spawned processes."""

    name = "pool"

    def __init__(self, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.slots = workers
        # spawn, not fork: a fresh interpreter pins BLAS before numpy loads, and no
        # thread of the parent (a progress bar) is copied mid-lock
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=pin_one_thread)

    def submit(self, task) -> Future:
        from .trial import run_trial

        return self.pool.submit(run_trial, task)

    def wait(self, futures):
        done, pending = cf_wait(futures, return_when=FIRST_COMPLETED)
        return done, pending

    def interrupt(self) -> None:
        pass   # SIGINT from a terminal reached the workers; running trials checkpoint

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class Dask:
    """Dask distributed: a LocalCluster of ``workers`` processes, or the cluster at
    ``scheduler`` (``tcp://host:8786``)."""

    name = "dask"

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise FitcliError(f"--dask-workers/--scheduler: Dask is not installed: "
                              f"{DASK_HINT}") from None
        self.cluster = None
        try:
            if scheduler is not None:
                self.client = Client(scheduler, timeout="10s")
            else:
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                            processes=True, dashboard_address=None)
                self.client = Client(self.cluster)
        except OSError as exc:
            raise FitcliError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        info = self.client.scheduler_info()
        self.slots = max(1, sum(w.get("nthreads", 1) for w in info["workers"].values()))

    def submit(self, task):
        from .trial import run_trial

        # pure=False: a trial is a side effect (a run folder), never a cached value
        return self.client.submit(run_trial, task, pure=False, key=f"trial-{task.name}")

    def wait(self, futures):
        from distributed import wait

        res = wait(list(futures), return_when="FIRST_COMPLETED")
        return set(res.done), set(res.not_done)

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(workers: int | None = None, dask_workers: int | None = None,
                  scheduler: str | None = None, callback=None):
    """The executor the options ask for (at most one of them)."""
    given = [n for n, v in (("--workers", workers), ("--dask-workers", dask_workers),
                            ("--scheduler", scheduler)) if v is not None]
    if len(given) > 1:
        raise FitcliError(f"{given[0]}, {given[1]}: give one executor")
    for name, v in (("--workers", workers), ("--dask-workers", dask_workers)):
        if v is not None and v < 1:
            raise FitcliError(f"{name}: expected a positive integer, got {v}")
    if dask_workers is not None or scheduler is not None:
        return Dask(dask_workers, scheduler)
    if workers is not None and workers > 1:
        return Pool(workers)
    return Sequential(callback)
