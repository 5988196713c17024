"""``structnet predict``: a user's images, folders and videos in; ``poses.json``, ``poses.csv``
and pictures out (one PNG per image, an MP4 per video, ``sheet.png`` on request)."""
import csv
import io as _io
import os
import sys

import numpy as np

from structnet.errors import UserError
from structnet.estimate.inputs import expand, frame_count, items
from structnet.estimate.predict import Poses, Predictor
from structnet.geometry.skeleton import JOINTS

CHUNK = 128            # crops a network call
SHEET_MAX = 100        # inputs a contact sheet holds
UNITS = "mm, root-relative (pelvis at 0), camera frame: x right, y down, z away from the camera"


def run_predict(model, inputs, out, A=20, k=5, every=1, pose_set=None, sheet=False, pictures=True, mode=None):
    """Estimate the poses of every input; write OUT/poses.json, OUT/poses.csv and the
    pictures. Returns a summary dict."""
    from tqdm import tqdm
    from structnet.io import mark_dir, write_json, write_text
    sources = expand(inputs)
    predictor = Predictor(model, pose_set, mode)
    predictor.check(A, k)
    total = sum(1 if kind == "image" else -(-frame_count(p) // every) for kind, p in sources) or None
    names, files, frames, times, crops, parts = [], [], [], [], [], []
    bar = tqdm(total=total, desc="predict", unit="image", disable=os.environ.get("STRUCTNET_PROGRESS", "1") == "0")
    batch = []

    def flush():
        if batch:
            parts.append(predictor(np.stack([it.image for it in batch]), A, k))
            bar.update(len(batch))
            batch.clear()
    for it in items(sources, every, predictor.mean):
        names.append(it.name)
        files.append(it.path)
        frames.append(it.frame)
        times.append(it.time_s)
        crops.append(it.image)
        batch.append(it)
        if len(batch) == CHUNK:
            flush()
    flush()
    bar.close()
    poses = _concat(parts)
    meta = {"model": os.fspath(model), "pose_set": predictor.pose_set_path, "pose_set_size": len(predictor.poses_mm),
            "A": A, "top_k": k, "every": every, "joints": list(JOINTS), "units": UNITS}
    write_json(os.path.join(out, "poses.json"), {**meta, "records": records(poses, names, files, frames, times)})
    write_text(os.path.join(out, "poses.csv"), to_csv(poses, names, files, frames, times))
    written = ["poses.json", "poses.csv"]
    if pictures:
        written += _pictures(out, sources, poses, names, files, frames, times, crops)
    if sheet:
        if len(crops) > SHEET_MAX:
            print(f"predict: the sheet shows the first {SHEET_MAX} of {len(crops)} inputs", file=sys.stderr)
        from structnet.estimate.pictures import sheet as draw_sheet
        n = min(len(crops), SHEET_MAX)
        draw_sheet(crops[:n], poses.avg[:n], [f"{nm}  Avg({A})" for nm in names[:n]], os.path.join(out, "sheet.png"))
        written.append("sheet.png")
    mark_dir(out, "predict")
    return {"inputs": len(names), "out": out, "files": written}


def _concat(parts):
    return Poses(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                   ("max", "avg", "pred", "hypotheses", "scores", "index")), A=parts[0].A)


def records(poses, names, files, frames, times):
    """One JSON record an input: Max, Avg(A), Pred and the top-k hypotheses with scores."""
    out = []
    for i, name in enumerate(names):
        r = {"input": name, "file": files[i], "max": _r(poses.max[i]), f"avg({poses.A})": _r(poses.avg[i]),
             "pred": _r(poses.pred[i]),
             "hypotheses": [{"score": float(s), "pose_set_index": int(j), "pose": _r(h)}
                            for s, j, h in zip(poses.scores[i], poses.index[i], poses.hypotheses[i])]}
        if frames[i] is not None:
            r["frame"], r["time_s"] = frames[i], round(times[i], 6)
        out.append(r)
    return out


def _r(pose):
    return np.round(np.asarray(pose, np.float64), 3).tolist()


def to_csv(poses, names, files, frames, times):
    """A row per input and estimate (Max, Avg(A), Pred, hypothesis 1..k with its score):
    input, file, frame, time_s, estimate, score, then <joint>_x, _y, _z in mm."""
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["input", "file", "frame", "time_s", "estimate", "score"] +
               [f"{j}_{a}" for j in JOINTS for a in "xyz"])
    for i, name in enumerate(names):
        head = [name, files[i], "" if frames[i] is None else frames[i], "" if times[i] is None else round(times[i], 6)]
        rows = [("Max", "", poses.max[i]), (f"Avg({poses.A})", "", poses.avg[i]), ("Pred", "", poses.pred[i])]
        rows += [(f"hypothesis{h + 1}", f"{poses.scores[i, h]:.6g}", poses.hypotheses[i, h])
                 for h in range(poses.hypotheses.shape[1])]
        for est, score, p in rows:
            w.writerow(head + [est, score] + [f"{v:.3f}" for v in np.asarray(p).reshape(-1)])
    return buf.getvalue()


def _pictures(out, sources, poses, names, files, frames, times, crops):
    """A PNG per image (``<name>.png``), an MP4 per video (``<name>.mp4``), in OUT/pictures."""
    from tqdm import tqdm
    from structnet.estimate import pictures as pic
    folder = os.path.join(out, "pictures")
    os.makedirs(folder, exist_ok=True)
    written, used = [], set()
    quiet = os.environ.get("STRUCTNET_PROGRESS", "1") == "0"
    by_file = {}
    for i, f in enumerate(files):
        by_file.setdefault(f, []).append(i)
    for kind, path in sources:
        rows = by_file.get(path, [])
        stem = os.path.splitext(os.path.basename(path))[0]
        name, n = stem, 1
        while name in used:
            n += 1
            name = f"{stem}-{n}"
        used.add(name)
        if kind == "image":
            i = rows[0]
            pic.save_png(pic.figure(crops[i], poses.avg[i], f"{names[i]}  Avg({poses.A})"),
                         os.path.join(folder, name + ".png"))
            written.append(f"pictures/{name}.png")
        elif rows:
            t = [times[i] for i in rows]
            fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 25.0
            with tqdm(total=len(rows), desc=f"video {stem}", unit="frame", disable=quiet) as bar:
                pic.video([crops[i] for i in rows], [poses.avg[i] for i in rows],
                          [f"{names[i]}  t={times[i]:.2f}s" for i in rows], fps, os.path.join(folder, name + ".mp4"),
                          bar)
            written.append(f"pictures/{name}.mp4")
    return written
