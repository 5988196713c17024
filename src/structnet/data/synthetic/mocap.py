"""BVH clips into the dataset's sequences (``data --source bvh``): performers into
subjects, rest poses dropped, 50 fps, and the actor kept inside the capture volume.

- **Performers**: one sub-folder of ``--bvh-dir`` per performer, or a performer map
  (``--bvh-performers``: JSON ``{performer: [file-name patterns]}``). A flat folder
  without a map names no performer: its clips are grouped by the style token of names
  like ``<set>_<motion>_<style>_<take>.bvh`` (Bandai Namco's naming), else one group per
  file. Groups go round-robin (ordered by a CRC of the name) to S1, S9, S5, S11, S6, S7,
  S8, so no performer (group) is in both training and test, and two groups already give
  both splits. A split that gets no clip is an error before anything is written.
- **Rest poses**: leading frames with both arms straight and horizontal (a T-pose, as
  CMU clips begin) are dropped.
- **Capture volume**: a clip is cut into segments, each moved on the floor so that every
  joint stays at least ``MIN_DEPTH_MM`` in front of every camera and the crop (the
  renderer's box around the joints) inside each camera's image; frames that cannot be
  kept, and segments under ``MIN_SEGMENT`` frames, are dropped and counted.
"""
import fnmatch
import os
import re
import zlib

import numpy as np

from structnet.geometry import camera as C
from structnet.errors import UserError

SPLIT_ORDER = ("S1", "S9", "S5", "S11", "S6", "S7", "S8")
MIN_DEPTH_MM = 1000.0
MIN_SEGMENT = 10              # frames at 50 fps
_STYLED = re.compile(r"^[^_]+_([^_]+)_([^_]+)_(\d+)$")


def clip_action(path):
    """Motion name from a file name: 'dataset-1_bow_active_001.bvh' -> 'bow'."""
    stem = os.path.splitext(os.path.basename(path))[0]
    parts = stem.split("_")
    return parts[1] if len(parts) >= 3 else stem


def find_clips(bvh_dir):
    """Relative paths of the .bvh files of a folder and of its sub-folders at any depth (a
    performer's folder may hold its clips in folders of its own), sorted. The same clip twice
    under two performers is an error (``same_clip_twice``)."""
    if not bvh_dir or not os.path.isdir(bvh_dir):
        raise UserError(f"--bvh-dir {bvh_dir!r} is not a directory of .bvh files")
    out = []
    for d, dirs, files in os.walk(bvh_dir):
        dirs.sort()
        rel = os.path.relpath(d, bvh_dir)
        out += [f if rel == "." else os.path.join(rel, f) for f in sorted(files)
                if f.lower().endswith(".bvh") and os.path.isfile(os.path.join(d, f))]
    if not out:
        raise UserError(f"{bvh_dir}: no .bvh files (--bvh-dir)")
    return out


def same_clip_twice(bvh_dir, clips, who):
    """A clip whose bytes appear under two performer groups would land in both the training
    and the test split: a one-line error naming both files."""
    import hashlib
    seen = {}
    for c in clips:
        with open(os.path.join(bvh_dir, c), "rb") as f:
            h = hashlib.sha1(f.read()).hexdigest()
        if h in seen and who[seen[h]] != who[c]:
            raise UserError(f"{os.path.join(bvh_dir, c)}: the same clip as {os.path.join(bvh_dir, seen[h])}, under"
                            f" another performer ({who[c]} and {who[seen[h]]}); keep one (two copies would put the"
                            " same motion in training and test)")
        seen.setdefault(h, c)


def _load_performer_map(path):
    from structnet.io import read_json
    pm = read_json(path, "performer map (--bvh-performers)")
    if not all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                                           for v in pm.values()):
        raise UserError(f"{path}: a performer map is a JSON object {{performer: [file-name patterns]}}"
                        " (--bvh-performers)")
    return pm


def performers(clips, performer_map=""):
    """{clip: performer or group} and how they were found."""
    if performer_map:
        pm = _load_performer_map(performer_map)
        out = {}
        for c in clips:
            hits = [p for p, pats in pm.items() if any(fnmatch.fnmatch(os.path.basename(c), x) or fnmatch.fnmatch(c, x)
                                                        for x in pats)]
            if len(hits) != 1:
                raise UserError(f"{performer_map}: clip {c} matches {len(hits)} performers, not 1 (--bvh-performers)")
            out[c] = hits[0]
        return out, "performer map"
    if any(os.sep in c for c in clips):
        loose = [c for c in clips if os.sep not in c]
        if loose:
            raise UserError(f"{loose[0]}: beside per-performer folders, a clip outside them; move it into its"
                            " performer's folder")
        return {c: c.split(os.sep)[0] for c in clips}, "one folder per performer"
    out = {}
    for c in clips:
        m = _STYLED.match(os.path.splitext(c)[0])
        out[c] = f"style:{m.group(2)}" if m else f"clip:{c}"
    return out, "performers unknown (flat folder): clips grouped by style, else one group per clip"


def assign(groups):
    """{group: subject}: round-robin over SPLIT_ORDER in the order of a CRC of the names."""
    order = sorted(set(groups), key=lambda g: (zlib.crc32(g.encode()), g))
    return {g: SPLIT_ORDER[i % len(SPLIT_ORDER)] for i, g in enumerate(order)}


def plan(cfg):
    """{clip: subject}, {clip: performer}, how performers were found."""
    clips = find_clips(cfg.bvh_dir)
    who, how = performers(clips, cfg.bvh_performers)
    same_clip_twice(cfg.bvh_dir, clips, who)
    subj = assign(who.values())
    return {c: subj[who[c]] for c in clips}, who, how


def check_splits(cfg, splits):
    """Before anything is written: every clip parses and fits a rig, and every split asked
    for gets at least one clip."""
    from structnet.data.synthetic import bvh
    from structnet.data.synthetic.rigs import check_unit, load_user_map
    subjects, who, how = plan(cfg)
    user_map = load_user_map(cfg.bvh_map) if cfg.bvh_map else None
    for clip in subjects:
        check_unit(bvh.parse(os.path.join(cfg.bvh_dir, clip)), user_map, cfg.bvh_unit or None)
    for split in splits:
        wanted = cfg.subjects_train if split == "train" else cfg.subjects_test
        if not any(s in wanted for s in subjects.values()):
            other = "train" if split == "test" else "test"
            raise UserError(f"{cfg.bvh_dir}: no clip lands in the {split} split ({len(set(who.values()))}"
                            f" performer group(s); {how}); add performers or a --bvh-performers map, or import"
                            f" it into one split only (--splits {other})")


def rest_frames(pos):
    """Leading frames in a T-pose (both arms straight, within 25 degrees of horizontal)."""
    def arm(s, e, w):
        u, v = pos[:, e] - pos[:, s], pos[:, w] - pos[:, e]
        nu, nv = np.linalg.norm(u, axis=-1), np.linalg.norm(v, axis=-1)
        flat = np.abs(u[:, 2]) / nu < np.sin(np.radians(25))
        straight = np.sum(u * v, -1) / (nu * nv) > np.cos(np.radians(30))
        return flat & straight
    t = arm(11, 12, 13) & arm(14, 15, 16)
    n = int(np.argmin(t)) if not t.all() else len(t)
    return n


def resample(pos, fps, fps_out):
    """(F, 17, 3) at fps -> at fps_out, linear interpolation."""
    t_src = np.arange(len(pos)) / fps
    t_dst = np.arange(0, t_src[-1] + 1e-9, 1 / fps_out)
    flat = pos.reshape(len(pos), -1)
    return np.stack([np.interp(t_dst, t_src, flat[:, k]) for k in range(flat.shape[1])], -1).reshape(-1, 17, 3)


def _inside(pos, offset, cams):
    """(F,) bool: with the pelvis moved by offset (2,) mm, every joint MIN_DEPTH_MM in front
    of every camera and the crop box inside every image."""
    from structnet.geometry.camera import joint_box
    w = pos.copy()
    w[..., :2] += offset
    ok = np.ones(len(pos), bool)
    for cam in cams:
        pc = C.world_to_camera(w, cam)
        ok &= (pc[..., 2] >= MIN_DEPTH_MM).all(-1)
        pc[..., 2] = np.maximum(pc[..., 2], 1.0)
        box = joint_box(C.project(pc, cam), pc[:, 0, 2], cam.f.mean())
        ok &= (box[:, 0] >= 0) & (box[:, 1] >= 0) & (box[:, 0] + box[:, 2] <= cam.res[0]) \
            & (box[:, 1] + box[:, 2] <= cam.res[1])
    return ok


def capture_segments(pos, subject, cameras):
    """Segments [(start, end, offset)] of pos (F, 17, 3) world mm kept in the capture
    volume of ``subject``'s cameras, and the number of frames dropped."""
    cams = [C.get_camera(subject, ci) for ci in cameras]
    segs, dropped, f0 = [], 0, 0
    F = len(pos)
    while f0 < F:
        offset = -pos[f0, 0, :2]
        ok = _inside(pos[f0:], offset, cams)
        if not ok[0]:
            dropped += 1
            f0 += 1
            continue
        end = f0 + (int(np.argmin(ok)) if not ok.all() else len(ok))
        for _ in range(2):                    # centre the segment's path: more of it fits
            offset = -(pos[f0:end, 0, :2].min(0) + pos[f0:end, 0, :2].max(0)) / 2
            ok = _inside(pos[f0:], offset, cams)
            if not ok[0]:
                break
            end = max(end, f0 + (int(np.argmin(ok)) if not ok.all() else len(ok)))
        offset_ok = _inside(pos[f0:end], offset, cams)
        if not offset_ok.all():               # the recentred path lost frames: keep the first fit
            offset = -pos[f0, 0, :2]
            ok = _inside(pos[f0:], offset, cams)
            end = f0 + (int(np.argmin(ok)) if not ok.all() else len(ok))
        if end - f0 < MIN_SEGMENT:
            dropped += end - f0
        else:
            segs.append((f0, end, offset))
        f0 = end
    return segs, dropped


def units(cfg, subjects, fps_out, ankle_height):
    """The (subject, action, subaction, poses (F, 17, 3) world mm) sequences of the clips
    that land in ``subjects``, and a report per clip (rig, unit, up axis, what was dropped)."""
    from structnet.data.synthetic import bvh
    from structnet.data.synthetic.rigs import load_user_map, to_h36m
    user_map = load_user_map(cfg.bvh_map) if cfg.bvh_map else None
    subject_of, who, how = plan(cfg)
    out, report, count = [], [], {}
    for clip, subject in subject_of.items():
        if subject not in subjects:
            continue
        m = bvh.parse(os.path.join(cfg.bvh_dir, clip))
        pos, info = to_h36m(m, user_map, cfg.bvh_unit or None)
        rest = rest_frames(pos)
        rec = {"clip": clip, "performer": who[clip], "subject": subject, **info, "frames": len(pos),
               "fps": 1 / m.frame_time, "rest_frames_dropped": rest}
        pos = pos[rest:]
        if len(pos) < 2:
            report.append({**rec, "segments": 0, "outside_volume_dropped": 0, "kept_frames_50fps": 0})
            continue
        pos = resample(pos, 1 / m.frame_time, fps_out)
        pos[..., 2] += ankle_height - pos[:, [3, 6], 2].min()
        segs, dropped = capture_segments(pos, subject, cfg.cameras)
        action = clip_action(clip)
        for a, b, offset in segs:
            seg = pos[a:b].copy()
            seg[..., :2] += offset
            count[(subject, action)] = count.get((subject, action), 0) + 1
            out.append((subject, action, count[(subject, action)], seg))
        report.append({**rec, "frames_50fps": len(pos), "segments": len(segs), "outside_volume_dropped": dropped,
                       "kept_frames_50fps": sum(b - a for a, b, _ in segs)})
    totals = {"clips": len(report), "performers": how,
              "rigs": {r: sum(1 for x in report if x["rig"] == r) for r in sorted({x["rig"] for x in report})},
              **{k: int(sum(x.get(k, 0) for x in report)) for k in
                 ("rest_frames_dropped", "outside_volume_dropped", "segments", "kept_frames_50fps")}}
    if not out:
        raise UserError(f"{cfg.bvh_dir}: no frame of the clips for {', '.join(subjects)} fits the capture volume")
    return out, {"totals": totals, "clips": report}
