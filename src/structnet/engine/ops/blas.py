"""Single-precision GEMM reachable from Numba (the im2col fallback kernels' GEMM).

SciPy's bundled OpenBLAS ``sgemm``, found through ``scipy.linalg.cython_blas``: no link
flags are needed after a plain ``pip install``.

All matrices are row-major. ``gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)``
computes ``c[m, n] = alpha * op(a) @ op(b) + beta * c`` where ``op(a)`` is ``a`` stored
(m, k) when ``ta == 0`` and ``a`` stored (k, m) when ``ta == 1``; ``lda``/``ldb``/``ldc``
are the row strides in elements of the matrices as stored.
"""
import llvmlite.binding as _llb
import numba
import numpy as np
from numba import types

_sgemm = types.ExternalFunction("structnet_sgemm", types.void(*([types.voidptr] * 13)))
_REGISTERED = False


def register():
    """Make SciPy's ``sgemm`` known to Numba as ``structnet_sgemm`` (before ``gemm`` compiles
    or loads from Numba's cache); idempotent."""
    global _REGISTERED
    if not _REGISTERED:
        from numba.extending import get_cython_function_address
        _llb.add_symbol("structnet_sgemm", get_cython_function_address("scipy.linalg.cython_blas", "sgemm"))
        _REGISTERED = True


@numba.njit(cache=True, nogil=True)
def gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Row-major sgemm on the data pointers of ``a``, ``b``, ``c`` (float32 arrays, any rank)."""
    # Column-major view: C^T (n, m) = op(B)^T (n, k) @ op(A)^T (k, m).
    tr = np.empty(2, np.uint8)
    tr[0] = 84 if tb else 78  # 'T' / 'N' for the first operand (B)
    tr[1] = 84 if ta else 78
    iv = np.empty(6, np.int32)
    iv[0] = n
    iv[1] = m
    iv[2] = k
    iv[3] = ldb
    iv[4] = lda
    iv[5] = ldc
    fv = np.empty(2, np.float32)
    fv[0] = alpha
    fv[1] = beta
    _sgemm(tr[0:].ctypes, tr[1:].ctypes, iv[0:].ctypes, iv[1:].ctypes, iv[2:].ctypes,
           fv[0:].ctypes, b.ctypes, iv[3:].ctypes, a.ctypes, iv[4:].ctypes,
           fv[1:].ctypes, c.ctypes, iv[5:].ctypes)
