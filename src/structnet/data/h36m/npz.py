"""VideoPose3D's ``data_3d_h36m.npz`` as a pose-only source: a pose set for inference and APF.

``positions_3d[subject][sequence]`` holds (N, 32, 3) float32 world positions in metres
(sequence names as in the release: 'Directions 1', 'TakingPhoto', 'WalkDog 1'). Each pose is
seen by the subject's four cameras (the bundled calibration: VideoPose3D's own numbers),
kept as 17 joints in the camera frame, mm, every ``every``-th frame, and written to a
pose file (``structnet.data.posefile``). By default only the training subjects
are read, so that the pose set never holds a test pose.
"""
import os

import numpy as np

from structnet.geometry import camera as C
from structnet.errors import UserError
from structnet.data.h36m import names
from structnet.data.posefile import write_pose_file


def load_npz(path):
    """{subject: {sequence: (N, 32, 3) metres}} of a VideoPose3D npz; one-line errors."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file (VideoPose3D's data_3d_h36m.npz)")
    try:
        with np.load(path, allow_pickle=True) as z:
            if "positions_3d" not in z.files:
                raise UserError(f"{path}: no 'positions_3d' array (found {z.files}); is this data_3d_h36m.npz?")
            data = z["positions_3d"].item()
    except UserError:
        raise
    except Exception as e:
        raise UserError(f"{path}: not a readable npz ({type(e).__name__}: {e})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: 'positions_3d' is {type(data).__name__}, expected a dict of subjects")
    return data


def convert(npz_path, out_path, subjects=names.TRAIN_SUBJECTS, actions=names.ACTIONS, every=1):
    """Write the pose file ``out_path``; returns {"poses": n, "sequences": m, "skipped": [...]}."""
    if int(every) < 1:
        raise UserError(f"every={every}: must be a positive integer")
    data = load_npz(npz_path)
    cols = {k: [] for k in ("poses", "subject", "action", "subaction", "camera", "frame")}
    skipped, nseq = [], 0
    for s in subjects:
        if s not in data:
            skipped.append(f"{s}: not in the file")
            continue
        parsed = {}
        for seq, arr in data[s].items():
            p = names.parse_stem(seq)
            if p is None:
                skipped.append(f"{s}/{seq}: not one of the 15 actions")
                continue
            parsed.setdefault(p[0], []).append((p[1], seq, arr))
        for action in [a for a in names.ACTIONS if a in parsed and a in actions]:
            for sub, (_, seq, arr) in enumerate(sorted(parsed[action], key=lambda t: (t[0], t[1])), start=1):
                arr = np.asarray(arr, np.float64)
                if arr.ndim != 3 or arr.shape[1:] != (32, 3):
                    skipped.append(f"{s}/{seq}: shape {arr.shape}, expected (N, 32, 3)")
                    continue
                if not np.all(np.isfinite(arr)):
                    skipped.append(f"{s}/{seq}: NaN or inf")
                    continue
                world = arr[::every][:, list(names.JOINTS_17)] * 1000.0
                nseq += 1
                for ci in range(4):
                    cam = C.get_camera(s, ci)
                    n = len(world)
                    cols["poses"].append(C.world_to_camera(world, cam).astype(np.float32))
                    cols["subject"].append(np.full(n, names.subject_number(s), np.int16))
                    cols["action"].append(np.full(n, names.ACTIONS.index(action), np.int16))
                    cols["subaction"].append(np.full(n, sub, np.int16))
                    cols["camera"].append(np.full(n, ci, np.int16))
                    cols["frame"].append(np.arange(0, len(arr), every, dtype=np.int32))
    if not cols["poses"]:
        raise UserError(f"{npz_path}: no poses of {', '.join(subjects)} for the chosen actions")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    poses = np.concatenate(cols.pop("poses"))
    write_pose_file(out_path, poses, {k: np.concatenate(v) for k, v in cols.items()},
                    "videopose3d-npz", names.ACTIONS, subjects, npz=os.path.abspath(npz_path), every=int(every))
    return {"poses": len(poses), "sequences": nseq, "skipped": skipped,
            "path": os.fspath(out_path)}

