"""Read BVH motion capture and map it onto the 17 Human3.6M joints.

The reader honours per-joint position channels (a joint's position channels replace its
offset), any rotation order (rotations compose in the order the CHANNELS line lists
them, angles in degrees), and any number of channels per joint. A joint-name map picks
the BVH joint for 15 of the 17 joints; the nose and the head top, which mocap skeletons
lack or place differently, are put in front of and above the thorax and turned with the
head joint's rotation (the body's axes in the first frame, carried by the head). Output: world
positions in mm, z up.
"""
import os
import re
import zlib
from dataclasses import dataclass, field

import numpy as np

from structnet import skeleton as S
from structnet.errors import UserError

# 17-joint name -> BVH joint, for 15 joints; "head_rot": the joint whose rotation turns the head
NAME_MAPS = {
    "bandai": {"pelvis": "Hips", "Rhip": "UpperLeg_R", "Rknee": "LowerLeg_R", "Rankle": "Foot_R",
               "Lhip": "UpperLeg_L", "Lknee": "LowerLeg_L", "Lankle": "Foot_L", "spine": "Chest",
               "thorax": "Neck", "Lshoulder": "UpperArm_L", "Lelbow": "LowerArm_L", "Lwrist": "Hand_L",
               "Rshoulder": "UpperArm_R", "Relbow": "LowerArm_R", "Rwrist": "Hand_R", "head_rot": "Head"},
    "cmu": {"pelvis": "Hips", "Rhip": "RightUpLeg", "Rknee": "RightLeg", "Rankle": "RightFoot",
            "Lhip": "LeftUpLeg", "Lknee": "LeftLeg", "Lankle": "LeftFoot", "spine": "Spine",
            "thorax": "Neck", "Lshoulder": "LeftArm", "Lelbow": "LeftForeArm", "Lwrist": "LeftHand",
            "Rshoulder": "RightArm", "Relbow": "RightForeArm", "Rwrist": "RightHand", "head_rot": "Head"},
}
_AXIS = {"X": "x", "Y": "y", "Z": "z"}


@dataclass
class Joint:
    name: str
    parent: int
    offset: np.ndarray
    channels: list = field(default_factory=list)
    first: int = 0                 # index of its first channel in a motion row


@dataclass
class Motion:
    joints: list
    frame_time: float
    data: np.ndarray               # (F, total channels)
    path: str = ""

    def index(self, name):
        for i, j in enumerate(self.joints):
            if j.name == name:
                return i
        raise UserError(f"{self.path}: no joint named {name!r} (joints: "
                        f"{', '.join(j.name for j in self.joints)})")


def parse(path):
    """Parse a BVH file; malformed input is a UserError naming the file and line."""
    path = os.fspath(path)
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text BVH file (binary content)") from None
    joints, stack, nch, i = [], [], 0, 0

    def fail(msg):
        raise UserError(f"{path}:{i + 1}: {msg}")

    while i < len(lines) and lines[i].strip() != "MOTION":
        tok = lines[i].split()
        if tok and tok[0] in ("ROOT", "JOINT"):
            if len(tok) < 2:
                fail("joint without a name")
            joints.append(Joint(tok[1], stack[-1] if stack else -1, np.zeros(3)))
        elif tok and tok[0] == "End":
            joints.append(Joint("__end__", stack[-1], np.zeros(3)))
        elif tok and tok[0] == "{":
            if not joints:
                fail("'{' before any joint")
            stack.append(len(joints) - 1)
        elif tok and tok[0] == "}":
            if not stack:
                fail("unbalanced '}'")
            stack.pop()
        elif tok and tok[0] == "OFFSET":
            try:
                joints[stack[-1]].offset = np.array([float(v) for v in tok[1:4]])
            except (ValueError, IndexError):
                fail("bad OFFSET")
        elif tok and tok[0] == "CHANNELS":
            try:
                k = int(tok[1])
            except (ValueError, IndexError):
                fail("bad CHANNELS")
            chans = tok[2:2 + k]
            if len(chans) != k or any(c[1:] not in ("position", "rotation") or c[0] not in _AXIS for c in chans):
                fail(f"bad CHANNELS {' '.join(tok[2:])}")
            j = joints[stack[-1]]
            j.channels, j.first = chans, nch
            nch += k
        i += 1
    if i >= len(lines) or not joints or stack:
        raise UserError(f"{path}: not a complete BVH file (no MOTION section or unbalanced braces)")
    try:
        frames = int(re.split(r"[:\s]+", lines[i + 1].strip())[1])
        frame_time = float(re.split(r"[:\s]+", lines[i + 2].strip().replace("Frame Time", "FrameTime"))[1])
        data = np.array([[float(v) for v in ln.split()] for ln in lines[i + 3:i + 3 + frames] if ln.strip()])
    except (ValueError, IndexError):
        raise UserError(f"{path}:{i + 2}: bad MOTION header or values") from None
    if data.ndim != 2 or data.shape != (frames, nch):
        raise UserError(f"{path}: MOTION has {data.shape} values, expected {frames} frames x {nch} channels")
    if not np.all(np.isfinite(data)):
        raise UserError(f"{path}: MOTION contains NaN or inf")
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise UserError(f"{path}: Frame Time must be a positive number of seconds, got {frame_time}")
    if frames < 2:
        raise UserError(f"{path}: {frames} frame(s); a clip needs at least 2 frames")
    keep = [j for j in joints if j.name != "__end__"]
    remap = {joints.index(j): k for k, j in enumerate(keep)}
    for j in keep:
        j.parent = remap.get(j.parent, -1)
    return Motion(keep, frame_time, data, path)


def global_transforms(m, rest=False):
    """Global positions (F, J, 3) and rotations (F, J, 3, 3) in file units and axes;
    ``rest``: the rest pose (offsets, no rotation) instead of the motion."""
    F, J = len(m.data), len(m.joints)
    P = np.zeros((F, J, 3))
    R = np.zeros((F, J, 3, 3))
    for j, jt in enumerate(m.joints):
        trans = np.broadcast_to(jt.offset, (F, 3)).copy()
        rot = np.broadcast_to(np.eye(3), (F, 3, 3)).copy()
        for c, ch in enumerate([] if rest else jt.channels):
            v = m.data[:, jt.first + c]
            ax = "XYZ".index(ch[0])
            if ch.endswith("position"):
                trans[:, ax] = v
            else:
                rot = rot @ S.rotation(_AXIS[ch[0]], np.radians(v))
        if jt.parent < 0:
            P[:, j], R[:, j] = trans, rot
        else:
            Rp = R[:, jt.parent]
            P[:, j] = P[:, jt.parent] + np.einsum("fab,fb->fa", Rp, trans)
            R[:, j] = Rp @ rot
    return P, R


def _unit_scale(d, path=""):
    """mm per file unit from the pelvis-thorax distance d (a human's is about 0.5 m)."""
    for scale in (1.0, 10.0, 25.4, 1000.0):     # mm, cm, inch, m
        if 250 <= d * scale <= 900:
            return scale
    raise UserError(f"{path}: cannot tell the unit of this BVH: pelvis-thorax distance {d:.3g}")


def to_h36m(m, name_map="bandai", up="y"):
    """(F, 17, 3) world positions in mm, z up, of the 17 Human3.6M joints."""
    names = NAME_MAPS[name_map] if isinstance(name_map, str) else name_map
    P, R = global_transforms(m)
    idx = {k: m.index(v) for k, v in names.items()}
    out = np.zeros((len(P), 17, 3))
    for k, j in enumerate(S.JOINTS):
        if j in idx:
            out[:, k] = P[:, idx[j]]
    # the body's axes in the first frame, carried into the head joint's frame there
    up0 = P[0, idx["thorax"]] - P[0, idx["pelvis"]]
    fwd0 = np.cross(up0, P[0, idx["Rhip"]] - P[0, idx["Lhip"]])
    up0, fwd0 = up0 / np.linalg.norm(up0), fwd0 / np.linalg.norm(fwd0)
    R0 = R[0, idx["head_rot"]]
    up_r, fwd_r = R0.T @ up0, R0.T @ fwd0
    size = np.linalg.norm(P[:, idx["thorax"]] - P[:, idx["pelvis"]], axis=-1).mean()
    s = size / 490.0                          # 490 mm: the template's pelvis-thorax distance
    Rh = R[:, idx["head_rot"]]
    hu, hf = Rh @ up_r, Rh @ fwd_r
    out[:, 9] = out[:, 8] + s * (105 * hu + 60 * hf)
    out[:, 10] = out[:, 9] + s * (106 * hu - 45 * hf)
    out *= _unit_scale(size, m.path)
    if up == "y":
        out = np.stack([out[..., 0], -out[..., 2], out[..., 1]], -1)
    elif up != "z":
        raise ValueError("up must be 'y' or 'z'")
    return out


def load(path, name_map="bandai", up="y"):
    """Positions (F, 17, 3) mm, z up, and the frame rate of a BVH file."""
    m = parse(path)
    return to_h36m(m, name_map, up), 1.0 / m.frame_time


def clip_action(path):
    """Motion name from a file name: 'dataset-1_bow_active_001.bvh' -> 'bow'."""
    stem = os.path.splitext(os.path.basename(path))[0]
    parts = stem.split("_")
    return parts[1] if len(parts) >= 3 else stem


def check_dir(bvh_dir):
    """The .bvh files of a directory (sorted names); none, or no directory, is a UserError."""
    if not bvh_dir or not os.path.isdir(bvh_dir):
        raise UserError(f"--bvh-dir {bvh_dir!r} is not a directory of .bvh files")
    files = sorted(f for f in os.listdir(bvh_dir) if f.lower().endswith(".bvh"))
    if not files:
        raise UserError(f"{bvh_dir}: no .bvh files (--bvh-dir)")
    return files


def units(cfg, subjects):
    """Sequences for ``structnet.synth``: every BVH clip of cfg.bvh_dir, each assigned to one
    of the seven subjects by a hash of its name (so train and test clips never overlap),
    resampled to 50 fps, centred in the capture area, feet on the floor."""
    from structnet import motion as M
    files = check_dir(cfg.bvh_dir)
    everyone = M.TRAIN_SUBJECTS + M.TEST_SUBJECTS
    out, count = [], {}
    for f in files:
        subject = everyone[zlib.crc32(f.encode()) % len(everyone)]
        if subject not in subjects:
            continue
        pos, fps = load(os.path.join(cfg.bvh_dir, f), cfg.extra.get("name_map", "bandai"))
        t_src = np.arange(len(pos)) / fps
        t_dst = np.arange(0, t_src[-1], 1 / M.FPS)
        pos = np.stack([np.stack([np.interp(t_dst, t_src, pos[:, j, a]) for a in range(3)], -1)
                        for j in range(17)], 1)
        pos[..., :2] -= pos[:, :1, :2].mean(0)
        pos[..., 2] += M.ANKLE_HEIGHT - pos[:, [3, 6], 2].min()
        action = clip_action(f)
        count[(subject, action)] = count.get((subject, action), 0) + 1
        out.append((subject, action, count[(subject, action)], pos))
    return out
