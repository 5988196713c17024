"""The bench child in JAX mode at batch 128 on CPU JAX (PyTensor 3.0.x's JAX ARange failed
there: ``structnet.engine.ops.jax_impl``), every step timed, Algorithm 1's batch fused."""
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
    assert out["mode"] == "JAX" and out["batch"] == 128 and out["algo1_fused"] is True and out["waited"] is True
    assert all(0 < out[k] < 120 for k in STEPS)
    # XLA's account of the fused Algorithm-1 batch: no float64 tensor over 1 MB (PyTensor's JAX
    # sums used to promote the weights), and FLOPs within 1.5x of what the batch needs (each
    # line-search step used to recompute the whole gradient: 1.69x at paper sizes)
    x = out["xla"]["algo1_batch"]
    assert x["f64_over_1mb"] == 0 and x["convolutions"] == 3
    assert x["flops_over_needed"] <= 1.5, x
