"""Max-pooling 3x3, stride 2, with cuda-convnet output sizing, as PyTensor Ops.

    out = ceil((n - 3) / 2) + 1        (104 -> 52, 48 -> 24, 20 -> 10)

The last window may hang over the edge: it then covers only the pixels that exist
(legacy_notes/original-code.md, "Pooling"). Pools the last two axes of a 4-D float32 tensor, so it
works in the channel-major (C, N, H, W) layout as in (N, C, H, W).

``MaxPool`` is the forward Op; ``MaxPoolGrad(x, gz)`` routes each output gradient to
the first maximum of its window (row-major order), the subgradient Theano's and
cuda-convnet's max-pools use. As for the convolution, both CPU backends run the kernels
of ``native.c`` (measured on conv1's output, 32x128x104x104: forward 7 ms against 62 ms
for the Numba kernels below, gradient 43 ms against 80 ms); the Numba kernels here are the
fallback where no C compiler works. JAX registers its own.
"""
import math

import numba
import numpy as np
import pytensor.tensor as pt
from numba import prange
from pytensor.graph.basic import Apply
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_and_cache_key

from structnet.engine import threads
from structnet.engine.ops import native

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
def numba_maxpool_fwd(x):
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
def numba_maxpool_grad(x, gz):
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


def kernels():
    """(forward, gradient, name) that the Numba backend and ``perform`` run: the native
    kernels where they build (on this first use), else the Numba ones above (threads
    configured first)."""
    threads.configure()
    if native.available():
        return native.maxpool_fwd, native.maxpool_grad, "native"
    return numba_maxpool_fwd, numba_maxpool_grad, "numba"


def maxpool_fwd(x):
    """The forward kernel from Python: x (A,B,H,W) -> (A,B,H//2,W//2)."""
    return kernels()[0](x)


def maxpool_grad(x, gz):
    """The gradient kernel from Python: dL/dx from x and gz."""
    return kernels()[1](x, gz)


C_POOL_SUPPORT = native.C_SUPPORT + r"""
#ifndef STRUCTNET_POOL_DEFINED
#define STRUCTNET_POOL_DEFINED
/* grad == NULL: z = maxpool(x). Otherwise gx (in *out) = maxpool'(x) * gz. */
static int structnet_pool_op(PyArrayObject *x_in, PyArrayObject *gz_in, PyArrayObject **out) {
    PyArrayObject *x = (PyArrayObject*)PyArray_GETCONTIGUOUS(x_in);
    if (!x) return -1;
    PyArrayObject *gz = NULL;
    if (gz_in) { gz = (PyArrayObject*)PyArray_GETCONTIGUOUS(gz_in); if (!gz) { Py_DECREF(x); return -1; } }
    npy_intp *d = PyArray_DIMS(x);
    npy_intp P = d[0] * d[1], H = d[2], W = d[3];
    int r = -1;
    if (H < 3 || W < 3) {
        PyErr_SetString(PyExc_ValueError, "MaxPool: input smaller than the 3x3 window");
        goto done;
    }
    if (gz && (PyArray_DIMS(gz)[0] != d[0] || PyArray_DIMS(gz)[1] != d[1]
               || PyArray_DIMS(gz)[2] != H / 2 || PyArray_DIMS(gz)[3] != W / 2)) {
        PyErr_SetString(PyExc_ValueError, "MaxPoolGrad: x and gz do not match");
        goto done;
    }
    {
        npy_intp od[4] = {d[0], d[1], gz ? H : H / 2, gz ? W : W / 2};
        if (structnet_prepare_out(out, 4, od)) goto done;
        const float *X = (const float*)PyArray_DATA(x);
        float *Z = (float*)PyArray_DATA(*out);
        r = gz ? structnet_maxpool_grad(X, (const float*)PyArray_DATA(gz), Z, P, H, W)
               : structnet_maxpool(X, Z, P, H, W);
        if (r) PyErr_NoMemory();
    }
done:
    Py_DECREF(x);
    Py_XDECREF(gz);
    return r;
}
#endif
"""


class _PoolBase(native.NativeCOp):
    def c_support_code(self, **kwargs):
        return C_POOL_SUPPORT

    def c_code_cache_version(self):
        return (4,)


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
        return f"if (structnet_pool_op({inp[0]}, NULL, &{out[0]})) {{ {sub['fail']} }}"

    def pullback(self, inputs, outputs, cotangents):
        return [MaxPoolGrad()(inputs[0], cotangents[0])]


class MaxPoolGrad(_PoolBase):
    """Gradient of ``MaxPool``: (x, gz) -> gx shaped like x."""

    def make_node(self, x, gz):
        x, gz = pt.as_tensor_variable(x), pt.as_tensor_variable(gz)
        if x.ndim != 4 or x.dtype != "float32" or gz.ndim != 4:
            raise TypeError(f"MaxPoolGrad takes 4-D float32 x and a 4-D gz, got {x.type}, {gz.type}")
        if gz.dtype != "float32":
            gz = pt.cast(gz, "float32")
        return Apply(self, [x, gz], [x.type()])

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = maxpool_grad(*inputs)

    def c_code(self, node, name, inp, out, sub):
        return f"if (structnet_pool_op({inp[0]}, {inp[1]}, &{out[0]})) {{ {sub['fail']} }}"


def maxpool(x):
    """Symbolic 3x3 stride-2 max-pool of the last two axes (cuda-convnet ceil sizing)."""
    return MaxPool()(x)


@register_funcify_and_cache_key(MaxPool)
def _numba_maxpool(op, node, **kwargs):
    fwd, _, name = kernels()

    @numba_basic.numba_njit
    def impl(x):
        return fwd(x)

    return impl, f"{__name__}.MaxPool.{name}.v4"   # module and kernels in the key: no stale cache


@register_funcify_and_cache_key(MaxPoolGrad)
def _numba_maxpool_grad(op, node, **kwargs):
    _, grad, name = kernels()

    @numba_basic.numba_njit
    def impl(x, gz):
        return grad(x, gz)

    return impl, f"{__name__}.MaxPoolGrad.{name}.v4"
