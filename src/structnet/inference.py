"""Inference over the pose set (Sec. 5.2): StructNet-Max, -Avg(A), top-k hypotheses.

The pose set is every training pose (the paper's approximation of the pose space). Its
embeddings are computed once per model and cached in an HDF5 file; scoring streams
over chunks of it: one matrix product per chunk and a partial sort that keeps each
image's best ``k`` scores, so a pose set of 1.5 million poses never needs its score
matrix in memory.
"""
import os

import h5py
import numpy as np

from structnet.errors import UserError


def pose_set_embeddings(net, poses_mm, cache_path=None, chunk=65536):
    """(M, E) float32 embeddings of the pose set, read from / written to ``cache_path``."""
    M = len(poses_mm)
    if cache_path and os.path.exists(cache_path):
        try:
            with h5py.File(cache_path, "r") as f:
                if f["embeddings"].shape == (M, net.config.embedding_size):
                    return f["embeddings"][()]
        except (OSError, KeyError):
            pass                                   # stale or broken cache: recompute
    out = np.empty((M, net.config.embedding_size), np.float32)
    for s in range(0, M, chunk):
        out[s:s + chunk] = net.pose_embedding(poses_mm[s:s + chunk])
    if cache_path:
        tmp = f"{cache_path}.tmp{os.getpid()}"
        with h5py.File(tmp, "w") as f:
            f.create_dataset("embeddings", data=out, chunks=(min(chunk, M), out.shape[1]))
        os.replace(tmp, cache_path)
    return out


def top_k(image_emb, pose_emb, k, chunk=65536):
    """Indices (N, k) and scores (N, k) of each image's k best poses, best first."""
    N, M = len(image_emb), len(pose_emb)
    if k > M:
        raise UserError(f"asked for the top {k} of a pose set of {M}")
    best_s = np.full((N, 0), -np.inf, np.float32)
    best_i = np.zeros((N, 0), np.int64)
    for s in range(0, M, chunk):
        sc = image_emb @ pose_emb[s:s + chunk].T                      # one GEMM per chunk
        kk = min(k, sc.shape[1])
        part = np.argpartition(-sc, kk - 1, axis=1)[:, :kk]
        cand_s = np.concatenate([best_s, np.take_along_axis(sc, part, 1)], 1)
        cand_i = np.concatenate([best_i, part + s], 1)
        keep = np.argpartition(-cand_s, min(k, cand_s.shape[1]) - 1, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
    order = np.argsort(-best_s, axis=1, kind="stable")
    return np.take_along_axis(best_i, order, 1), np.take_along_axis(best_s, order, 1)


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
