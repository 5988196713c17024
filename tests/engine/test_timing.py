"""engine/timing.py: the median timer, and JAX timings that wait for the outputs and every
updated shared variable (JAX dispatches asynchronously)."""
import pytest

from structnet.engine.timing import median_time


def test_median_time_runs_warmup_and_reps():
    calls = []
    t = median_time(lambda: calls.append(1), reps=3, warmup=2)
    assert len(calls) == 5 and 0 <= t < 1


def test_jax_timings_wait_for_outputs_and_updated_parameters():
    """``waited`` returns only when the call's outputs and every updated shared variable are
    computed: JAX dispatches asynchronously, and a bench that times the dispatch reported
    0.00 s for a 4 s forward pass. The work here (eight 1536 x 1536 products) takes far
    longer than its dispatch, so without the wait some result would not be ready."""
    pytest.importorskip("jax")
    import numpy as np
    import pytensor
    import pytensor.tensor as pt

    from structnet.engine.backend import compile_fn
    from structnet.engine.timing import jax_ready, waited
    rng = np.random.default_rng(0)
    W = pytensor.shared(rng.standard_normal((1536, 1536)).astype(np.float32) / 40, name="W", shape=(1536, 1536))
    x = pt.matrix("x", dtype="float32", shape=(1536, 1536))
    h = x
    for _ in range(8):
        h = pt.tanh(pt.dot(h, W))
    f = compile_fn([x], h.sum(), mode="JAX", updates=[(W, W + np.float32(1e-3) * h)])
    xv = rng.standard_normal((1536, 1536)).astype(np.float32)
    f(xv)                                               # compile
    jax_ready(W)
    out = waited(lambda: f(xv), [W])()
    w = W.get_value(borrow=True, return_internal_type=True)
    assert out.is_ready() and w.is_ready()
    assert jax_ready({"a": [out], "b": (W, 3, None)}) == 2