"""The native convolution kernels (``native.c``), built once per machine and called from Numba.

``native.c`` holds direct convolution kernels (no im2col matrix; see its header) and the
3x3/2 max-pool and its gradient. PyTensor's
C backend compiles it as the Ops' support code; for the Numba backend this module compiles
it into a shared library with the machine's C compiler (``$CC``, else gcc, cc or clang;
``-O3 -march=native``), caches the library under ``$STRUCTNET_CACHE`` (default
``~/.cache/structnet``, or ``$XDG_CACHE_HOME/structnet``) keyed by the source, the compiler
and the CPU, and registers its functions as symbols Numba can link against, also from
Numba's on-disk cache.

Nothing happens at import: ``lib()`` builds (or finds) and loads the library on first use,
the first compile of a graph with our Ops. ``available()`` is False where no compiler works
or ``$STRUCTNET_NATIVE=0``; the Ops then use the im2col + BLAS kernels of
``structnet.engine.ops.conv`` (a warning says so once). The Numba kernels below link against
the library's symbols: call them only after ``available()`` said True.

Vector width: 512-bit vectors (16 floats) where the CPU has AVX-512F, else 256-bit (8), as
``-march=native`` makes the compiler target; ``$STRUCTNET_VECTOR_WIDTH`` = 8 or 16 forces one
(each is its own library in the cache). Register blocks: 32 output channels where the CPU
has 32 vector registers (AVX-512), 16 with AVX2's 16. Every width and block gives identical
results (tested); ``vector_width()`` and ``block_channels()`` say which one runs.

Threads: ``$STRUCTNET_THREADS`` when set, else every online CPU. Results do not depend on
the thread count.
"""
import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import llvmlite.binding as llb
import numba
import numpy as np
from numba import types
from pytensor.link.c.op import COp

from structnet.engine.paths import cache_dir

SOURCE_PATH = Path(__file__).with_name("native.c")
SOURCE = SOURCE_PATH.read_text()
#: the kernels as support code of a PyTensor COp (C / CVM modes), with the output helper both
#: Ops' C code uses
C_SUPPORT = "#define SN_EXTERN static\n" + SOURCE + r"""
#ifndef STRUCTNET_PREPARE_OUT_DEFINED
#define STRUCTNET_PREPARE_OUT_DEFINED
/* (Re)allocate *out as a C-contiguous float32 array of the given shape. */
static int structnet_prepare_out(PyArrayObject **out, int nd, npy_intp *dims) {
    int ok = *out && PyArray_NDIM(*out) == nd && PyArray_IS_C_CONTIGUOUS(*out)
             && PyArray_TYPE(*out) == NPY_FLOAT32;
    for (int d = 0; ok && d < nd; ++d) ok = PyArray_DIMS(*out)[d] == dims[d];
    if (!ok) {
        Py_XDECREF(*out);
        *out = (PyArrayObject*)PyArray_EMPTY(nd, dims, NPY_FLOAT32, 0);
        if (!*out) return -1;
    }
    return 0;
}
#endif
"""
FLAGS = ["-O3", "-march=native", "-fPIC", "-shared", "-pthread"]
_FUNCS = ("structnet_corr_fwd", "structnet_corr_grad_x", "structnet_corr_grad_w",
          "structnet_maxpool", "structnet_maxpool_grad")
WIDTH_VAR = "STRUCTNET_VECTOR_WIDTH"


def width_flags(width=None):
    """-DSN_VW=... for a forced vector width (``width`` or $STRUCTNET_VECTOR_WIDTH: 8 or 16);
    none (the CPU's) otherwise. Another value is ignored with a warning."""
    width = width if width is not None else os.environ.get(WIDTH_VAR, "").strip()
    if not width:
        return []
    if str(width) not in ("8", "16"):
        warnings.warn(f"structnet: ${WIDTH_VAR}={width!r} is not 8 or 16; using the CPU's width",
                      RuntimeWarning, stacklevel=2)
        return []
    return [f"-DSN_VW={width}"]


def _compiler():
    for cc in (os.environ.get("CC"), "gcc", "cc", "clang"):
        if cc and shutil.which(cc.split()[0]):
            return cc.split()
    return None


def _cpu_signature():
    """The CPU as -march=native sees it: model and feature flags (Linux), else the platform."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags", "Features"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor() + platform.machine()


def build(cc, width=None, block=None):
    """Compile native.c into the cache (atomic: a temporary file renamed into place); its path.
    ``width``: force 8 or 16 floats per vector (``width_flags``); ``block``: force 16 or 32
    output channels per register block (default: 32 with 32 vector registers, else 16)."""
    flags = FLAGS + width_flags(width) + ([f"-DSN_OB={int(block)}"] if block else [])
    version = subprocess.run(cc + ["--version"], capture_output=True, text=True, timeout=60).stdout
    key = hashlib.sha256("\0".join([SOURCE, " ".join(cc + flags), version, _cpu_signature()])
                         .encode()).hexdigest()[:20]
    out = cache_dir() / f"native-{key}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        r = subprocess.run(cc + flags + ["-o", tmp, str(SOURCE_PATH)], capture_output=True,
                           text=True, timeout=300)
        if r.returncode != 0:
            raise OSError(f"{' '.join(cc)} failed on {SOURCE_PATH}: {r.stderr.strip()[:500]}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _load():
    """Build (or find) and load the library and register its symbols; the CDLL, or None."""
    if os.environ.get("STRUCTNET_NATIVE", "1") == "0":
        return None
    cc = _compiler()
    try:
        if cc is None:
            raise OSError("no C compiler found ($CC, gcc, cc, clang)")
        lib = ctypes.CDLL(str(build(cc)))
    except (OSError, subprocess.SubprocessError) as e:
        warnings.warn(f"structnet: native convolution kernels unavailable ({e}); "
                      "using the slower im2col kernels", RuntimeWarning, stacklevel=2)
        return None
    for name in _FUNCS:
        llb.add_symbol(name, ctypes.cast(getattr(lib, name), ctypes.c_void_p).value)
    return lib


class NativeCOp(COp):
    """Base of our COps: the kernels' headers, flags and threads library (C / CVM modes)."""
    __props__ = ()

    def c_headers(self, **kwargs):
        return ["<string.h>", "<stdlib.h>"]

    def c_compile_args(self, **kwargs):
        return ["-O3", "-pthread"]

    def c_libraries(self, **kwargs):
        return ["pthread"]


_LIB = []


def lib():
    """The kernels' library, built and loaded on the first call (then kept), or None."""
    if not _LIB:
        _LIB.append(_load())
    return _LIB[0]


def available():
    """Whether the native kernels run here (built on first use)."""
    return lib() is not None


def vector_width():
    """Floats per vector in the loaded kernels (16: AVX-512; 8: 256-bit), 0 without them."""
    return lib().structnet_vector_width() if available() else 0


def block_channels():
    """Output channels per register block in the loaded kernels (32 where the CPU has 32
    vector registers, 16 with AVX2's 16), 0 without them."""
    return lib().structnet_block_channels() if available() else 0
_ptrs = [types.voidptr] * 3
_fwd = types.ExternalFunction("structnet_corr_fwd", types.int32(*_ptrs, *[types.int64] * 6))
_gx = types.ExternalFunction("structnet_corr_grad_x", types.int32(*_ptrs, *[types.int64] * 6))
_gw = types.ExternalFunction("structnet_corr_grad_w", types.int32(*_ptrs, *[types.int64] * 7))
_pool = types.ExternalFunction("structnet_maxpool", types.int32(*_ptrs[:2], *[types.int64] * 3))
_pool_grad = types.ExternalFunction("structnet_maxpool_grad", types.int32(*_ptrs, *[types.int64] * 3))


@numba.njit(cache=True, nogil=True)
def corr2d_fwd(x, w):
    """x (C,N,H,W), w (O,C,k,k) -> z (O,N,H-k+1,W-k+1); float32."""
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w)
    C, N, H, W = x.shape
    O, k = w.shape[0], w.shape[2]
    if w.shape[1] != C or w.shape[3] != k or H < k or W < k:
        raise ValueError("Corr2d: x and w do not match")
    z = np.empty((O, N, H - k + 1, W - k + 1), np.float32)
    if _fwd(x.ctypes, w.ctypes, z.ctypes, C, N, H, W, O, k) != 0:
        raise MemoryError("Corr2d: out of memory")
    return z


@numba.njit(cache=True, nogil=True)
def corr2d_grad_w(x, gz):
    """x (C,N,H,W), gz (O,N,Ho,Wo) -> dL/dw (O,C,k,k) with k = H - Ho + 1."""
    x = np.ascontiguousarray(x)
    gz = np.ascontiguousarray(gz)
    C, N, H, W = x.shape
    O, _, Ho, Wo = gz.shape
    k = H - Ho + 1
    if gz.shape[1] != N or k < 1 or W - Wo + 1 != k:
        raise ValueError("Corr2dGradW: x and gz do not match")
    gw = np.empty((O, C, k, k), np.float32)
    if _gw(x.ctypes, gz.ctypes, gw.ctypes, C, N, H, W, O, Ho, Wo) != 0:
        raise MemoryError("Corr2dGradW: out of memory")
    return gw


@numba.njit(cache=True, nogil=True)
def corr2d_grad_x(w, gz):
    """w (O,C,k,k), gz (O,N,Ho,Wo) -> dL/dx (C,N,Ho+k-1,Wo+k-1)."""
    w = np.ascontiguousarray(w)
    gz = np.ascontiguousarray(gz)
    O, C, k, _ = w.shape
    _, N, Ho, Wo = gz.shape
    if gz.shape[0] != O:
        raise ValueError("Corr2dGradX: w and gz do not match")
    gx = np.empty((C, N, Ho + k - 1, Wo + k - 1), np.float32)
    if _gx(w.ctypes, gz.ctypes, gx.ctypes, O, C, k, N, Ho, Wo) != 0:
        raise MemoryError("Corr2dGradX: out of memory")
    return gx


@numba.njit(cache=True, nogil=True)
def maxpool_fwd(x):
    """x (A,B,H,W) -> (A,B,H//2,W//2): max over 3x3 windows at stride 2 (H, W >= 3)."""
    x = np.ascontiguousarray(x)
    A, B, H, W = x.shape
    if H < 3 or W < 3:
        raise ValueError("MaxPool: input smaller than the 3x3 window")
    z = np.empty((A, B, H // 2, W // 2), x.dtype)
    if _pool(x.ctypes, z.ctypes, A * B, H, W) != 0:
        raise MemoryError("MaxPool: out of memory")
    return z


@numba.njit(cache=True, nogil=True)
def maxpool_grad(x, gz):
    """dL/dx (A,B,H,W) from x and gz (A,B,H//2,W//2): gz goes to each window's first max."""
    x = np.ascontiguousarray(x)
    gz = np.ascontiguousarray(gz)
    A, B, H, W = x.shape
    if gz.shape != (A, B, H // 2, W // 2):
        raise ValueError("MaxPoolGrad: x and gz do not match")
    gx = np.empty_like(x)
    _pool_grad(x.ctypes, gz.ctypes, gx.ctypes, A * B, H, W)
    return gx
