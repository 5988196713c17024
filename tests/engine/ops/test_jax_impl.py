"""engine/ops/jax_impl.py: the overrides of PyTensor 3.0.x's JAX dispatch: a float32 sum stays
float32 (no float64 copy of what meets it), arange at batch 128."""
import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from structnet.engine.backend import compile_fn

jax = pytest.importorskip("jax")


def test_a_float32_sum_keeps_its_declared_dtype():
    """PyTensor accumulates a float32 sum in float64 (acc_dtype); its JAX dispatch returned the
    float64 accumulator, and JAX then promoted every float32 tensor that met it (the weight
    decay's gradient, each line-search trial's moved weights) to float64."""
    W = pytensor.shared(np.ones((300, 200), np.float32), name="W", shape=(300, 200))
    s = pt.scalar("s", dtype="float32")
    reg = (W ** 2).sum()
    assert reg.owner.op.acc_dtype == "float64" and reg.dtype == "float32"
    g = pytensor.grad(reg * s, W)
    f = compile_fn([s], [reg, g], mode="JAX")
    r, gv = f(np.float32(2))
    assert r.dtype == np.float32 and gv.dtype == np.float32 and float(r) == 60000.0
    hlo = f.vm.jit_fn.lower(np.float32(2), *(c[0] for c in f.vm.inputs[1:])).compile().as_text()
    assert "f64[300,200]" not in hlo


def test_arange_at_batch_128():
    x = pt.matrix("x", dtype="float32", shape=(128, 3))
    idx = pt.argmax(x, axis=1)
    f = compile_fn([x], x[pt.arange(x.shape[0]), idx], mode="JAX")
    v = np.random.default_rng(0).random((128, 3), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(f(v)), v.max(1))
