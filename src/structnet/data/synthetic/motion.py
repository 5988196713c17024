"""Procedural motion for the 15 Human3.6M actions and the seven subjects' bodies.

A sequence is a set of joint-angle trajectories at 50 fps (the Human3.6M rate) turned
into 17 joint positions by forward kinematics (``structnet.geometry.skeleton``), so the bone
lengths of a subject are constant over every sequence. Each action is a function of
time built from gait cycles, smooth random signals (sums of sinusoids with random
phases) and held key poses; every amplitude, frequency and key pose is drawn from the
sequence's generator and scaled by the subject's style (speed, amplitude). Angles are
clipped to joint limits. World frame: z up, mm, floor at z = 0.
"""
import zlib

import numpy as np

from structnet.geometry import skeleton as S
from structnet.geometry.protocol import ACTIONS, FPS, TEST_SUBJECTS, TRAIN_SUBJECTS  # noqa: F401 (re-exported)
#: overall body scale of each synthetic subject (Human3.6M has two women, S1 and S5)
SUBJECT_SCALE = {"S1": 0.94, "S5": 0.92, "S6": 1.05, "S7": 0.97, "S8": 1.02, "S9": 1.04, "S11": 1.00}
ANKLE_HEIGHT = 85.0
#: joint limits, radians: (low, high)
LIMITS = {"hip_flex": (-0.6, 2.3), "hip_abd": (-0.3, 0.9), "knee": (0.0, 2.5), "sh_flex": (-1.0, 3.0),
          "sh_abd": (-0.2, 2.9), "sh_tw": (-1.2, 1.2), "elbow": (0.0, 2.6), "bend": (-0.4, 1.3),
          "side": (-0.45, 0.45), "twist": (-0.8, 0.8), "head_yaw": (-1.2, 1.2), "head_pitch": (-0.6, 0.8)}
PARTS = ("R_hip_flex", "R_hip_abd", "R_knee", "L_hip_flex", "L_hip_abd", "L_knee",
         "R_sh_flex", "R_sh_abd", "R_sh_tw", "R_elbow", "L_sh_flex", "L_sh_abd", "L_sh_tw", "L_elbow",
         "bend", "side", "twist", "head_yaw", "head_pitch")


def _rng(*keys):
    return np.random.default_rng([zlib.crc32(str(k).encode()) for k in keys])


def subject_body(subject):
    """Rest offsets (17, 3) mm of a synthetic subject: scaled, with per-bone jitter."""
    rng = _rng("body", subject)
    scale = SUBJECT_SCALE.get(subject, 1.0)
    jitter = 1 + rng.uniform(-0.05, 0.05, S.N_JOINTS)
    jitter[S.MIRROR] = jitter          # keep left and right symmetric
    jitter = np.maximum(jitter, jitter[S.MIRROR])
    return S.REST_OFFSETS * scale * jitter[:, None]


def subject_style(subject):
    rng = _rng("style", subject)
    return {"speed": rng.uniform(0.85, 1.15), "amp": rng.uniform(0.8, 1.2), "hand": rng.choice(["R", "L"])}


def smooth(rng, t, amp, freq=0.3, n=3):
    """A smooth random signal: sum of n sinusoids around ``freq`` Hz, peak about ``amp``."""
    out = np.zeros_like(t)
    for _ in range(n):
        f = freq * rng.uniform(0.5, 1.5)
        out += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) * rng.uniform(0.5, 1.0)
    return amp * out / n * 1.5


def keyposes(rng, t, values, hold=(1.5, 3.0), blend=0.6):
    """Key values held for ``hold`` seconds, with ``blend``-second smoothstep transitions;
    ``values(rng)`` draws one key."""
    starts, keys = [0.0], [values(rng)]
    while starts[-1] <= t[-1]:
        starts.append(starts[-1] + rng.uniform(*hold))
        keys.append(values(rng))
    seg = np.searchsorted(starts, t, side="right") - 1
    k = np.asarray(keys, dtype=np.float64)
    prev = k[np.maximum(seg - 1, 0)]
    u = np.clip((t - np.asarray(starts)[seg]) / blend, 0, 1)
    u = np.where(seg == 0, 1.0, u * u * (3 - 2 * u))
    return prev + (k[seg] - prev) * u


def _base(n):
    return {k: np.zeros(n) for k in PARTS}


def _gait(a, t, rng, speed, amp, arm=1.0):
    """Walking: hip, knee and arm swing of a gait cycle; returns the phase."""
    freq = 0.9 * speed * rng.uniform(0.9, 1.1)                    # strides per second
    ph = 2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)
    for side, off in (("R", 0.0), ("L", np.pi)):
        p = ph + off
        a[f"{side}_hip_flex"] += 0.12 + 0.42 * amp * np.sin(p)
        a[f"{side}_knee"] += 0.12 + 0.55 * amp * np.clip(np.sin(p + 1.9), 0, None) ** 1.5
        a[f"{side}_sh_flex"] += -0.35 * amp * arm * np.sin(p)
        a[f"{side}_elbow"] += 0.25 + 0.15 * arm * (1 + np.sin(p))
        a[f"{side}_sh_abd"] += 0.08
    a["twist"] += 0.08 * np.sin(ph)
    return ph, freq


def _path(t, rng, speed, stop_prob=0.0):
    """Root xy and heading for walking around the capture area (an ellipse), mm."""
    v = 1100 * speed * rng.uniform(0.85, 1.1)
    rx, ry = rng.uniform(1000, 1700), rng.uniform(800, 1400)
    go = np.ones_like(t)
    if stop_prob:
        go = np.clip(0.5 + smooth(rng, t, 1.5, 0.15), 0, 1)
    s = np.cumsum(go) * v / FPS
    perim = np.pi * (rx + ry)
    sign = rng.choice([-1, 1])
    th = 2 * np.pi * s / perim * sign + rng.uniform(0, 2 * np.pi)
    xy = np.stack([rx * np.cos(th), ry * np.sin(th)], -1)
    tangent = sign * np.stack([-rx * np.sin(th), ry * np.cos(th)], -1)   # defined when standing still
    yaw = np.unwrap(np.arctan2(tangent[:, 1], tangent[:, 0])) - np.pi / 2   # body faces +y at yaw 0
    return xy, yaw, go


def _standing(t, rng, area=800):
    xy0 = rng.uniform(-area, area, 2)
    xy = xy0 + np.stack([smooth(rng, t, 120, 0.08), smooth(rng, t, 120, 0.08)], -1)
    yaw = rng.uniform(-np.pi, np.pi) + smooth(rng, t, 0.6, 0.05)
    return xy, yaw


def _arm(a, side, flex, abd, elbow, tw=0.0):
    a[f"{side}_sh_flex"] += flex
    a[f"{side}_sh_abd"] += abd
    a[f"{side}_elbow"] += elbow
    a[f"{side}_sh_tw"] += tw


def _hand_to_head(a, side, w):
    """Blend an arm toward the hand-at-face pose by weight w in [0, 1]."""
    _arm(a, side, 0.55 * w, 0.45 * w, 2.3 * w, -0.6 * w)


def _sit(a, depth=1.0):
    for s in "RL":
        a[f"{s}_hip_flex"] += 1.5 * depth
        a[f"{s}_knee"] += 1.45 * depth
        a[f"{s}_hip_abd"] += 0.12 * depth


def action_angles(action, t, rng, style):
    """Joint-angle trajectories (dict of (T,) arrays), root xy (T,2), yaw (T,), seat height."""
    n, sp, am = len(t), style["speed"], style["amp"]
    a = _base(n)
    hand = style["hand"]
    other = "L" if hand == "R" else "R"
    seat = None
    a["head_yaw"] += smooth(rng, t, 0.35, 0.1)
    a["head_pitch"] += 0.1 + smooth(rng, t, 0.15, 0.1)
    for s in "RL":
        a[f"{s}_elbow"] += 0.15
        a[f"{s}_sh_abd"] += 0.1
    if action in ("Walking", "WalkDog", "WalkTogether"):
        stop = {"Walking": 0.0, "WalkDog": 1.0, "WalkTogether": 0.4}[action]
        spd = sp * {"Walking": 1.0, "WalkDog": 0.75, "WalkTogether": 0.8}[action]
        xy, yaw, go = _path(t, rng, spd, stop)
        _gait(a, t, rng, spd, am * go.clip(0.25, 1), arm={"Walking": 1.0, "WalkDog": 0.5, "WalkTogether": 0.6}[action])
        if action == "WalkDog":
            _arm(a, hand, 0.6 + smooth(rng, t, 0.2), 0.15, 0.4)
            a["bend"] += 0.18 + smooth(rng, t, 0.1)
            a["head_pitch"] += 0.25
        if action == "WalkTogether":
            a["head_yaw"] += rng.choice([-1, 1]) * (0.45 + smooth(rng, t, 0.25, 0.1))
    elif action in ("Sitting", "Eating"):
        xy, yaw = _standing(t, rng, 600)
        seat = rng.uniform(420, 480)
        _sit(a)
        a["bend"] += 0.1 + smooth(rng, t, 0.15, 0.1)
        for s in "RL":
            _arm(a, s, 0.45 + smooth(rng, t, 0.25), 0.15, 1.0 + smooth(rng, t, 0.4))
            a[f"{s}_hip_abd"] += smooth(rng, t, 0.12, 0.05)
        if action == "Eating":
            w = np.clip(0.5 + smooth(rng, t, 1.6, 0.25), 0, 1)
            _hand_to_head(a, hand, w)
            a["head_pitch"] += 0.2 * w
        else:
            a["twist"] += smooth(rng, t, 0.3, 0.08)
            a["side"] += smooth(rng, t, 0.15, 0.08)
    elif action == "SittingDown":
        xy, yaw = _standing(t, rng, 500)
        w = np.clip(0.5 + smooth(rng, t, 1.8, 0.06, n=2), 0, 1)     # 0 standing .. 1 on the floor
        for s in "RL":
            a[f"{s}_hip_flex"] += 1.7 * w
            a[f"{s}_knee"] += 2.2 * w
            a[f"{s}_hip_abd"] += 0.3 * w
            _arm(a, s, 0.5 * w + smooth(rng, t, 0.3), 0.2, 0.6 + 0.6 * w)
        a["bend"] += 0.45 * w + smooth(rng, t, 0.15)
        seat = ("floor", w)
    elif action in ("Phoning", "Smoking"):
        xy, yaw = _standing(t, rng)
        step = np.clip(smooth(rng, t, 1.2, 0.1), 0, 1)
        _gait(a, t, rng, sp * 0.6, am * 0.5 * step, arm=0.2)
        if action == "Phoning":
            _hand_to_head(a, hand, np.clip(0.85 + smooth(rng, t, 0.3, 0.05), 0, 1))
            _arm(a, other, smooth(rng, t, 0.5, 0.2), 0.1, 0.4 + smooth(rng, t, 0.5))
        else:
            _hand_to_head(a, hand, np.clip(0.4 + smooth(rng, t, 1.4, 0.2), 0, 1))
            _arm(a, other, 0.5, 0.1, 1.7, 0.7)
        a["side"] += smooth(rng, t, 0.1, 0.1)
    elif action == "Photo":
        xy, yaw = _standing(t, rng)
        w = np.clip(0.6 + smooth(rng, t, 1.0, 0.12), 0, 1)
        for s in "RL":
            _arm(a, s, 1.15 * w, 0.25 * w, 1.9 * w, -0.3 * w)
        crouch = np.clip(smooth(rng, t, 1.5, 0.07), 0, 1)
        for s in "RL":
            a[f"{s}_hip_flex"] += 1.0 * crouch
            a[f"{s}_knee"] += 1.5 * crouch
        a["bend"] += 0.25 * crouch + smooth(rng, t, 0.15)
        a["twist"] += smooth(rng, t, 0.3, 0.1)
    elif action == "Greeting":
        xy, yaw, go = _path(t, rng, sp * 0.6, 1.0)
        _gait(a, t, rng, sp * 0.6, am * go.clip(0, 1), arm=0.4)
        wave = np.clip(0.3 + smooth(rng, t, 1.5, 0.12), 0, 1)
        _arm(a, hand, 0.4 * wave, 2.3 * wave, (0.6 + 0.5 * np.sin(2 * np.pi * 2.2 * t)) * wave)
        bow = np.clip(smooth(rng, t, 1.5, 0.08) - 0.3, 0, 1)
        a["bend"] += 0.7 * bow
        a["head_pitch"] += 0.3 * bow
    elif action in ("Directions", "Discussion", "Waiting", "Posing", "Purchases"):
        xy, yaw = _standing(t, rng)
        if action == "Purchases":
            xy, yaw, go = _path(t, rng, sp * 0.5, 1.0)
            _gait(a, t, rng, sp * 0.5, am * go.clip(0, 1), arm=0.4)
            pick = np.clip(smooth(rng, t, 1.6, 0.1) - 0.4, 0, 1)
            a["bend"] += 1.0 * pick
            for s in "RL":
                a[f"{s}_knee"] += 0.6 * pick
                a[f"{s}_hip_flex"] += 0.4 * pick
                _arm(a, s, 0.9 * pick + smooth(rng, t, 0.3), 0.1, 0.5 + smooth(rng, t, 0.4))
        elif action == "Directions":
            point = np.clip(0.4 + smooth(rng, t, 1.3, 0.15), 0, 1)
            _arm(a, hand, 1.4 * point, keyposes(rng, t, lambda r: r.uniform(0, 1.2)), 0.1)
            _arm(a, other, smooth(rng, t, 0.4), 0.1, smooth(rng, t, 0.6) + 0.4)
            a["twist"] += keyposes(rng, t, lambda r: r.uniform(-0.6, 0.6))
        elif action == "Discussion":
            for s in "RL":
                _arm(a, s, 0.5 + smooth(rng, t, 0.6, 0.4), 0.2 + smooth(rng, t, 0.3, 0.3),
                     1.2 + smooth(rng, t, 0.7, 0.5), smooth(rng, t, 0.5, 0.3))
            a["twist"] += smooth(rng, t, 0.4, 0.15)
            a["side"] += smooth(rng, t, 0.15, 0.2)
        elif action == "Waiting":
            cross = keyposes(rng, t, lambda r: float(r.random() < 0.5), hold=(3, 6))
            for s in "RL":
                _arm(a, s, 0.5 * cross - 0.3 * (1 - cross), 0.15, 1.8 * cross + 0.3 * (1 - cross), 0.8 * cross)
            squat = np.clip(smooth(rng, t, 1.4, 0.05) - 0.5, 0, 1)
            for s in "RL":
                a[f"{s}_hip_flex"] += 1.6 * squat
                a[f"{s}_knee"] += 2.2 * squat
            a["head_yaw"] += smooth(rng, t, 0.5, 0.1)
        else:  # Posing: held expressive key poses
            for k, (lo, hi) in (("sh_flex", (-0.5, 2.8)), ("sh_abd", (0, 2.6)), ("elbow", (0, 2.3)),
                                ("sh_tw", (-0.8, 0.8))):
                for s in "RL":
                    a[f"{s}_{k}"] += keyposes(rng, t, lambda r: r.uniform(lo, hi))
            for s in "RL":
                a[f"{s}_hip_abd"] += keyposes(rng, t, lambda r: r.uniform(0, 0.5))
                a[f"{s}_hip_flex"] += keyposes(rng, t, lambda r: r.uniform(-0.2, 0.9) * (r.random() < 0.4))
            a["side"] += keyposes(rng, t, lambda r: r.uniform(-0.35, 0.35))
            a["bend"] += keyposes(rng, t, lambda r: r.uniform(-0.2, 0.5))
        a["side"] += smooth(rng, t, 0.08, 0.1)
        for s in "RL":
            a[f"{s}_hip_abd"] += 0.05 + smooth(rng, t, 0.06, 0.1)
    else:
        raise ValueError(f"unknown action {action!r}; choose from {', '.join(ACTIONS)}")
    return a, xy, yaw, seat


def _clip(a):
    for k, v in a.items():
        lo, hi = LIMITS[k[2:] if k[:2] in ("R_", "L_") else k]
        np.clip(v, lo, hi, out=v)


def angles_to_local(a, yaw):
    """Angle trajectories -> local rotations (T, 17, 3, 3) in the skeleton's convention."""
    R = S.rotation
    n = len(yaw)
    L = np.broadcast_to(np.eye(3), (n, S.N_JOINTS, 3, 3)).copy()
    L[:, 0] = R("z", yaw)
    L[:, 7] = R("x", a["bend"]) @ R("y", a["side"]) @ R("z", a["twist"])
    for side, hip, knee, sh, el, sgn in (("R", 1, 2, 14, 15, -1), ("L", 4, 5, 11, 12, 1)):
        L[:, hip] = R("x", a[f"{side}_hip_flex"]) @ R("y", sgn * a[f"{side}_hip_abd"])
        L[:, knee] = R("x", -a[f"{side}_knee"])
        L[:, sh] = R("x", a[f"{side}_sh_flex"]) @ R("y", sgn * a[f"{side}_sh_abd"]) @ R("z", sgn * a[f"{side}_sh_tw"])
        L[:, el] = R("x", a[f"{side}_elbow"])
    return L


def pose_from_angles(a, yaw, offsets):
    """Positions (T, 17, 3) around the root at the origin; the neck turns the head only."""
    L = angles_to_local(a, yaw)
    P = S.forward_kinematics(L, offsets)
    # head: turn nose and head top about the thorax (a neck the 17-joint tree lacks)
    G8 = np.einsum("...ab,...bc->...ac", L[:, 0], L[:, 7]) @ L[:, 8]
    neck = S.rotation("z", a["head_yaw"]) @ S.rotation("x", a["head_pitch"])
    Gn = G8 @ neck
    P[:, 9] = P[:, 8] + np.einsum("tab,b->ta", Gn, offsets[9])
    P[:, 10] = P[:, 9] + np.einsum("tab,b->ta", Gn, offsets[10])
    return P


def generate_sequence(subject, action, subaction, seconds, seed=0):
    """World positions (T, 17, 3) mm at 50 fps for one (subject, action, subaction)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; choose from {', '.join(ACTIONS)}")
    rng = _rng("seq", seed, subject, action, subaction)
    t = np.arange(int(round(seconds * FPS))) / FPS
    a, xy, yaw, seat = action_angles(action, t, rng, subject_style(subject))
    _clip(a)
    offsets = subject_body(subject)
    P = pose_from_angles(a, yaw, offsets)
    lowest = P[:, [3, 6], 2].min(axis=1)
    z = ANKLE_HEIGHT - lowest                 # feet on the floor
    if isinstance(seat, float):                # on a chair: pelvis at seat height + flesh
        z = np.maximum(seat + 0.1 * offsets[7, 2], z)
    elif isinstance(seat, tuple):              # sitting down on the floor: pelvis low
        w = seat[1]
        z = np.maximum(z, (1 - w) * z + w * (110 + 0.2 * offsets[7, 2]))
    P[..., 0] += xy[:, None, 0]
    P[..., 1] += xy[:, None, 1]
    P[..., 2] += z[:, None]
    return P
