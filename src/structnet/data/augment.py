"""The training input's pixel work in one pass (Numba): crop, mean subtraction, PCA colour
noise, scale, channels first. Imported on first use (``Dataset.preprocess``), so that
``import structnet.data`` needs neither Numba nor a compiler."""
import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def crop_normalise(images, offsets, mean, noise, scale, out):
    """out[i, c, r, q] = ((images[i, oy + r, ox + q, c] - mean[c]) + noise[i, c]) * scale.

    images uint8 (n,H,W,3); offsets int64 (n,2) (row, column); mean float32 (3,); noise
    float32 (n,3) (zeros at test time); out float32 (n,3,S,S), S = out.shape[2]. Every
    operation in float32 and in this order, so the values are bit for bit those of the
    NumPy expression ``((u8.astype(float32) - mean) + noise) * scale``."""
    n, S = out.shape[0], out.shape[2]
    for i in range(n):
        oy, ox = offsets[i, 0], offsets[i, 1]
        for c in range(3):
            m, e = mean[c], noise[i, c]
            for r in range(S):
                row = images[i, oy + r]
                for q in range(S):
                    out[i, c, r, q] = ((np.float32(row[ox + q, c]) - m) + e) * scale
    return out
