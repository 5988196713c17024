"""BVH files in the exact form of common rigs, written by the tests: joint names and
hierarchy, offsets in the rig's unit and up axis, channel orders, frame rates.

One body (mm, Y up, facing +Z, the performer's left at +X) is dressed in each rig; the
motion walks forward, turns, bends the knees and lowers the arms from the rest T-pose
(frame 0 stays in the T-pose where ``tpose_first``)."""
import numpy as np

BODY = {
    "pelvis": (0, 950, 0), "Lhip": (95, 930, 0), "Lknee": (95, 500, 10), "Lankle": (95, 80, 0),
    "Ltoe": (95, 20, 130), "lowerback": (0, 1020, 0), "spine": (0, 1150, 0), "chest": (0, 1300, -10),
    "thorax": (0, 1440, 0), "neck1": (0, 1500, 5), "lowneck": (0, 1358, 0), "head": (0, 1560, 10), "headtop": (0, 1740, 10),
    "Lclav": (20, 1420, 0), "Lshoulder": (180, 1430, 0), "Lelbow": (470, 1430, 0), "Lwrist": (720, 1430, 0),
    "Lhand": (800, 1430, 0),
}
for k, v in list(BODY.items()):
    if k.startswith("L"):
        BODY["R" + k[1:]] = (-v[0], v[1], v[2])
BODY = {k: np.array(v, float) for k, v in BODY.items()}


def _legs_arms(names, hip_parent, arm_parent):
    """(name, parent, body point) of both legs and arms; names: side -> 5 leg + 4 arm names."""
    out = []
    for side in "LR":
        leg, arm = names[side]
        out += [(leg[0], hip_parent, "pelvis") if leg[0] else None,
                (leg[1], leg[0] or hip_parent, side + "hip"), (leg[2], leg[1], side + "knee"),
                (leg[3], leg[2], side + "ankle"), (leg[4], leg[3], side + "toe"),
                (arm[0], arm_parent, side + "clav"), (arm[1], arm[0], side + "shoulder"),
                (arm[2], arm[1], side + "elbow"), (arm[3], arm[2], side + "wrist")]
    return [x for x in out if x]


def _rig(centre, names, hip_parent, arm_parent, **kw):
    return dict(joints=centre + _legs_arms(names, hip_parent, arm_parent), **kw)


RIGS = {
    "cmu": _rig([("Hips", None, "pelvis"), ("LowerBack", "Hips", "pelvis"), ("Spine", "LowerBack", "lowerback"),
                 ("Spine1", "Spine", "chest"), ("Neck", "Spine1", "lowneck"), ("Neck1", "Neck", "thorax"),
                 ("Head", "Neck1", "head")],       # CMU's Neck sits ~72 mm below the shoulder line
                {s: ((f"{s}HipJoint", f"{w}UpLeg", f"{w}Leg", f"{w}Foot", f"{w}ToeBase"),
                     (f"{w}Shoulder", f"{w}Arm", f"{w}ForeArm", f"{w}Hand"))
                 for s, w in (("L", "Left"), ("R", "Right"))},
                "Hips", "Spine1", unit=25.4 / 0.45, up="y", fps=120, order="ZYX", tpose_first=True,
                head_end="headtop"),
    "cmu-asf": _rig([("root", None, "pelvis"), ("lowerback", "root", "pelvis"), ("upperback", "lowerback", "spine"),
                     ("thorax", "upperback", "chest"), ("lowerneck", "thorax", "thorax"),
                     ("upperneck", "lowerneck", "neck1"), ("head", "upperneck", "head")],
                    {s: ((f"{w}hipjoint", f"{w}femur", f"{w}tibia", f"{w}foot", f"{w}toes"),
                         (f"{w}clavicle", f"{w}humerus", f"{w}radius", f"{w}wrist"))
                     for s, w in (("L", "l"), ("R", "r"))},
                    "root", "thorax", unit=25.4 / 0.45, up="y", fps=120, order="ZYX", tpose_first=True,
                    head_end="headtop"),
    "mixamo": _rig([("mixamorig:Hips", None, "pelvis"), ("mixamorig:Spine", "mixamorig:Hips", "lowerback"),
                    ("mixamorig:Spine1", "mixamorig:Spine", "spine"), ("mixamorig:Spine2", "mixamorig:Spine1", "chest"),
                    ("mixamorig:Neck", "mixamorig:Spine2", "thorax"), ("mixamorig:Head", "mixamorig:Neck", "head"),
                    ("mixamorig:HeadTop_End", "mixamorig:Head", "headtop")],
                   {s: ((None, f"mixamorig:{w}UpLeg", f"mixamorig:{w}Leg", f"mixamorig:{w}Foot",
                         f"mixamorig:{w}ToeBase"),
                        (f"mixamorig:{w}Shoulder", f"mixamorig:{w}Arm", f"mixamorig:{w}ForeArm", f"mixamorig:{w}Hand"))
                    for s, w in (("L", "Left"), ("R", "Right"))},
                   "mixamorig:Hips", "mixamorig:Spine2", unit=10.0, up="y", fps=30, order="ZXY", tpose_first=False),
    "hips-ab-chest": _rig([("Hips", None, "pelvis"), ("Ab", "Hips", "lowerback"), ("Chest", "Ab", "chest"),
                           ("Neck", "Chest", "thorax"), ("Head", "Neck", "head")],
                          {s: ((None, f"{w}Hip", f"{w}Knee", f"{w}Ankle", f"{w}Toe"),
                               (f"{w}Collar", f"{w}Shoulder", f"{w}Elbow", f"{w}Wrist"))
                           for s, w in (("L", "Left"), ("R", "Right"))},
                          "Hips", "Chest", unit=10.0, up="z", fps=100, order="ZXY", tpose_first=False,
                          head_end="headtop"),
    "biped": _rig([("Bip01", None, "pelvis"), ("Bip01 Pelvis", "Bip01", "pelvis"),
                   ("Bip01 Spine", "Bip01 Pelvis", "lowerback"), ("Bip01 Spine1", "Bip01 Spine", "spine"),
                   ("Bip01 Neck", "Bip01 Spine1", "thorax"), ("Bip01 Head", "Bip01 Neck", "head"),
                   ("Bip01 HeadNub", "Bip01 Head", "headtop")],
                  {s: ((None, f"Bip01 {s} Thigh", f"Bip01 {s} Calf", f"Bip01 {s} Foot", f"Bip01 {s} Toe0"),
                       (f"Bip01 {s} Clavicle", f"Bip01 {s} UpperArm", f"Bip01 {s} Forearm", f"Bip01 {s} Hand"))
                   for s in "LR"},
                  "Bip01 Pelvis", "Bip01 Neck", unit=25.4, up="z", fps=30, order="ZXY", tpose_first=False),
    "bandai": _rig([("joint_Root", None, "floor"), ("Hips", "joint_Root", "pelvis"), ("Spine", "Hips", "lowerback"),
                    ("Chest", "Spine", "chest"), ("Neck", "Chest", "thorax"), ("Head", "Neck", "head")],
                   {s: ((None, f"UpperLeg_{s}", f"LowerLeg_{s}", f"Foot_{s}", f"Toes_{s}"),
                        (f"Shoulder_{s}", f"UpperArm_{s}", f"LowerArm_{s}", f"Hand_{s}")) for s in "LR"},
                   "Hips", "Chest", unit=10.0, up="y", fps=30, order="ZXY", tpose_first=False, six=True,
                   head_end="zero"),
}
BODY["floor"] = np.zeros(3)

# Y-up body axes -> the file's axes
_TO_FILE = {"y": np.eye(3), "z": np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])}


def bone_lengths_mm():
    """The body's thigh, shin and upper arm (left), mm: what every rig's file holds."""
    d = lambda a, b: float(np.linalg.norm(BODY[a] - BODY[b]))
    return {"thigh": d("Lhip", "Lknee"), "shin": d("Lknee", "Lankle"), "upper_arm": d("Lshoulder", "Lelbow")}


def _angles(point, f, tpose):
    """{body axis: degrees} of the joint at ``point`` in frame f."""
    if tpose:
        return {}
    if point in ("Lshoulder", "Rshoulder"):
        return {"Z": -70.0 if point[0] == "L" else 70.0}
    if point in ("Lknee", "Rknee"):
        return {"X": 20.0 + 10 * np.sin(f)}
    return {}


def write(path, rig_name, frames=40, walk_mm=(0.0, 0.0, 15.0), turn_deg=2.0):
    """Write ``frames`` frames of the body in rig ``rig_name`` to ``path``; walk_mm: the root's
    step per frame (body axes, mm), turn_deg: its yaw per frame."""
    rig = RIGS[rig_name]
    A = _TO_FILE[rig["up"]]
    unit = rig["unit"]
    joints = rig["joints"]
    children = {}
    for name, parent, _ in joints:
        children.setdefault(parent, []).append(name)
    point = {n: p for n, _, p in joints}
    parent_of = {n: par for n, par, _ in joints}
    rot_ch = [f"{a}rotation" for a in rig["order"]]
    channels = {}
    lines = ["HIERARCHY"]

    def emit(name, depth):
        pad = "  " * depth
        par = parent_of[name]
        off = BODY[point[name]] - (BODY[point[par]] if par else 0)
        kind = "ROOT" if par is None else "JOINT"
        ch = (["Xposition", "Yposition", "Zposition"] if par is None or rig.get("six") else []) + rot_ch
        channels[name] = ch
        lines.append(f"{pad}{kind} {name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET " + " ".join(f"{v:.6f}" for v in A @ off / unit))
        lines.append(f"{pad}  CHANNELS {len(ch)} " + " ".join(ch))
        kids = children.get(name, [])
        for k in kids:
            emit(k, depth + 1)
        if not kids:
            end = np.zeros(3)
            if point[name] == "head" and rig.get("head_end") == "headtop":
                end = BODY["headtop"] - BODY["head"]
            elif point[name] != "head" or rig.get("head_end") != "zero":
                end = np.array([0.0, 0.0, 40.0]) if "toe" in point[name] else np.array([0.0, 0.0, 0.0])
                if "wrist" in point[name] or "hand" in point[name]:
                    end = BODY[point[name][0] + "hand"] - BODY[point[name]]
                if point[name] == "headtop":
                    end = np.array([0.0, 60.0, 0.0])
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET " + " ".join(f"{v:.6f}" for v in A @ end / unit))
            lines.append(f"{pad}  }}")
        lines.append(f"{pad}}}")

    root = joints[0][0]
    emit(root, 0)
    order = [n for n in _dfs(root, children)]
    rows = []
    for f in range(frames):
        tpose = rig["tpose_first"] and f == 0
        row = []
        for name in order:
            par = parent_of[name]
            vals = {}
            if par is None or rig.get("six"):
                local = BODY[point[name]] - (BODY[point[par]] if par else 0)
                if par is None:
                    local = local + np.asarray(walk_mm) * f
                    if point[name] == "floor":
                        local = np.asarray(walk_mm) * f
                for k, a in enumerate("XYZ"):
                    vals[f"{a}position"] = (A @ local / unit)[k]
            ang = _angles(point[name], f, tpose)
            if par is None or (rig.get("six") and point[name] == "pelvis"):
                ang = {"Y": turn_deg * f} if par is None else {}
            for axis, deg in ang.items():
                v = A @ np.eye(3)["XYZ".index(axis)]
                k = int(np.argmax(np.abs(v)))
                vals[f"{'XYZ'[k]}rotation"] = deg * np.sign(v[k])
            row += [vals.get(c, 0.0) for c in channels[name]]
        rows.append(" ".join(f"{v:.6f}" for v in row))
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {1 / rig['fps']:.8f}"] + rows
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def _dfs(name, children):
    yield name
    for k in children.get(name, []):
        yield from _dfs(k, children)
