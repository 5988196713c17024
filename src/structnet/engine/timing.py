"""Timing the compiled functions: the benches' median timer, waiting for JAX's asynchronous
results, and XLA's own account of a compiled JAX function."""
import statistics
import time

import numpy as np


def median_time(fn, reps, warmup):
    """Median wall time of ``reps`` calls of ``fn`` after ``warmup`` calls (seconds)."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def jax_ready(*objs):
    """Block until every JAX array in ``objs`` (nested lists, tuples, dicts; shared variables
    by their value) is computed. JAX dispatches asynchronously: a call returns before its
    results exist, so a timing that does not wait measures the dispatch (CPU JAX, batch 128:
    forward 0.00 s unwaited, 4.28 s waited). Objects that are not JAX arrays are skipped."""
    todo, seen = list(objs), []
    while todo:
        o = todo.pop()
        if isinstance(o, dict):
            todo.extend(o.values())
        elif isinstance(o, (list, tuple)):
            todo.extend(o)
        elif hasattr(o, "get_value") and hasattr(o, "type"):          # a shared variable
            todo.append(o.get_value(borrow=True, return_internal_type=True))
        elif hasattr(o, "block_until_ready"):
            seen.append(o)
    for a in seen:
        a.block_until_ready()
    return len(seen)


def waited(fn, shared):
    """``fn`` timed as it computes: its results and every variable in ``shared`` (the
    parameters and buffers its updates write) waited for (``jax_ready``)."""
    def run():
        r = fn()
        jax_ready(r, shared)
        return r
    return run


def xla_analysis(function, args=None):
    """XLA's own account of a compiled JAX-mode PyTensor function, lowered for ``args`` (its
    explicit inputs; default: zeros of its static input shapes) and its shared variables'
    values: FLOPs and bytes accessed (``cost_analysis``), and from its optimised HLO the
    float64 tensors (count, largest in bytes), convolutions, dot_generals and gathers."""
    import re
    vm = function.vm
    n_explicit = len(function.maker.inputs) - sum(1 for i in function.maker.inputs if i.shared)
    if args is None:
        args = [np.zeros(i.variable.type.shape, i.variable.type.dtype) for i in function.maker.inputs[:n_explicit]]
    values = list(args) + [s[0] for s in vm.inputs[len(args):]]
    compiled = vm.jit_fn.lower(*values).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    hlo = compiled.as_text()
    f64 = [int(np.prod([int(d) for d in dims.split(",") if d])) * 8 if dims else 8
           for dims in re.findall(r"f64\[([0-9,]*)\]", hlo)]
    return {"gflop": float(cost.get("flops", float("nan"))) / 1e9,
            "gb_accessed": float(cost.get("bytes accessed", float("nan"))) / 1e9,
            "f64_tensors": len(f64), "f64_largest_bytes": max(f64, default=0),
            "f64_over_1mb": sum(b > 2 ** 20 for b in f64),
            "convolutions": len(re.findall(r"= \S+ convolution\(", hlo)),
            "dot_generals": len(re.findall(r"= \S+ dot\(", hlo)),
            "gathers": len(re.findall(r"= \S+ gather\(", hlo))}
