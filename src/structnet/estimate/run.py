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
    done, parts = [], []                  # every Item (crops kept for the pictures), Poses per chunk
    bar = tqdm(total=total, desc="predict", unit="image", disable=os.environ.get("STRUCTNET_PROGRESS", "1") == "0")

    def flush(start):
        """Estimate done[start:]; the index after it."""
        if start < len(done):
            parts.append(predictor(np.stack([it.image for it in done[start:]]), A, k))
            bar.update(len(done) - start)
        return len(done)
    start = 0
    for it in items(sources, every, predictor.mean):
        done.append(it)
        if len(done) - start == CHUNK:
            start = flush(start)
    flush(start)
    bar.close()
    poses = _concat(parts)
    meta = {"model": os.fspath(model), "pose_set": predictor.pose_set_path, "pose_set_size": len(predictor.poses_mm),
            "A": A, "top_k": k, "every": every, "joints": list(JOINTS), "units": UNITS}
    write_json(os.path.join(out, "poses.json"), {**meta, "records": records(poses, done)})
    write_text(os.path.join(out, "poses.csv"), to_csv(poses, done))
    written = ["poses.json", "poses.csv"]
    if pictures:
        written += _pictures(out, sources, poses, done)
    if sheet:
        if len(done) > SHEET_MAX:
            print(f"predict: the sheet shows the first {SHEET_MAX} of {len(done)} inputs", file=sys.stderr)
        from structnet.estimate.pictures import sheet as draw_sheet
        shown = done[:SHEET_MAX]
        draw_sheet([it.image for it in shown], poses.avg[:len(shown)], [f"{it.name}  Avg({A})" for it in shown],
                   os.path.join(out, "sheet.png"))
        written.append("sheet.png")
    mark_dir(out, "predict")
    return {"inputs": len(done), "out": out, "files": written}


def _concat(parts):
    return Poses(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                   ("max", "avg", "pred", "hypotheses", "scores", "index")), A=parts[0].A)


def records(poses, its):
    """One JSON record an input (``Item``): Max, Avg(A), Pred and the top-k hypotheses with scores."""
    out = []
    for i, it in enumerate(its):
        r = {"input": it.name, "file": it.path, "max": _r(poses.max[i]), f"avg({poses.A})": _r(poses.avg[i]),
             "pred": _r(poses.pred[i]),
             "hypotheses": [{"score": float(s), "pose_set_index": int(j), "pose": _r(h)}
                            for s, j, h in zip(poses.scores[i], poses.index[i], poses.hypotheses[i])]}
        if it.frame is not None:
            r["frame"], r["time_s"] = it.frame, round(it.time_s, 6)
        out.append(r)
    return out


def _r(pose):
    return np.round(np.asarray(pose, np.float64), 3).tolist()


def to_csv(poses, its):
    """A row per input and estimate (Max, Avg(A), Pred, hypothesis 1..k with its score):
    input, file, frame, time_s, estimate, score, then <joint>_x, _y, _z in mm."""
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["input", "file", "frame", "time_s", "estimate", "score"] +
               [f"{j}_{a}" for j in JOINTS for a in "xyz"])
    for i, it in enumerate(its):
        head = [it.name, it.path, "" if it.frame is None else it.frame, "" if it.time_s is None else round(it.time_s, 6)]
        rows = [("Max", "", poses.max[i]), (f"Avg({poses.A})", "", poses.avg[i]), ("Pred", "", poses.pred[i])]
        rows += [(f"hypothesis{h + 1}", f"{poses.scores[i, h]:.6g}", poses.hypotheses[i, h])
                 for h in range(poses.hypotheses.shape[1])]
        for est, score, p in rows:
            w.writerow(head + [est, score] + [f"{v:.3f}" for v in np.asarray(p).reshape(-1)])
    return buf.getvalue()


def _pictures(out, sources, poses, its):
    """A PNG per image (``<name>.png``), an MP4 per video (``<name>.mp4``), in OUT/pictures."""
    from tqdm import tqdm
    from structnet.estimate import pictures as pic
    folder = os.path.join(out, "pictures")
    os.makedirs(folder, exist_ok=True)
    written, used = [], set()
    quiet = os.environ.get("STRUCTNET_PROGRESS", "1") == "0"
    by_file = {}
    for i, it in enumerate(its):
        by_file.setdefault(it.path, []).append(i)
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
            pic.save_png(pic.figure(its[i].image, poses.avg[i], f"{its[i].name}  Avg({poses.A})"),
                         os.path.join(folder, name + ".png"))
            written.append(f"pictures/{name}.png")
        elif rows:
            t = [its[i].time_s for i in rows]
            fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 25.0
            with tqdm(total=len(rows), desc=f"video {stem}", unit="frame", disable=quiet) as bar:
                pic.video([its[i].image for i in rows], [poses.avg[i] for i in rows],
                          [f"{its[i].name}  t={its[i].time_s:.2f}s" for i in rows], fps,
                          os.path.join(folder, name + ".mp4"), bar)
            written.append(f"pictures/{name}.mp4")
    return written
