"""``metadata.xml`` of the official release: the cameras (``<w0>``) and the sequence table.

``<w0>`` holds 300 numbers: for camera c (1..4) and subject s (1..11) the 6 extrinsic
numbers start at ``6 * ((c - 1) * 11 + (s - 1))`` (rotation angles a, b, c in radians,
then the camera centre in world mm); the 9 intrinsics of camera c start at
``264 + (c - 1) * 9`` (fx, fy, cx, cy, k1, k2, k3, p1, p2). The world-to-camera rotation
is Rx(a) Ry(b) Rz(c): X_cam = R (X - centre). The ``<mapping>`` table gives, per (action
id, subaction) row and subject column, the file stem of that sequence (``Directions 1``).
"""
import xml.etree.ElementTree as ET

import numpy as np

from structnet.geometry.camera import Camera, get_camera
from structnet.errors import UserError
from structnet.data.h36m import names

N_SUBJECTS, N_CAMERAS = 11, 4


def euler_to_matrix(a, b, c):
    """Rx(a) @ Ry(b) @ Rz(c): the world-to-camera rotation of a ``w0`` camera."""
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    rx = np.array([[1, 0, 0], [0, ca, -sa], [0, sa, ca]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rz = np.array([[cc, -sc, 0], [sc, cc, 0], [0, 0, 1]])
    return rx @ ry @ rz


def matrix_to_euler(R):
    """Inverse of ``euler_to_matrix`` (for |b| < pi/2)."""
    return np.arctan2(-R[1, 2], R[2, 2]), np.arcsin(np.clip(R[0, 2], -1, 1)), np.arctan2(-R[0, 1], R[0, 0])


class Metadata:
    """Cameras and sequence table of a ``metadata.xml``.

    ``camera(subject, cam_index)`` -> ``structnet.geometry.camera.Camera`` (camera-to-world R, centre mm);
    ``stems``: {(subject, action name, subaction): file stem} (empty when the file has no table).
    """

    def __init__(self, path):
        self.path = str(path)
        try:
            root = ET.parse(self.path).getroot()
        except FileNotFoundError:
            raise UserError(f"{self.path}: no such file (the release's metadata.xml, beside S1/ ...)") from None
        except (ET.ParseError, OSError) as e:
            raise UserError(f"{self.path}: not readable as XML ({e})") from None
        w0 = root.find("w0")
        if w0 is None or not (w0.text or "").strip():
            raise UserError(f"{self.path}: no <w0> element (expected the 300 camera numbers)")
        try:
            vals = np.array(w0.text.replace("[", " ").replace("]", " ").replace(",", " ").split(), np.float64)
        except ValueError:
            raise UserError(f"{self.path}: <w0> holds something other than numbers") from None
        if vals.size != 300 or not np.all(np.isfinite(vals)):
            raise UserError(f"{self.path}: <w0> holds {vals.size} numbers (finite: {np.isfinite(vals).all()}), "
                            "expected 300 finite numbers")
        self.w0 = vals
        self.stems = self._mapping(root)

    def _mapping(self, root):
        table = root.find("mapping")
        if table is None:
            return {}
        rows = [[td.text or "" for td in tr] for tr in table]
        if not rows:
            return {}
        subjects = [s.strip() for s in rows[0][2:]]
        out = {}
        for row in rows[1:]:
            try:
                action = names.action_from_id(int(row[0]))
                sub = int(row[1])
            except (ValueError, IndexError):
                continue                      # 'all' rows and the like
            for subject, stem in zip(subjects, row[2:]):
                if stem and stem.strip():
                    out[(subject, action, sub)] = stem.strip()
        return out

    def intrinsics(self, cam_index):
        """(9,) fx fy cx cy k1 k2 k3 p1 p2 of camera 0..3."""
        s = N_CAMERAS * N_SUBJECTS * 6 + cam_index * 9
        return self.w0[s:s + 9].copy()

    def camera(self, subject, cam_index):
        s = names.subject_number(subject)
        if not 1 <= s <= N_SUBJECTS:
            raise UserError(f"{self.path}: no cameras for subject {subject}")
        e = self.w0[6 * (cam_index * N_SUBJECTS + s - 1):][:6]
        intr = self.intrinsics(cam_index)
        r_w2c = euler_to_matrix(*e[:3])
        return Camera(id=names.CAMERA_IDS[cam_index], R=r_w2c.T, t=e[3:].copy(), f=intr[:2], c=intr[2:4],
                      k=intr[4:7], p=intr[7:9], res=get_camera("S1", cam_index).res)
