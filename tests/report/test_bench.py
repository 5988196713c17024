"""The bench child in JAX mode at batch 128 on CPU JAX (PyTensor 3.0.x's JAX ARange failed
there: ``structnet.model.ops.jax_impl``), every step timed, Algorithm 1's batch fused."""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("jax")


def test_bench_child_jax_batch_128():
    env = dict(os.environ, STRUCTNET_PROGRESS="0")
    r = subprocess.run([sys.executable, "-m", "structnet.report.bench", "--child", "JAX", "--batch", "128",
                        "--candidates", "50", "--reps", "1", "--warmup", "0"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    from structnet.report.bench import STEPS
    assert out["mode"] == "JAX" and out["batch"] == 128 and out["algo1_fused"] is True
    assert all(0 < out[k] < 120 for k in STEPS)


def test_jax_timings_wait_for_outputs_and_updated_parameters():
    """``waited`` returns only when the call's outputs and every updated shared variable are
    computed: JAX dispatches asynchronously, and a bench that times the dispatch reported
    0.00 s for a 4 s forward pass. The work here (eight 1536 x 1536 products) takes far
    longer than its dispatch, so without the wait some result would not be ready."""
    import numpy as np
    import pytensor
    import pytensor.tensor as pt

    from structnet.model.backend import compile_fn
    from structnet.report.bench_jax import jax_ready, waited
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


def test_needed_arithmetic_counts_the_paper_batch():
    """The reference count of an Algorithm-1 batch at paper sizes: the conv stack's forward is
    the layers bench's 62.2 GFLOP (21.5 + 30.2 + 10.5), and the line search's ten costs
    dominate the fully connected work."""
    from structnet.config import paper
    from structnet.report.bench_jax import needed_gflop
    n = needed_gflop(paper(), 128, 2010, 10)
    assert abs(n["conv_forward"] - 62.2) < 0.1
    assert n["line_search"] > n["fc_forward"] > n["update"] * 0.5
    assert abs(n["total"] - sum(v for k, v in n.items() if k != "total")) < 1e-9
