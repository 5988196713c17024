"""engine/ops/blas.py: SciPy's sgemm reached from Numba, row-major, every transpose."""
import numpy as np
import pytest

from structnet.engine.ops import blas


@pytest.mark.parametrize("ta,tb", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_gemm_row_major(ta, tb):
    blas.register()
    rng = np.random.default_rng(ta * 2 + tb)
    m, n, k = 5, 7, 3
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    c = np.ones((m, n), np.float32)
    blas.gemm(ta, tb, m, n, k, 2.0, a, a.shape[1], b, b.shape[1], 0.5, c, n)
    want = 2 * (a.T if ta else a) @ (b.T if tb else b) + 0.5
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)
