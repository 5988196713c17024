import importlib.util

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from pytensor.gradient import verify_grad

from structnet.engine.backend import compile_fn
from structnet.engine.ops.conv import corr2d

MODES = ["NUMBA", "CVM", "C", pytest.param("JAX", marks=pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed"))]


def ref_corr(x, w):
    """Direct definition: z[o,n,i,j] = sum_{c,a,b} w[o,c,a,b] x[c,n,i+a,j+b] (float64)."""
    k = w.shape[2]
    win = sliding_window_view(x.astype(np.float64), (k, k), axis=(2, 3))
    return np.einsum("cnijab,ocab->onij", win, w.astype(np.float64))


def ref_grads(x, w, gz):
    k = w.shape[2]
    win = sliding_window_view(x.astype(np.float64), (k, k), axis=(2, 3))
    gw = np.einsum("cnijab,onij->ocab", win, gz)
    gx = np.zeros(x.shape)
    Ho, Wo = gz.shape[2:]
    for a in range(k):
        for b in range(k):
            gx[:, :, a:a + Ho, b:b + Wo] += np.einsum("onij,oc->cnij", gz, w[:, :, a, b])
    return gx, gw


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5, 13, 11)).astype(np.float32)
    w = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    gz = rng.standard_normal((4, 5, 9, 7)).astype(np.float32)
    return x, w, gz


@pytest.mark.parametrize("mode", MODES)
def test_forward_and_grads_match_reference(mode, data):
    x, w, gz = data
    X, W, GZ = pt.tensor4(dtype="float32"), pt.tensor4(dtype="float32"), pt.tensor4(dtype="float32")
    z = corr2d(X, W)
    gx, gw = pytensor.grad(None, [X, W], known_grads={z: GZ})
    f = compile_fn([X, W, GZ], [z, gx, gw], mode=mode)
    z_, gx_, gw_ = f(x, w, gz)
    gx_r, gw_r = ref_grads(x, w, gz.astype(np.float64))
    np.testing.assert_allclose(z_, ref_corr(x, w), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gx_, gx_r, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw_, gw_r, rtol=1e-4, atol=1e-3)


def test_im2col_kernels_block_over_images(data):
    """The im2col fallback: results must not depend on how many images one block holds."""
    import structnet.engine.ops.conv as conv
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 9, 8, 8)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    z = conv.im2col_fwd(x, w)
    np.testing.assert_allclose(z, ref_corr(x, w), rtol=1e-4, atol=1e-4)
    gx_r, gw_r = ref_grads(x, w, z.astype(np.float64))
    np.testing.assert_allclose(conv.im2col_grad_w(x, z), gw_r, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(conv.im2col_grad_x(w, z), gx_r, rtol=1e-4, atol=1e-3)
    assert conv._block_images(9, 18, 36) == 9
    assert conv._block_images(9, conv.BLOCK_ELEMS, 4) == 1


def test_noncontiguous_input(data):
    x, w, _ = data
    X = pt.tensor4(dtype="float32")
    f = compile_fn([X], corr2d(X.dimshuffle(1, 0, 2, 3), w), mode="NUMBA")
    np.testing.assert_allclose(f(np.ascontiguousarray(x.transpose(1, 0, 2, 3))), ref_corr(x, w),
                               rtol=1e-4, atol=1e-4)


def test_verify_grad():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    w = rng.standard_normal((2, 2, 3, 3)).astype(np.float32)
    verify_grad(corr2d, [x, w], rng=rng, mode="NUMBA", eps=1e-2, abs_tol=5e-3, rel_tol=5e-3)


def test_infer_shape_and_bad_input():
    X = pt.tensor4(dtype="float32")
    z = corr2d(X, np.zeros((4, 3, 5, 5), np.float32))
    f = pytensor.function([X], z.shape, mode="FAST_COMPILE")
    assert tuple(f(np.zeros((3, 2, 12, 9), np.float32))) == (4, 2, 8, 5)
    with pytest.raises(TypeError):
        corr2d(pt.matrix(dtype="float32"), np.zeros((4, 3, 5, 5), np.float32))
    with pytest.raises(TypeError):
        corr2d(pt.tensor4(dtype="float64"), np.zeros((4, 3, 5, 5), np.float32))
