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
    assert out["mode"] == "JAX" and out["batch"] == 128 and out["algo1_fused"] is True
    assert all(0 < out[k] < 120 for k in STEPS)
