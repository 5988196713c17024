"""The four Human3.6M cameras: calibration, world <-> camera transforms, projection.

Calibration is public data carried in ``resources/h36m_cameras.json`` (the values of
the dataset's metadata as tabulated by VideoPose3D): per camera the intrinsics (focal
length and centre in pixels, radial k1..k3, tangential p1, p2, resolution) and per
subject the extrinsics (camera-to-world rotation as a unit quaternion (w,x,y,z) and the
camera centre in world mm). World: z up, mm. Camera: x right, y down, z forward.
"""
import json
import os
from dataclasses import dataclass

import numpy as np

from structnet.geometry.protocol import CAMERA_IDS, SUBJECTS  # noqa: F401 (re-exported)

_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "h36m_cameras.json")


@dataclass(frozen=True)
class Camera:
    id: str
    R: np.ndarray        # (3, 3) camera-to-world rotation
    t: np.ndarray        # (3,) camera centre in world, mm
    f: np.ndarray        # (2,) focal length, px
    c: np.ndarray        # (2,) principal point, px
    k: np.ndarray        # (3,) radial distortion
    p: np.ndarray        # (2,) tangential distortion
    res: tuple           # (width, height), px

    def params(self):
        """(9,) fx fy cx cy k1 k2 k3 p1 p2 (the schema's camera row, without extrinsics)."""
        return np.concatenate([self.f, self.c, self.k, self.p])


def quat_to_matrix(q):
    """Unit quaternion (w, x, y, z) -> (3, 3) rotation."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


_CACHE = {}


def load_calibration(path=_PATH):
    if path not in _CACHE:
        with open(path) as f:
            _CACHE[path] = json.load(f)
    return _CACHE[path]


def get_camera(subject, cam_index, path=_PATH):
    """The Camera of ``subject`` ('S1'...) and camera index 0..3."""
    d = load_calibration(path)
    if subject not in d["extrinsic"]:
        raise KeyError(f"no calibration for subject {subject!r}")
    intr = d["intrinsic"][cam_index]
    ext = d["extrinsic"][subject][cam_index]
    return Camera(id=intr["id"], R=quat_to_matrix(ext["orientation"]), t=np.array(ext["translation"], float),
                  f=np.array(intr["focal_length"], float), c=np.array(intr["center"], float),
                  k=np.array(intr["radial_distortion"], float), p=np.array(intr["tangential_distortion"], float),
                  res=(int(intr["res_w"]), int(intr["res_h"])))


def world_to_camera(X, cam):
    """(..., 3) world mm -> camera frame mm: R^T (X - t)."""
    return (np.asarray(X, dtype=np.float64) - cam.t) @ cam.R


def camera_to_world(X, cam):
    """(..., 3) camera frame mm -> world mm: R X + t."""
    return np.asarray(X, dtype=np.float64) @ cam.R.T + cam.t


def project(X, cam):
    """(..., 3) camera-frame points (z > 0) -> (..., 2) pixels, with distortion.

    The Human3.6M model as VideoPose3D writes it: xy = X/Z, r2 = |xy|^2,
    xy' = xy (1 + k1 r2 + k2 r2^2 + k3 r2^3 + p.xy) + p r2, pixel = f xy' + c.
    """
    X = np.asarray(X, dtype=np.float64)
    if np.any(X[..., 2] <= 0):
        raise ValueError("points behind the camera cannot be projected")
    xy = X[..., :2] / X[..., 2:]
    r2 = np.sum(xy ** 2, axis=-1, keepdims=True)
    radial = 1 + cam.k[0] * r2 + cam.k[1] * r2 ** 2 + cam.k[2] * r2 ** 3
    tan = np.sum(cam.p * xy, axis=-1, keepdims=True)
    return cam.f * (xy * (radial + tan) + cam.p * r2) + cam.c


def crop_box(joints2d, joints_cam, cam, margin_mm=180.0):
    """Square box (x0, y0, size) in image pixels around the projected joints."""
    return joint_box(joints2d, joints_cam[0, 2], cam.f.mean(), margin_mm)


def joint_box(joints2d, root_depth, focal, margin_mm=180.0):
    """Square box (x0, y0, size), image pixels, around 2D joints (J, 2) px with a margin of
    ``margin_mm`` at the root's depth ``root_depth`` (mm) for a focal length ``focal`` (px).
    Leading axes broadcast: joints2d (..., J, 2) and root_depth (...) give boxes (..., 3)."""
    joints2d = np.asarray(joints2d, np.float64)
    lo, hi = joints2d.min(-2), joints2d.max(-2)
    pad = margin_mm * focal / np.maximum(root_depth, 1.0)
    size = np.maximum(hi[..., 0] - lo[..., 0], hi[..., 1] - lo[..., 1]) + 2 * pad
    centre = (lo + hi) / 2
    return np.stack([centre[..., 0] - size / 2, centre[..., 1] - size / 2, size], -1)
