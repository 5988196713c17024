import importlib.util

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

from structnet.engine.backend import compile_fn
from structnet.engine.ops.pool import maxpool, pool_out_size


def ref_pool(x):
    """Direct definition with cuda-convnet sizing; the last window may hang over the edge."""
    H, W = x.shape[2:]
    Ho, Wo = pool_out_size(H), pool_out_size(W)
    z = np.empty(x.shape[:2] + (Ho, Wo), x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            z[:, :, i, j] = x[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max(axis=(2, 3))
    return z


def test_sizes_of_the_paper():
    assert [pool_out_size(n) for n in (104, 48, 20)] == [52, 24, 10]
    assert pool_out_size(7) == 3 and pool_out_size(8) == 4
    with pytest.raises(ValueError):
        pool_out_size(2)


@pytest.mark.parametrize("mode", ["NUMBA", "CVM", "C", pytest.param("JAX", marks=pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed"))])
@pytest.mark.parametrize("shape", [(2, 3, 20, 20), (1, 2, 7, 8), (2, 1, 9, 3)])
def test_forward_and_grad(mode, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    gz = rng.standard_normal(ref_pool(x).shape).astype(np.float32)
    X, GZ = pt.tensor4(dtype="float32"), pt.tensor4(dtype="float32")
    z = maxpool(X)
    (gx,) = pytensor.grad(None, [X], known_grads={z: GZ})
    z_, gx_ = compile_fn([X, GZ], [z, gx], mode=mode)(x, gz)
    np.testing.assert_array_equal(z_, ref_pool(x))
    # each window's gradient lands on its (unique) maximum
    ref = np.zeros_like(x)
    Ho, Wo = gz.shape[2:]
    for a in range(shape[0]):
        for b in range(shape[1]):
            for i in range(Ho):
                for j in range(Wo):
                    win = x[a, b, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
                    r, c = np.unravel_index(np.argmax(win), win.shape)
                    ref[a, b, 2 * i + r, 2 * j + c] += gz[a, b, i, j]
    np.testing.assert_allclose(gx_, ref, rtol=1e-6, atol=1e-6)


def test_verify_grad():
    rng = np.random.default_rng(5)
    x = rng.permutation(2 * 2 * 9 * 7).reshape(2, 2, 9, 7).astype(np.float32) / 10  # no ties
    verify_grad(maxpool, [x], rng=rng, mode="NUMBA", eps=1e-3, abs_tol=1e-3, rel_tol=1e-3)


def test_infer_shape():
    X = pt.tensor4(dtype="float32")
    f = pytensor.function([X], maxpool(X).shape, mode="FAST_COMPILE")
    assert tuple(f(np.zeros((3, 2, 104, 21), np.float32))) == (3, 2, 52, 10)
