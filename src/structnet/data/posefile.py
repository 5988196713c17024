"""The pose file: poses without images, a pose set for inference and APF (schema ``structnet-poses-1``).

``poses`` float32 (N, 17, 3), camera frame, mm; the int16 columns ``subject``, ``action``,
``subaction``, ``camera`` and the int32 ``frame`` (the 50 fps frame the pose was taken at);
attributes ``schema``, ``source``, ``actions`` and ``subjects`` (JSON lists), and whatever the
writer adds. Written by ``structnet data``: from VideoPose3D's npz for Human3.6M
(``structnet.data.h36m.npz``), from the training sequences for the synthetic world
(``structnet.data.synthetic.build.build_pose_set``). The paper's pose set is every training
pose (A = 500 is "~0.5% of the poses in the training set", Sec. 5.2); a pose file holds
more frames of the training subjects than a dataset's images do.
"""
import json
import os

import h5py
import numpy as np

from structnet.errors import UserError
from structnet.io import atomic_write

POSES_SCHEMA = "structnet-poses-1"
COLUMNS = {"subject": np.int16, "action": np.int16, "subaction": np.int16, "camera": np.int16, "frame": np.int32}


def write_pose_file(path, poses, columns, source, actions, subjects, **attrs):
    """Write ``path`` atomically: ``poses`` (N,17,3) mm and ``columns`` {name: (N,)} (``COLUMNS``)."""
    poses = np.asarray(poses, np.float32)
    if poses.ndim != 3 or poses.shape[1:] != (17, 3) or not len(poses):
        raise ValueError(f"poses of shape {poses.shape}, expected (N>0, 17, 3)")
    cols = {k: np.asarray(columns[k], t) for k, t in COLUMNS.items()}
    if any(len(v) != len(poses) for v in cols.values()):
        raise ValueError("every column needs one value per pose")

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            f.create_dataset("poses", data=poses)
            for k, v in cols.items():
                f.create_dataset(k, data=v)
            f.attrs.update({"schema": POSES_SCHEMA, "source": source, "actions": json.dumps(list(actions)),
                            "subjects": json.dumps(list(subjects)), **attrs})
    atomic_write(path, write)


def load_pose_set(path):
    """Root-relative float64 (N, 17, 3) mm poses of a pose file or of a dataset file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"{path}: no such pose file")
    try:
        with h5py.File(path, "r") as f:
            schema = f.attrs.get("schema")
            if schema not in (POSES_SCHEMA, "structnet-dataset-1"):
                raise UserError(f"{path}: schema {schema!r}, expected {POSES_SCHEMA!r} or a dataset file")
            if "poses" not in f or f["poses"].shape[1:] != (17, 3):
                raise UserError(f"{path}: no 'poses' of shape (N, 17, 3)")
            poses = f["poses"][()].astype(np.float64)
    except UserError:
        raise
    except OSError as e:
        raise UserError(f"{path}: cannot read as HDF5 ({e})") from None
    if len(poses) == 0 or not np.all(np.isfinite(poses)):
        raise UserError(f"{path}: no poses, or poses with NaN or inf")
    return poses - poses[:, :1]
