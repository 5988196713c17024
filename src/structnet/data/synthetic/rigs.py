"""Motion-capture rigs onto the 17 Human3.6M joints: which rig a BVH file is (from its
joint names), its unit (from the body's leg length), its up axis, and the head.

A rig maps 15 of our joints to the file's joints, names the file's head joint
(``head_joint``: the skull's base, whose rotation turns the head) and, where the rig has
one, a head-top joint or end site (``head_top``). Names are compared after dropping a
namespace (``mixamorig:``) and turning spaces into underscores (3ds Max ``Bip01 L Thigh``).
A user map (``--bvh-map``, JSON ``{our joint: file joint}``) takes the same keys.

Output of ``to_h36m``: world positions (F, 17, 3) in mm, z up. Sources of the rigs' names:
the CMU Graphics Lab database (its "cgspeed" BVH conversion and the ASF-derived naming),
Mixamo, Bandai Namco's Research Motion datasets, the Hips/Ab/Chest naming of
MotionBuilder-style exports, and 3ds Max Biped.
"""
import re

import numpy as np

from structnet.data.synthetic.bvh import Motion, global_transforms, parse
from structnet.geometry import skeleton as S
from structnet.errors import UserError

MAPPED = ("pelvis", "Rhip", "Rknee", "Rankle", "Lhip", "Lknee", "Lankle", "spine", "thorax",
          "Lshoulder", "Lelbow", "Lwrist", "Rshoulder", "Relbow", "Rwrist")


def _sided(left_right, **centre):
    """A rig table from the centre joints and a template of sided names ({s}: side token)."""
    fmt, (L, R) = left_right
    out = dict(centre)
    for ours, theirs in fmt.items():
        out["L" + ours], out["R" + ours] = theirs.format(s=L), theirs.format(s=R)
    return out


# detection order: the most specific names first (mixamo and cmu share "LeftUpLeg")
RIGS = {
    "mixamo": _sided(({"hip": "{s}UpLeg", "knee": "{s}Leg", "ankle": "{s}Foot", "shoulder": "{s}Arm",
                       "elbow": "{s}ForeArm", "wrist": "{s}Hand"}, ("Left", "Right")),
                     pelvis="Hips", spine="Spine1", thorax="Neck", head_joint="Head", head_top="HeadTop_End",
                     _signature=("Spine2", "HeadTop_End")),
    "biped": _sided(({"hip": "Bip01_{s}_Thigh", "knee": "Bip01_{s}_Calf", "ankle": "Bip01_{s}_Foot",
                      "shoulder": "Bip01_{s}_UpperArm", "elbow": "Bip01_{s}_Forearm", "wrist": "Bip01_{s}_Hand"},
                     ("L", "R")),
                    pelvis="Bip01_Pelvis", spine="Bip01_Spine1", thorax="Bip01_Neck", head_joint="Bip01_Head",
                    head_top="Bip01_HeadNub", _signature=("Bip01_Pelvis",)),
    "bandai": _sided(({"hip": "UpperLeg_{s}", "knee": "LowerLeg_{s}", "ankle": "Foot_{s}", "shoulder": "UpperArm_{s}",
                       "elbow": "LowerArm_{s}", "wrist": "Hand_{s}"}, ("L", "R")),
                     pelvis="Hips", spine="Chest", thorax="Neck", head_joint="Head", _signature=("UpperLeg_L",)),
    "hips-ab-chest": _sided(({"hip": "{s}Hip", "knee": "{s}Knee", "ankle": "{s}Ankle", "shoulder": "{s}Shoulder",
                              "elbow": "{s}Elbow", "wrist": "{s}Wrist"}, ("Left", "Right")),
                            pelvis="Hips", spine="Chest", thorax="Neck", head_joint="Head",
                            _signature=("Ab", "LeftCollar")),
    "cmu-asf": _sided(({"hip": "{s}femur", "knee": "{s}tibia", "ankle": "{s}foot", "shoulder": "{s}humerus",
                        "elbow": "{s}radius", "wrist": "{s}wrist"}, ("l", "r")),
                      pelvis="@root", spine="upperback", thorax="lowerneck", head_joint="head",
                      _signature=("lfemur", "lhumerus")),
    "cmu": _sided(({"hip": "{s}UpLeg", "knee": "{s}Leg", "ankle": "{s}Foot", "shoulder": "{s}Arm",
                    "elbow": "{s}ForeArm", "wrist": "{s}Hand"}, ("Left", "Right")),
                  # thorax: Neck1, not Neck, which sits ~72 mm below the shoulder line in CMU's files
                  # (Human3.6M's thorax is ~10 mm above it)
                  pelvis="Hips", spine="Spine", thorax="Neck1", head_joint="Head", _signature=("LeftUpLeg",)),
}

# mm per file unit that rigs use; the CMU unit is 1/0.45 inch (its ASF files' "length 0.45")
UNITS = {"mm": 1.0, "cm": 10.0, "inch": 25.4, "cmu": 25.4 / 0.45, "dm": 100.0, "m": 1000.0}
LEG_MM = 880.0        # hip -> knee -> ankle of an adult (Human3.6M's subjects: 830-920 mm)
HEAD_TOP_MM = 170.0   # skull base (the rigs' head joint) -> head top, for an 880 mm leg
NOSE_MM = (60.0, 95.0)  # skull base -> nose: up, forward


def norm_name(name):
    return re.sub(r"^.*:", "", name).strip().replace(" ", "_")


def _resolve(m, rig):
    """rig key -> joint index in m (``@root``: the root joint); None for a missing optional."""
    names = {norm_name(j.name): i for i, j in enumerate(m.joints)}
    out = {}
    for key, theirs in rig.items():
        if key.startswith("_"):
            continue
        if theirs == "@root":
            out[key] = 0
        elif norm_name(theirs) in names:
            out[key] = names[norm_name(theirs)]
        elif key != "head_top":
            return None
    return out


def load_user_map(path):
    """A user's rig from JSON ``{our joint: file joint}`` (the 15 joints and head_joint)."""
    from structnet.io import read_json
    rig = read_json(path, "joint map (--bvh-map)")
    need = set(MAPPED) | {"head_joint"}
    if not isinstance(rig, dict) or need - set(rig) or set(rig) - need - {"head_top"} \
            or not all(isinstance(v, str) for v in rig.values()):
        raise UserError(f"{path}: a joint map is a JSON object from each of {', '.join(sorted(need))}"
                        " (and optionally head_top) to a joint name of the file (--bvh-map)")
    return rig


def detect(m, user_map=None):
    """(rig name, {key: joint index}) of a parsed BVH; a file no rig fits is a UserError."""
    if user_map is not None:
        idx = _resolve(m, user_map)
        if idx is None:
            missing = [v for k, v in user_map.items() if k != "head_top"
                       and norm_name(v) not in {norm_name(j.name) for j in m.joints}]
            raise UserError(f"{m.path}: joints of the --bvh-map missing from the file: {', '.join(missing[:5])}")
        return "user map", idx
    names = {norm_name(j.name) for j in m.joints}
    for name, rig in RIGS.items():
        if all(norm_name(s) in names for s in rig["_signature"]):
            idx = _resolve(m, rig)
            if idx is not None:
                return name, idx
    raise UserError(f"{m.path}: no known rig ({', '.join(RIGS)}) fits its joints "
                    f"({', '.join(j.name for j in m.joints[:8])}, ...); pass --bvh-map")


def unit_scale(leg, path="", unit=None):
    """mm per file unit: ``unit`` (a name of UNITS or a number) if given, else the known
    unit nearest to what the leg length (hip -> knee -> ankle, file units) implies, or the
    implied scale itself when no unit is within a factor 1.4."""
    if unit not in (None, ""):
        if str(unit) in UNITS:
            v, name = UNITS[str(unit)], str(unit)
        else:
            try:
                v = float(unit)
            except ValueError:
                v = float("nan")
            if not (np.isfinite(v) and v > 0):
                raise UserError(f"--bvh-unit {unit!r}: one of {', '.join(UNITS)} or mm per file unit (> 0)")
            name = f"{v:g} mm"
        legs = leg * v
        if np.isfinite(legs) and leg > 0 and not (LEG_MM / 2.5 <= legs <= LEG_MM * 2.5):
            # hip -> knee -> ankle is about half a body's height
            raise UserError(f"{path}: --bvh-unit {unit} gives legs of {legs:.0f} mm, a body about"
                            f" {2.1 * legs / 1000:.2g} m tall; the leg length suggests"
                            f" {min(UNITS, key=lambda k: abs(np.log(UNITS[k] * leg / LEG_MM)))}")
        return v, name
    if not (np.isfinite(leg) and leg > 0):
        raise UserError(f"{path}: cannot tell the unit: the legs have no length")
    implied = LEG_MM / leg
    name = min(UNITS, key=lambda k: abs(np.log(UNITS[k] / implied)))
    if abs(np.log(UNITS[name] / implied)) < np.log(1.4):
        return UNITS[name], name
    return implied, f"{implied:.3g} mm (from the leg length)"


def up_rotation(P, idx):
    """(3, 3) rotation taking the file's up axis (the signed axis nearest to pelvis ->
    thorax, median over frames) to +z; and the axis' name (e.g. '+y')."""
    v = np.median(P[:, idx["thorax"]] - P[:, idx["pelvis"]], axis=0)
    k = int(np.argmax(np.abs(v)))
    u = np.zeros(3)
    u[k] = np.sign(v[k]) or 1.0
    name = ("+" if u[k] > 0 else "-") + "xyz"[k]
    z = np.array([0.0, 0.0, 1.0])
    if abs(u @ z - 1) < 1e-9:
        return np.eye(3), name
    if abs(u @ z + 1) < 1e-9:
        return np.diag([1.0, -1.0, -1.0]), name
    axis = np.cross(u, z)
    axis /= np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + K + K @ K, name           # 90 degrees: sin = 1, 1 - cos = 1


def load(path, user_map=None, unit=None):
    """Positions (F, 17, 3) mm, z up, and the frame rate of a BVH file of any known rig."""
    m = parse(path)
    return to_h36m(m, user_map, unit)[0], 1.0 / m.frame_time


def leg_length(P, idx):
    """Hip -> knee -> ankle (left leg) in file units, the median over the frames of P."""
    return float(np.median(np.linalg.norm(P[:, idx["Lhip"]] - P[:, idx["Lknee"]], axis=-1)
                           + np.linalg.norm(P[:, idx["Lknee"]] - P[:, idx["Lankle"]], axis=-1)))


def check_unit(m, user_map=None, unit=None, frames=50):
    """The rig and the unit of a parsed BVH from its first ``frames`` frames, before any work:
    a unit that gives an implausible body is a one-line error naming it (``unit_scale``)."""
    rig, idx = detect(m, user_map)
    part = Motion(m.joints, m.frame_time, m.data[:frames], m.path, m.ends)
    return rig, unit_scale(leg_length(global_transforms(part)[0], idx), m.path, unit)


def to_h36m(m, user_map=None, unit=None):
    """(F, 17, 3) world mm, z up, and a report {rig, unit, up, head_top} of a parsed BVH."""
    rig, idx = detect(m, user_map)
    P, R = global_transforms(m)
    leg = leg_length(P, idx)
    mm, unit_name = unit_scale(leg, m.path, unit)
    A, up_name = up_rotation(P, idx)
    P = (P * mm) @ A.T
    R = np.einsum("ab,fjbc->fjac", A, R)
    out = np.zeros((len(P), 17, 3))
    for k, j in enumerate(S.JOINTS):
        if j in idx:
            out[:, k] = P[:, idx[j]]
    head, top, how = _head(m, P, R, idx, mm, A, leg * mm)
    out[:, 10], out[:, 9] = top, head
    return out, {"rig": rig, "unit": unit_name, "mm_per_unit": mm, "up": up_name, "head_top": how}


def _head(m, P, R, idx, mm, A, leg_mm):
    """Nose and head top (F, 3) each: from the file's head-top joint or end site when it
    lies 80-300 mm (scaled by the leg) from the head joint, else from the head joint and
    the body's axes carried by the head's rotation."""
    h = idx["head_joint"]
    H = P[:, h]
    s = leg_mm / LEG_MM
    # the body's axes in the first frame, carried into the head joint's frame there
    up0 = P[0, idx["thorax"]] - P[0, idx["pelvis"]]
    fwd0 = np.cross(up0, P[0, idx["Rhip"]] - P[0, idx["Lhip"]])
    up0, fwd0 = up0 / np.linalg.norm(up0), fwd0 / np.linalg.norm(fwd0)
    Rh = R[:, h]
    hu, hf = Rh @ (Rh[0].T @ up0), Rh @ (Rh[0].T @ fwd0)
    top, how = None, "placed from the head joint"
    if idx.get("head_top") is not None:
        top, how = P[:, idx["head_top"]], "the file's head-top joint"
    elif h in m.ends and np.linalg.norm(m.ends[h]) > 0:
        top = H + np.einsum("fab,b->fa", R[:, h], m.ends[h] * mm)   # R here is A R_file
        how = "the head joint's end site"
    if top is not None:
        d = np.median(np.linalg.norm(top - H, axis=-1))
        if not 80 * s <= d <= 300 * s:
            top, how = None, f"placed from the head joint (the file's head top is {d:.0f} mm away)"
    if top is None:
        top = H + s * HEAD_TOP_MM * hu
    else:
        hu = (top - H) / np.linalg.norm(top - H, axis=-1, keepdims=True)
        hf = hf - np.sum(hf * hu, -1, keepdims=True) * hu
        hf /= np.linalg.norm(hf, axis=-1, keepdims=True)
    nose = H + s * (NOSE_MM[0] * hu + NOSE_MM[1] * hf)
    return nose, top, how
