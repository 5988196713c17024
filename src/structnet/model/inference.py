"""Inference over the pose set (Sec. 5.2): StructNet-Max, -Avg(A), top-k hypotheses.

The pose set is every training pose (the paper's approximation of the pose space). Its
embeddings are computed once per model and cached in an HDF5 file; scoring streams
over chunks of it: one matrix product per chunk and a partial sort (a per-image heap) that
keeps each image's best ``k`` scores, so a pose set of 1.5 million poses never needs its score
matrix in memory.
"""
import os

import h5py
import numba
import numpy as np

from structnet.io import atomic_write
from structnet.errors import UserError


def pose_set_embeddings(net, poses_mm, cache_path=None, chunk=65536):
    """(M, E) float32 embeddings of the pose set, read from / written to ``cache_path``.

    The cache is keyed by what the embeddings depend on: the poses, the pose embedding's
    kind and the parameters of the pose branch (h5, h6). A model trained again into the
    same run directory, or another pose set, recomputes it (a stale cache once gave
    StructNet-Max 249 mm for a model that scores 315)."""
    import hashlib
    M = len(poses_mm)
    h = hashlib.sha1(np.ascontiguousarray(poses_mm, np.float32).tobytes())
    h.update(net.config.pose_embedding.encode())
    for name in sorted(k for k in net.params if k.split("/")[0] in ("h5", "h6")):
        h.update(name.encode())
        h.update(np.ascontiguousarray(net.params[name].get_value(borrow=True), np.float32).tobytes())
    key = h.hexdigest()
    if cache_path and os.path.exists(cache_path):
        try:
            with h5py.File(cache_path, "r") as f:
                if f["embeddings"].shape == (M, net.config.embedding_size) and f.attrs.get("key") == key:
                    return f["embeddings"][()]
        except (OSError, KeyError):
            pass                                   # stale or broken cache: recompute
    out = np.empty((M, net.config.embedding_size), np.float32)
    for s in range(0, M, chunk):
        out[s:s + chunk] = net.pose_embedding(poses_mm[s:s + chunk])
    if cache_path:
        def write(tmp):
            with h5py.File(tmp, "w") as f:
                f.create_dataset("embeddings", data=out, chunks=(min(chunk, M), out.shape[1]))
                f.attrs["key"] = key
        atomic_write(cache_path, write)
    return out


@numba.njit(parallel=True, cache=True, nogil=True)
def _heap_update(sc, offset, hs, hi, filled):
    """Push each row's scores into that row's min-heap of its k best (hs, hi: (N, k))."""
    N, m = sc.shape
    k = hs.shape[1]
    for r in numba.prange(N):
        n = filled[r]
        for c in range(m):
            v = sc[r, c]
            if n < k:                               # heap not full: sift up
                j = n
                n += 1
                while j > 0:
                    p = (j - 1) // 2
                    if hs[r, p] <= v:
                        break
                    hs[r, j] = hs[r, p]
                    hi[r, j] = hi[r, p]
                    j = p
                hs[r, j] = v
                hi[r, j] = offset + c
            elif v > hs[r, 0]:                      # better than the k-th best: replace the root
                j = 0
                while True:
                    a = 2 * j + 1
                    if a >= k:
                        break
                    b = a + 1
                    if b < k and hs[r, b] < hs[r, a]:
                        a = b
                    if hs[r, a] >= v:
                        break
                    hs[r, j] = hs[r, a]
                    hi[r, j] = hi[r, a]
                    j = a
                hs[r, j] = v
                hi[r, j] = offset + c
        filled[r] = n


def top_k(image_emb, pose_emb, k, chunk=16384):
    """Indices (N, k) and scores (N, k) of each image's k best poses, best first.

    One GEMM per chunk of the pose set; each chunk's scores stream through a per-image
    min-heap of the k best (a partial sort that touches every score once).
    """
    N, M = len(image_emb), len(pose_emb)
    if k > M:
        raise UserError(f"asked for the top {k} of a pose set of {M}")
    hs = np.full((N, k), -np.inf, np.float32)
    hi = np.zeros((N, k), np.int64)
    filled = np.zeros(N, np.int64)
    img = np.ascontiguousarray(image_emb, np.float32)
    for s in range(0, M, chunk):
        sc = img @ np.ascontiguousarray(pose_emb[s:s + chunk], np.float32).T
        _heap_update(sc, s, hs, hi, filled)
    order = np.argsort(-hs, axis=1, kind="stable")
    return np.take_along_axis(hi, order, 1), np.take_along_axis(hs, order, 1)


def structnet_max(idx, poses_mm):
    """StructNet-Max: the best-scoring pose (N,17,3)."""
    return poses_mm[idx[:, 0]]


def structnet_avg(idx, poses_mm, A):
    """StructNet-Avg(A): the mean of the A best-scoring poses (N,17,3)."""
    if A > idx.shape[1]:
        raise ValueError(f"Avg({A}) needs the top {A}, have {idx.shape[1]}")
    return poses_mm[idx[:, :A]].mean(axis=1)


def hypotheses(idx, scores, poses_mm, k):
    """The ranked top-k candidate poses with their scores: (N,k,17,3), (N,k)."""
    return poses_mm[idx[:, :k]], scores[:, :k]
