"""Max-pooling 3x3, stride 2, with cuda-convnet output sizing, as PyTensor Ops.

    out = ceil((n - 3) / 2) + 1        (104 -> 52, 48 -> 24, 20 -> 10)

The last window may hang over the edge: it then covers only the pixels that exist
(original-code.md, "Pooling"). Pools the last two axes of a 4-D float32 tensor, so it
works in the channel-major (C, N, H, W) layout as in (N, C, H, W).

``MaxPool`` is the forward Op; ``MaxPoolGrad(x, gz)`` routes each output gradient to
the first maximum of its window (row-major order), the subgradient Theano's and
cuda-convnet's max-pools use. Numba, C and JAX implementations as for the convolution.
"""
import math

import numba
import numpy as np
import pytensor.tensor as pt
from numba import prange
from pytensor.graph.basic import Apply
from pytensor.link.c.op import COp
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_and_cache_key

SIZE = 3
STRIDE = 2


def pool_out_size(n, size=SIZE, stride=STRIDE):
    """cuda-convnet sizing: ceil((n - size) / stride) + 1 (n >= size)."""
    if n < size:
        raise ValueError(f"cannot pool an axis of length {n} with a {size}-window")
    return int(math.ceil((n - size) / stride)) + 1


@numba.njit(cache=True, inline="always")
def _out(n):
    return (n - SIZE + STRIDE - 1) // STRIDE + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _window_argmax(x, a, b, i, j):
    """(row, col) of the first maximum of window (i, j) of x[a, b] (3x3 at stride 2, cut at the edge)."""
    H, W = x.shape[2], x.shape[3]
    r0 = i * STRIDE
    c0 = j * STRIDE
    rm, cm = r0, c0
    m = x[a, b, r0, c0]
    for r in range(r0, min(r0 + SIZE, H)):
        for c in range(c0, min(c0 + SIZE, W)):
            if x[a, b, r, c] > m:
                m = x[a, b, r, c]
                rm, cm = r, c
    return rm, cm


@numba.njit(parallel=True, cache=True, nogil=True)
def maxpool_fwd(x):
    """x (A,B,H,W) -> (A,B,Ho,Wo), max over 3x3 windows at stride 2."""
    A, B, H, W = x.shape
    Ho = _out(H)
    Wo = _out(W)
    z = np.empty((A, B, Ho, Wo), x.dtype)
    for p in prange(A * B):
        a = p // B
        b = p % B
        for i in range(Ho):
            for j in range(Wo):
                rm, cm = _window_argmax(x, a, b, i, j)
                z[a, b, i, j] = x[a, b, rm, cm]
    return z


@numba.njit(parallel=True, cache=True, nogil=True)
def maxpool_grad(x, gz):
    """dL/dx (A,B,H,W) from x and gz (A,B,Ho,Wo): gz goes to each window's first max."""
    A, B, H, W = x.shape
    Ho = gz.shape[2]
    Wo = gz.shape[3]
    gx = np.zeros(x.shape, x.dtype)
    for p in prange(A * B):
        a = p // B
        b = p % B
        for i in range(Ho):
            for j in range(Wo):
                rm, cm = _window_argmax(x, a, b, i, j)
                gx[a, b, rm, cm] += gz[a, b, i, j]
    return gx


C_POOL_SUPPORT = r"""
#ifndef STRUCTNET_POOL_DEFINED
#define STRUCTNET_POOL_DEFINED
#define SN_POOL_SIZE 3
#define SN_POOL_STRIDE 2
static npy_intp structnet_pool_out(npy_intp n) { return (n - SN_POOL_SIZE + SN_POOL_STRIDE - 1) / SN_POOL_STRIDE + 1; }

/* grad == NULL: z = maxpool(x). Otherwise gx (in *out) = maxpool'(x) * gz. */
static int structnet_maxpool(PyArrayObject *x_in, PyArrayObject *gz_in, PyArrayObject **out) {
    PyArrayObject *x = (PyArrayObject*)PyArray_GETCONTIGUOUS(x_in);
    if (!x) return -1;
    PyArrayObject *gz = NULL;
    if (gz_in) { gz = (PyArrayObject*)PyArray_GETCONTIGUOUS(gz_in); if (!gz) { Py_DECREF(x); return -1; } }
    npy_intp *d = PyArray_DIMS(x);
    npy_intp P = d[0] * d[1], H = d[2], W = d[3];
    if (H < SN_POOL_SIZE || W < SN_POOL_SIZE) {
        PyErr_SetString(PyExc_ValueError, "MaxPool: input smaller than the 3x3 window");
        Py_DECREF(x); Py_XDECREF(gz); return -1;
    }
    npy_intp Ho = structnet_pool_out(H), Wo = structnet_pool_out(W);
    npy_intp od[4] = {d[0], d[1], gz ? H : Ho, gz ? W : Wo};
    int ok = *out && PyArray_NDIM(*out) == 4 && PyArray_IS_C_CONTIGUOUS(*out) && PyArray_TYPE(*out) == NPY_FLOAT32;
    for (int q = 0; ok && q < 4; ++q) ok = PyArray_DIMS(*out)[q] == od[q];
    if (!ok) {
        Py_XDECREF(*out);
        *out = (PyArrayObject*)PyArray_EMPTY(4, od, NPY_FLOAT32, 0);
        if (!*out) { Py_DECREF(x); Py_XDECREF(gz); return -1; }
    }
    const float *X = (const float*)PyArray_DATA(x);
    float *Z = (float*)PyArray_DATA(*out);
    const float *G = gz ? (const float*)PyArray_DATA(gz) : NULL;
    if (gz) memset(Z, 0, PyArray_NBYTES(*out));
    for (npy_intp p = 0; p < P; ++p) {
        const float *xp = X + p * H * W;
        for (npy_intp i = 0; i < Ho; ++i) {
            npy_intp r0 = i * SN_POOL_STRIDE, r1 = r0 + SN_POOL_SIZE < H ? r0 + SN_POOL_SIZE : H;
            for (npy_intp j = 0; j < Wo; ++j) {
                npy_intp c0 = j * SN_POOL_STRIDE, c1 = c0 + SN_POOL_SIZE < W ? c0 + SN_POOL_SIZE : W;
                float m = xp[r0 * W + c0];
                npy_intp am = r0 * W + c0;
                for (npy_intp r = r0; r < r1; ++r)
                    for (npy_intp c = c0; c < c1; ++c)
                        if (xp[r * W + c] > m) { m = xp[r * W + c]; am = r * W + c; }
                if (G) Z[p * H * W + am] += G[(p * Ho + i) * Wo + j];
                else Z[(p * Ho + i) * Wo + j] = m;
            }
        }
    }
    Py_DECREF(x);
    Py_XDECREF(gz);
    return 0;
}
#endif
"""


class _PoolBase(COp):
    __props__ = ()

    def c_support_code(self, **kwargs):
        return C_POOL_SUPPORT

    def c_headers(self, **kwargs):
        return ["<string.h>"]

    def c_code_cache_version(self):
        return (2,)


class MaxPool(_PoolBase):
    """Max-pool 3x3 stride 2 (ceil sizing) over the last two axes of a 4-D float32 tensor."""

    def make_node(self, x):
        x = pt.as_tensor_variable(x)
        if x.ndim != 4 or x.dtype != "float32":
            raise TypeError(f"MaxPool takes a 4-D float32 tensor, got {x.type}")
        A, B, H, W = x.type.shape
        shape = (A, B, None if H is None else H // 2, None if W is None else W // 2)
        return Apply(self, [x], [pt.tensor(dtype="float32", shape=shape)])

    def infer_shape(self, fgraph, node, shapes):
        (A, B, H, W), = shapes
        return [(A, B, H // 2, W // 2)]  # ceil((n - 3) / 2) + 1 == n // 2 for n >= 3

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = maxpool_fwd(inputs[0])

    def c_code(self, node, name, inp, out, sub):
        return f"if (structnet_maxpool({inp[0]}, NULL, &{out[0]})) {{ {sub['fail']} }}"

    def pullback(self, inputs, outputs, cotangents):
        return [MaxPoolGrad()(inputs[0], cotangents[0])]


class MaxPoolGrad(_PoolBase):
    """Gradient of ``MaxPool``: (x, gz) -> gx shaped like x."""

    def make_node(self, x, gz):
        x, gz = pt.as_tensor_variable(x), pt.as_tensor_variable(gz)
        return Apply(self, [x, gz], [x.type()])

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = maxpool_grad(*inputs)

    def c_code(self, node, name, inp, out, sub):
        return f"if (structnet_maxpool({inp[0]}, {inp[1]}, &{out[0]})) {{ {sub['fail']} }}"


def maxpool(x):
    """Symbolic 3x3 stride-2 max-pool of the last two axes (cuda-convnet ceil sizing)."""
    return MaxPool()(x)


@register_funcify_and_cache_key(MaxPool)
def _numba_maxpool(op, node, **kwargs):
    @numba_basic.numba_njit
    def impl(x):
        return maxpool_fwd(x)

    return impl, f"{__name__}.MaxPool.v3"   # the module in the key: a moved module never meets a stale cache


@register_funcify_and_cache_key(MaxPoolGrad)
def _numba_maxpool_grad(op, node, **kwargs):
    @numba_basic.numba_njit
    def impl(x, gz):
        return maxpool_grad(x, gz)

    return impl, f"{__name__}.MaxPoolGrad.v3"
