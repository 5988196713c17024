"""Numba's threads, configured on the first compile (``configure``), never at import.

Numba's OpenMP layer leaves its threads spinning after a parallel loop, which takes the
cores from OpenBLAS in the GEMM that follows (measured: conv1 forward 0.84 s -> 0.42 s with
the work-queue layer on 2 cores), so the work-queue layer is chosen unless the user chose
one ($NUMBA_THREADING_LAYER). The layer is launched here, before any parallel kernel runs:
parallel kernels loaded from Numba's on-disk cache link against its symbols
(allocate_sched, ...), which exist only once it has been launched ("LLVM ERROR: Symbol not
found: allocate_sched" otherwise).
"""
import os

_DONE = False


def configure():
    """Choose and launch Numba's threading layer once per process (idempotent)."""
    global _DONE
    if _DONE:
        return
    import numba
    from numba.np.ufunc import parallel
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"
    parallel._launch_threads()
    _DONE = True
