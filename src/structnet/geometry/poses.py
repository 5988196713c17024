"""Pose units: the network sees root-relative camera-frame joints in mm / 1200.

``max_depth = 1200`` is the authors' scaling (legacy_notes/original-code.md, "Targets and units"):
it keeps the targets inside tanh's range. Layout: joint by joint, (x, y, z) -> 51.
"""
import numpy as np

MAX_DEPTH = 1200.0
N_JOINTS = 17


def check_poses(poses, name="poses"):
    """Validate (N, 17, 3) finite poses; returns float64 array."""
    p = np.asarray(poses)
    if p.ndim != 3 or p.shape[1:] != (N_JOINTS, 3):
        raise ValueError(f"{name} must be shaped (N, 17, 3), got {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} contains NaN or inf")
    return p.astype(np.float64, copy=False)


def to_network(poses_mm):
    """(N, 17, 3) mm, root-relative -> (N, 51) float32 in units of 1200 mm."""
    p = check_poses(poses_mm)
    return (p.reshape(len(p), -1) / MAX_DEPTH).astype(np.float32)


def from_network(y):
    """(N, 51) network units -> (N, 17, 3) mm."""
    y = np.asarray(y, dtype=np.float64)
    return y.reshape(len(y), N_JOINTS, 3) * MAX_DEPTH


def mpjpe_matrix(a, b):
    """Margins Delta (Eq. 8): (A, 51), (B, 51) in any unit -> (A, B) float32 mean per-joint
    distance, memory O(A * B) (``structnet.geometry.margins``, one compiled pass: 128 x 2000
    in ~10 ms, bit for bit the joint-by-joint NumPy sum it replaced)."""
    from structnet.geometry.margins import mpjpe_pairs
    a = np.ascontiguousarray(a, dtype=np.float32).reshape(len(a), N_JOINTS, 3)
    b = np.ascontiguousarray(b, dtype=np.float32).reshape(len(b), N_JOINTS, 3)
    return mpjpe_pairs(a, b, np.empty((len(a), len(b)), np.float32))
