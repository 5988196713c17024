"""Margins Delta (Eq. 8) between two pose sets in one pass (Numba), for the training
feed: ``structnet.geometry.poses.mpjpe_matrix`` calls it; imported on first use, so that
``import structnet.geometry`` needs neither Numba nor a compiler."""
import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def mpjpe_pairs(a, b, out):
    """out[i, k] = mean over the 17 joints of |a[i, j] - b[k, j]|: a (A,17,3), b (B,17,3),
    out (A,B), float32. Each distance as (dx^2 + dy^2) + dz^2, the joints summed in order
    from 0 and divided by 17, all in float32: bit for bit NumPy's joint-by-joint sum."""
    A, B, J = a.shape[0], b.shape[0], a.shape[1]
    for i in range(A):
        for k in range(B):
            s = np.float32(0.0)
            for j in range(J):
                dx = a[i, j, 0] - b[k, j, 0]
                dy = a[i, j, 1] - b[k, j, 1]
                dz = a[i, j, 2] - b[k, j, 2]
                s += np.sqrt((dx * dx + dy * dy) + dz * dz)
            out[i, k] = s / np.float32(J)
    return out
