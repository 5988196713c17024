"""model/layers.py: conv -> pool -> bias -> activation equals the authors' conv -> bias ->
activation -> pool (deviation 1), dense and dropout layers."""
import numpy as np
import pytensor.tensor as pt

from structnet.engine.backend import compile_fn
from structnet.model.layers import build_conv_pool, build_dense, build_dropout


def _pool(z):
    C, N, H, W = z.shape
    Ho, Wo = H // 2, W // 2
    out = np.full((C, N, Ho, Wo), -np.inf, np.float32)
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = z[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max(axis=(2, 3))
    return out


def test_pool_before_bias_and_activation_is_the_authors_order():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 12, 11)).astype(np.float32)
    W = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    xv, Wv, bv = pt.tensor4("x", dtype="float32"), pt.tensor4("W", dtype="float32"), pt.vector("b", dtype="float32")
    for act, f in (("relu", lambda v: np.maximum(v, 0)), ("linear", lambda v: v)):
        z, out = build_conv_pool(xv, Wv, bv, act)
        zz, got = compile_fn([xv, Wv, bv], [z, out], mode="NUMBA")(x, W, b)
        authors = _pool(f(zz + b[:, None, None, None]))            # conv -> bias -> act -> pool
        np.testing.assert_allclose(got, authors, rtol=1e-6, atol=1e-6)


def test_dense_and_dropout():
    xv, Wv, bv, mv = (pt.matrix("x", dtype="float32"), pt.matrix("W", dtype="float32"), pt.vector("b", dtype="float32"),
                      pt.matrix("m", dtype="float32"))
    f = compile_fn([xv, Wv, bv, mv], [build_dense(xv, Wv, bv, "tanh"), build_dropout(xv, mv), build_dropout(xv)],
                   mode="NUMBA")
    x = np.arange(6, dtype=np.float32).reshape(2, 3) / 6
    W, b, m = np.eye(3, dtype=np.float32), np.ones(3, np.float32), np.full((2, 3), 4.0, np.float32)
    dense, dropped, off = f(x, W, b, m)
    np.testing.assert_allclose(dense, np.tanh(x + 1), rtol=1e-6)
    np.testing.assert_allclose(dropped, 4 * x) and np.testing.assert_array_equal(off, x)
