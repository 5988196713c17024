"""Pose errors in mm (legacy_notes/h36m.md, "Metrics").

MPJPE (protocol 1): mean Euclidean distance between root-relative predicted and true
joints. P-MPJPE (protocol 2): MPJPE after the best similarity transform (scale,
rotation, translation) of the prediction onto the truth, per frame.
"""
import numpy as np

from structnet.geometry.poses import check_poses


def _pair(pred, gt):
    p, g = check_poses(pred, "pred"), check_poses(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred {p.shape} and gt {g.shape} differ")
    return p, g


def per_joint_errors(pred, gt):
    """(N,17,3), (N,17,3) mm -> (N,17) distances after subtracting each pose's root (joint 0)."""
    p, g = _pair(pred, gt)
    return np.linalg.norm((p - p[:, :1]) - (g - g[:, :1]), axis=-1)


def mpjpe(pred, gt, per_frame=False):
    """Protocol-1 MPJPE in mm: a float, or (N,) per frame."""
    e = per_joint_errors(pred, gt).mean(axis=1)
    return e if per_frame else float(e.mean())


def procrustes_align(pred, gt):
    """Each predicted pose moved by its best similarity transform onto the true one."""
    p, g = _pair(pred, gt)
    mp, mg = p.mean(1, keepdims=True), g.mean(1, keepdims=True)
    P0, G0 = p - mp, g - mg
    H = np.einsum("nji,njk->nik", P0, G0)
    U, s, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", U, Vt)))
    D = np.ones_like(s)
    D[:, -1] = d
    R = np.einsum("nij,nj,njk->nik", U, D, Vt)              # P0 @ R ~ G0
    scale = (s * D).sum(1) / np.maximum((P0 ** 2).sum((1, 2)), 1e-12)
    return scale[:, None, None] * np.einsum("nji,nik->njk", P0, R) + mg


def p_mpjpe(pred, gt, per_frame=False):
    """Protocol-2 MPJPE in mm (after a per-frame Procrustes alignment)."""
    p, g = _pair(pred, gt)
    e = np.linalg.norm(procrustes_align(p, g) - g, axis=-1).mean(axis=1)
    return e if per_frame else float(e.mean())
