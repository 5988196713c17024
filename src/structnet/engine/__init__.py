"""The compile machinery under the science: compile modes and the one door to compiled code
(``backend.compile_fn``), NUMBA mode's per-node linker (``linker``), compiled functions kept
on disk (``fncache``), Numba's threads (``threads``), our Ops and kernels (``ops``), the
timing and XLA helpers of the benches (``timing``), and the list of PyTensor / Numba
internals all of it leans on (``internals``). Nothing here runs at import."""
