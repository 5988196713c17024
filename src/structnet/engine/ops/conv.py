"""Valid 2D correlation (a CNN "convolution") as PyTensor Ops, channel-major layout.

Layout: activations are (C, N, H, W) -- channels first, then the batch -- so that
im2col of a block of images is one (C*k*k, nb*Ho*Wo) matrix and the whole layer is
one GEMM per block, written straight into the (O, N, Ho, Wo) output (Theano's CorrMM
idea; see legacy_notes/layers.md). Stride 1, no padding, as in every conv layer of the
authors' network.

    z[o, n, i, j] = sum_{c, a, b} w[o, c, a, b] * x[c, n, i + a, j + b]

Three Ops: ``Corr2d`` (forward), ``Corr2dGradW`` and ``Corr2dGradX`` (its gradients).
Both CPU backends run the direct kernels of ``native.c`` (no im2col matrix; measured on
2 cores at 170-210 GFLOP/s, the im2col + BLAS kernels below at 30-60): Numba calls them in
the library ``structnet.engine.ops.native`` builds, the C backend (C / CVM modes) compiles
them as support code. Where no C compiler works the Numba backend falls back to the
im2col kernels of this module. JAX registers its own (``structnet.engine.ops.jax_impl``).
float32 only.
"""
import numba
import numpy as np
import pytensor.tensor as pt
from numba import prange
from pytensor.graph.basic import Apply
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_and_cache_key

from structnet.engine import threads
from structnet.engine.ops import blas, native
from structnet.engine.ops.blas import gemm

#: target size (elements) of one im2col block; a block holds whole images.
BLOCK_ELEMS = 1 << 23


@numba.njit(cache=True, nogil=True)
def _block_images(n, rows, hw):
    return max(1, min(n, BLOCK_ELEMS // max(1, rows * hw)))


@numba.njit(parallel=True, cache=True, nogil=True)
def _im2col(x, n0, nb, k, cols):
    """cols[(c,a,b), (n,i,j)] = x[c, n0+n, i+a, j+b] for n < nb; cols is (C*k*k, nb*Ho*Wo)."""
    C, _, H, W = x.shape
    Ho = H - k + 1
    Wo = W - k + 1
    for r in prange(C * k * k):
        c = r // (k * k)
        a = (r // k) % k
        b = r % k
        for n in range(nb):
            base = n * Ho * Wo
            for i in range(Ho):
                o = base + i * Wo
                for j in range(Wo):
                    cols[r, o + j] = x[c, n0 + n, i + a, j + b]


@numba.njit(parallel=True, cache=True, nogil=True)
def _col2im(gcols, n0, nb, k, gx):
    """gx[c, n0+n, i+a, j+b] += gcols[(c,a,b), (n,i,j)] (the adjoint of ``_im2col``)."""
    C, _, H, W = gx.shape
    Ho = H - k + 1
    Wo = W - k + 1
    for c in prange(C):
        for a in range(k):
            for b in range(k):
                r = (c * k + a) * k + b
                for n in range(nb):
                    base = n * Ho * Wo
                    for i in range(Ho):
                        o = base + i * Wo
                        for j in range(Wo):
                            gx[c, n0 + n, i + a, j + b] += gcols[r, o + j]


@numba.njit(cache=True, nogil=True)
def _im2col_fwd(x, w):
    """x (C,N,H,W), w (O,C,k,k) -> z (O,N,H-k+1,W-k+1); float32."""
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w)
    C, N, H, W = x.shape
    O = w.shape[0]
    k = w.shape[2]
    Ho = H - k + 1
    Wo = W - k + 1
    hw = Ho * Wo
    rows = C * k * k
    z = np.empty((O, N, Ho, Wo), np.float32)
    zf = z.reshape(-1)
    nb = _block_images(N, rows, hw)
    buf = np.empty(rows * nb * hw, np.float32)
    for n0 in range(0, N, nb):
        m = min(nb, N - n0)
        L = m * hw
        cols = buf[: rows * L].reshape(rows, L)
        _im2col(x, n0, m, k, cols)
        gemm(0, 0, O, L, rows, 1.0, w, rows, cols, L, 0.0, zf[n0 * hw:], N * hw)
    return z


@numba.njit(cache=True, nogil=True)
def _im2col_grad_w(x, gz):
    """x (C,N,H,W), gz (O,N,Ho,Wo) -> dL/dw (O,C,k,k) with k = H - Ho + 1."""
    x = np.ascontiguousarray(x)
    gz = np.ascontiguousarray(gz)
    C, N, H, W = x.shape
    O, _, Ho, Wo = gz.shape
    k = H - Ho + 1
    hw = Ho * Wo
    rows = C * k * k
    gw = np.zeros((O, C, k, k), np.float32)
    gzf = gz.reshape(-1)
    nb = _block_images(N, rows, hw)
    buf = np.empty(rows * nb * hw, np.float32)
    for n0 in range(0, N, nb):
        m = min(nb, N - n0)
        L = m * hw
        cols = buf[: rows * L].reshape(rows, L)
        _im2col(x, n0, m, k, cols)
        gemm(0, 1, O, rows, L, 1.0, gzf[n0 * hw:], N * hw, cols, L, 1.0, gw, rows)
    return gw


@numba.njit(cache=True, nogil=True)
def _im2col_grad_x(w, gz):
    """w (O,C,k,k), gz (O,N,Ho,Wo) -> dL/dx (C,N,Ho+k-1,Wo+k-1)."""
    w = np.ascontiguousarray(w)
    gz = np.ascontiguousarray(gz)
    O, C, k, _ = w.shape
    _, N, Ho, Wo = gz.shape
    hw = Ho * Wo
    rows = C * k * k
    gx = np.zeros((C, N, Ho + k - 1, Wo + k - 1), np.float32)
    gzf = gz.reshape(-1)
    nb = _block_images(N, rows, hw)
    buf = np.empty(rows * nb * hw, np.float32)
    for n0 in range(0, N, nb):
        m = min(nb, N - n0)
        L = m * hw
        cols = buf[: rows * L].reshape(rows, L)
        gemm(1, 0, rows, L, O, 1.0, w, rows, gzf[n0 * hw:], N * hw, 0.0, cols, L)
        _col2im(cols, n0, m, k, gx)
    return gx


def im2col_fwd(x, w):
    """The im2col forward kernel from Python: x (C,N,H,W), w (O,C,k,k) -> (O,N,Ho,Wo)."""
    _prepare()
    return _im2col_fwd(x, w)


def im2col_grad_w(x, gz):
    """The im2col weight gradient from Python: x (C,N,H,W), gz (O,N,Ho,Wo) -> (O,C,k,k)."""
    _prepare()
    return _im2col_grad_w(x, gz)


def im2col_grad_x(w, gz):
    """The im2col input gradient from Python: w (O,C,k,k), gz (O,N,Ho,Wo) -> (C,N,Ho+k-1,Wo+k-1)."""
    _prepare()
    return _im2col_grad_x(w, gz)


def _prepare():
    threads.configure()
    blas.register()


def kernels():
    """(forward, weight gradient, input gradient, name) that the Numba backend and ``perform``
    run: the native kernels where they build (on this first use), else im2col. Numba's threads
    are configured and the BLAS symbol registered first."""
    _prepare()
    if native.available():
        return native.corr2d_fwd, native.corr2d_grad_w, native.corr2d_grad_x, "native"
    return _im2col_fwd, _im2col_grad_w, _im2col_grad_x, "im2col"


def kernel_name():
    """"native" or "im2col": which convolution kernels run here."""
    return kernels()[3]


# ----------------------------------------------------------------------------- C code
C_CONV_SUPPORT = native.C_SUPPORT + r"""
#ifndef STRUCTNET_CONV_DEFINED
#define STRUCTNET_CONV_DEFINED
/* mode 0: z = corr(x, w); mode 1: gw = dL/dw from (x, gz); mode 2: gx = dL/dx from (w, gz).
   a and b are C-contiguous float32. */
static int structnet_corr2d_impl(int mode, PyArrayObject *a, PyArrayObject *b, PyArrayObject **out) {
    npy_intp *ad = PyArray_DIMS(a), *bd = PyArray_DIMS(b);
    npy_intp dims[4];
    float *A = (float*)PyArray_DATA(a), *B = (float*)PyArray_DATA(b);
    int r;
    if (mode == 0) {        /* a = x (C,N,H,W), b = w (O,C,k,k) */
        npy_intp k = bd[2];
        if (bd[1] != ad[0] || bd[3] != k || ad[2] < k || ad[3] < k) {
            PyErr_Format(PyExc_ValueError, "Corr2d: x (%ld,%ld,%ld,%ld) and w (%ld,%ld,%ld,%ld) do not match",
                         (long)ad[0], (long)ad[1], (long)ad[2], (long)ad[3],
                         (long)bd[0], (long)bd[1], (long)bd[2], (long)bd[3]);
            return -1;
        }
        dims[0] = bd[0]; dims[1] = ad[1]; dims[2] = ad[2] - k + 1; dims[3] = ad[3] - k + 1;
        if (structnet_prepare_out(out, 4, dims)) return -1;
        r = structnet_corr_fwd(A, B, (float*)PyArray_DATA(*out), ad[0], ad[1], ad[2], ad[3], bd[0], k);
    } else if (mode == 1) { /* a = x (C,N,H,W), b = gz (O,N,Ho,Wo) */
        npy_intp k = ad[2] - bd[2] + 1;
        if (bd[1] != ad[1] || k < 1 || ad[3] - bd[3] + 1 != k) {
            PyErr_SetString(PyExc_ValueError, "Corr2dGradW: x and gz do not match"); return -1;
        }
        dims[0] = bd[0]; dims[1] = ad[0]; dims[2] = k; dims[3] = k;
        if (structnet_prepare_out(out, 4, dims)) return -1;
        r = structnet_corr_grad_w(A, B, (float*)PyArray_DATA(*out), ad[0], ad[1], ad[2], ad[3],
                                  bd[0], bd[2], bd[3]);
    } else {                /* a = w (O,C,k,k), b = gz (O,N,Ho,Wo) */
        if (bd[0] != ad[0]) { PyErr_SetString(PyExc_ValueError, "Corr2dGradX: w and gz do not match"); return -1; }
        dims[0] = ad[1]; dims[1] = bd[1]; dims[2] = bd[2] + ad[2] - 1; dims[3] = bd[3] + ad[2] - 1;
        if (structnet_prepare_out(out, 4, dims)) return -1;
        r = structnet_corr_grad_x(A, B, (float*)PyArray_DATA(*out), ad[0], ad[1], ad[2],
                                  bd[1], bd[2], bd[3]);
    }
    if (r) { PyErr_NoMemory(); return -1; }
    return 0;
}

static int structnet_corr2d(int mode, PyArrayObject *a_in, PyArrayObject *b_in, PyArrayObject **out) {
    PyArrayObject *a = (PyArrayObject*)PyArray_GETCONTIGUOUS(a_in);
    if (!a) return -1;
    PyArrayObject *b = (PyArrayObject*)PyArray_GETCONTIGUOUS(b_in);
    if (!b) { Py_DECREF(a); return -1; }
    int r = structnet_corr2d_impl(mode, a, b, out);
    Py_DECREF(a);
    Py_DECREF(b);
    return r;
}
#endif
"""


def _dim(a, f):
    """Static size f(a...) when every size in a is known, else None."""
    return None if any(x is None for x in a) else f(*a)


def _as_f32_4d(v, what):
    v = pt.as_tensor_variable(v)
    if v.ndim != 4 or v.dtype != "float32":
        raise TypeError(f"{what} must be a 4-D float32 tensor, got {v.type}")
    return v


class _Corr2dBase(native.NativeCOp):
    _mode = 0

    def c_support_code(self, **kwargs):
        return C_CONV_SUPPORT

    def c_code_cache_version(self):
        return (5,)

    def c_code(self, node, name, inp, out, sub):
        a, b = inp
        (z,) = out
        return f"if (structnet_corr2d({self._mode}, {a}, {b}, &{z})) {{ {sub['fail']} }}"

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = kernels()[self._mode](*inputs)


class Corr2d(_Corr2dBase):
    """z = corr(x, w): x (C,N,H,W), w (O,C,k,k) -> (O,N,H-k+1,W-k+1)."""
    _mode = 0

    def make_node(self, x, w):
        x, w = _as_f32_4d(x, "x"), _as_f32_4d(w, "w")
        (C, N, H, W), (O, _, k, _) = x.type.shape, w.type.shape
        shape = (O, N, _dim((H, k), lambda h, k: h - k + 1), _dim((W, k), lambda h, k: h - k + 1))
        return Apply(self, [x, w], [pt.tensor(dtype="float32", shape=shape)])

    def infer_shape(self, fgraph, node, shapes):
        (C, N, H, W), (O, _, k, _) = shapes
        return [(O, N, H - k + 1, W - k + 1)]

    def pullback(self, inputs, outputs, cotangents):
        x, w = inputs
        (gz,) = cotangents
        return [Corr2dGradX()(w, gz), Corr2dGradW()(x, gz)]


class Corr2dGradW(_Corr2dBase):
    """dL/dw from x (C,N,H,W) and gz (O,N,Ho,Wo): (O,C,k,k)."""
    _mode = 1

    def make_node(self, x, gz):
        x, gz = _as_f32_4d(x, "x"), _as_f32_4d(gz, "gz")
        (C, N, H, W), (O, _, Ho, _) = x.type.shape, gz.type.shape
        k = _dim((H, Ho), lambda h, o: h - o + 1)
        return Apply(self, [x, gz], [pt.tensor(dtype="float32", shape=(O, C, k, k))])

    def infer_shape(self, fgraph, node, shapes):
        (C, N, H, W), (O, _, Ho, _) = shapes
        k = H - Ho + 1
        return [(O, C, k, k)]


class Corr2dGradX(_Corr2dBase):
    """dL/dx from w (O,C,k,k) and gz (O,N,Ho,Wo): (C,N,Ho+k-1,Wo+k-1)."""
    _mode = 2

    def make_node(self, w, gz):
        w, gz = _as_f32_4d(w, "w"), _as_f32_4d(gz, "gz")
        (O, C, k, _), (_, N, Ho, Wo) = w.type.shape, gz.type.shape
        shape = (C, N, _dim((Ho, k), lambda o, k: o + k - 1), _dim((Wo, k), lambda o, k: o + k - 1))
        return Apply(self, [w, gz], [pt.tensor(dtype="float32", shape=shape)])

    def infer_shape(self, fgraph, node, shapes):
        (O, C, k, _), (_, N, Ho, Wo) = shapes
        return [(C, N, Ho + k - 1, Wo + k - 1)]


def corr2d(x, w):
    """Symbolic valid correlation, (C,N,H,W) x (O,C,k,k) -> (O,N,Ho,Wo)."""
    return Corr2d()(x, w)


def _register_numba(op_type):
    @register_funcify_and_cache_key(op_type)
    def _funcify(op, node, **kwargs):
        *ks, name = kernels()
        kernel = ks[op_type._mode]

        @numba_basic.numba_njit
        def impl(a, b):
            return kernel(a, b)

        # the key names the module and the kernels: a moved module or a machine without a
        # compiler never meets a stale cache
        return impl, f"{__name__}.{op_type.__name__}.{name}.v5"


for _op in (Corr2d, Corr2dGradW, Corr2dGradX):
    _register_numba(_op)
