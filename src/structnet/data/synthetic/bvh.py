"""Read BVH motion capture: the hierarchy, the motion, global joint transforms.

The reader honours per-joint position channels (a joint's position channels replace its
offset), any rotation order (rotations compose in the order the CHANNELS line lists
them, angles in degrees), any number of channels per joint, joint names with spaces
(3ds Max Biped) and End Sites (kept per joint in ``Motion.ends``). Which rig a file is,
its unit and up axis, and the mapping onto the 17 Human3.6M joints: ``structnet.data.synthetic.rigs``;
clips into dataset sequences: ``structnet.data.synthetic.mocap``.
"""
import os
import re
from dataclasses import dataclass, field

import numpy as np

from structnet.geometry import skeleton as S
from structnet.errors import UserError

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
    ends: dict = field(default_factory=dict)   # joint index -> its End Site offset (file units)

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
            joints.append(Joint(" ".join(tok[1:]), stack[-1] if stack else -1, np.zeros(3)))
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
        rows = [ln for ln in lines[i + 3:] if ln.strip()]
        data = np.array([[float(v) for v in ln.split()] for ln in rows[:frames]])
    except (ValueError, IndexError):
        raise UserError(f"{path}:{i + 2}: bad MOTION header or values") from None
    if len(rows) != frames:            # rows past the count were dropped in silence, once
        raise UserError(f"{path}: the MOTION header says 'Frames: {frames}' but {len(rows)} frame rows follow"
                        " (a cut or concatenated file?)")
    if data.ndim != 2 or data.shape != (frames, nch):
        raise UserError(f"{path}: MOTION has {data.shape} values, expected {frames} frames x {nch} channels")
    if not np.all(np.isfinite(data)):
        raise UserError(f"{path}: MOTION contains NaN or inf")
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise UserError(f"{path}: Frame Time must be a positive number of seconds, got {frame_time}")
    if frames < 2:
        raise UserError(f"{path}: {frames} frame(s); a clip needs at least 2 frames")
    old = [i for i, j in enumerate(joints) if j.name != "__end__"]
    keep = [joints[i] for i in old]
    remap = {i: k for k, i in enumerate(old)}
    ends = {remap[j.parent]: j.offset for j in joints if j.name == "__end__" and j.parent in remap}
    for j in keep:
        j.parent = remap.get(j.parent, -1)
    return Motion(keep, frame_time, data, path, ends)


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
