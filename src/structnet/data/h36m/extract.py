"""Extract Human3.6M into the project's dataset schema: parallel, resumable, fault-tolerant.

``extract(cfg, out_dir)`` writes ``out_dir/train.h5`` (S1, S5, S6, S7, S8) and
``out_dir/test.h5`` (S9, S11), protocol 1, all four cameras. Each unit (subject, sequence,
camera) is processed by a worker process into a shard ``out_dir/work/<split>/<unit>.h5``,
written under a temporary name and renamed when complete; a rerun skips the shards that
exist, so an interrupted extraction resumes where it stopped. When every unit of a split
is done, its shards are merged in a fixed order into ``<split>.h5`` (atomic as well) and
the shards are deleted (``keep_work`` keeps them).

Per frame: the 17 joints of ``D3_Positions_mono`` (camera frame, mm), the square crop
(side = the longer side of the box, same centre) around the ``ground_truth_bb`` mask's
box resized to 128 x 128 (Sec. 5.1), the joints projected into the crop. Faults are
reported and never stop the run: a corrupt or unreadable video or CDF (the unit is
skipped), a video with more or fewer frames than the pose file (the common prefix is
used), a missing mask file or an empty mask (the box comes from the projected joints with
a 180 mm margin, as in the synthetic world). ``out_dir/extraction.json`` lists them all.
"""
import json
import multiprocessing as mp
import os
import shutil
import time
from dataclasses import asdict, dataclass

import h5py
import numpy as np

from structnet.geometry import camera as C
from structnet.data.dataset import CROP, FIELDS, Writer, camera_tables
from structnet.errors import UserError
from structnet.data.h36m import formats, layout, names
from structnet.data.h36m.formats import SequenceError
from structnet.geometry.camera import joint_box
from structnet.interrupt import check_interrupt, worker_init
from structnet.io import atomic_write, cap_workers, read_json, write_json

SPLITS = {"train": names.TRAIN_SUBJECTS, "test": names.TEST_SUBJECTS}


@dataclass
class ExtractConfig:
    root: str
    layout: str = "auto"            # auto | official | fetch
    every: int = 1                  # keep every n-th frame (official: of the 50 fps video; fetch: of the frames present)
    actions: tuple = names.ACTIONS  # the paper's Table 1 uses 6: Walking,Discussion,Eating,TakingPhoto,WalkingDog,Greeting
    workers: int = 0                # processes; 0 = one per core
    margin_mm: float = 180.0        # margin of boxes made from the joints (no mask)
    keep_work: bool = False         # keep the per-unit shards after merging
    retry_failed: bool = False      # redo units whose shard records a failure
    skip_known_corrupt: bool = True # S11 Directions.54138969

    def check(self):
        if self.layout not in ("auto", "official", "fetch"):
            raise UserError(f"layout {self.layout!r}: choose auto, official or fetch")
        if int(self.every) < 1:
            raise UserError(f"every={self.every}: must be a positive integer")
        if not self.actions:
            raise UserError("no actions selected")


def _empty():
    return {k: np.zeros((0,) + shape, dt) for k, (dt, shape) in FIELDS.items()}


def _pack(unit, rows):
    """rows: list of (frame, image, pose17, joints2d, box) -> the schema's arrays."""
    if not rows:
        return _empty()
    fr, img, pose, j2d, box = zip(*rows)
    n = len(rows)
    return {"images": np.stack(img), "poses": np.stack(pose).astype(np.float32),
            "joints2d": np.stack(j2d).astype(np.float32), "box": np.stack(box).astype(np.float32),
            "subject": np.full(n, names.subject_number(unit.subject), np.int16),
            "action": np.full(n, names.ACTIONS.index(unit.action), np.int16),
            "subaction": np.full(n, unit.subaction, np.int16), "camera": np.full(n, unit.camera, np.int16),
            "frame": np.asarray(fr, np.int32)}


def _crop_joints(j2d, box):
    return (j2d - box[:2]) * (CROP / box[2])


def process_official(unit, cam, every, margin_mm):
    """One official unit -> (arrays, problems). Raises SequenceError when nothing is usable."""
    problems = []
    poses = formats.read_pose_cdf(unit.pose)[:, list(names.JOINTS_17)].astype(np.float64)
    n_pose = len(poses)
    boxes = None
    if os.path.exists(unit.mask):
        try:
            boxes = formats.read_mask_boxes(unit.mask)
        except SequenceError as e:
            problems.append(f"{e}; boxes from the joints")
    else:
        problems.append(f"{unit.mask}: missing mask file; boxes from the joints")
    if not os.path.exists(unit.video):
        raise SequenceError(f"{unit.video}: missing video")
    video = formats.Video(unit.video)
    rows, empty_masks, behind = [], 0, 0
    for i, get in video:
        if i >= n_pose or i % every:
            continue
        p = poses[i]
        if np.any(p[:, 2] <= 0):
            behind += 1
            continue
        j2d = C.project(p, cam)
        if boxes is not None and i < len(boxes) and np.all(np.isfinite(boxes[i])):
            box = formats.square_box(boxes[i])
        else:
            if boxes is not None:
                empty_masks += 1
            box = np.round(joint_box(j2d, p[0, 2], cam.f.mean(), margin_mm))
        rows.append((i, formats.crop(get(), box), p, _crop_joints(j2d, box), box))
    n_video = video.count
    if video.error:
        problems.append(f"{unit.video}: decoding stopped after {n_video} frames ({video.error})")
    if n_video == 0:
        raise SequenceError(f"{unit.video}: no frame could be decoded" + (f" ({video.error})" if video.error else ""))
    if n_video != n_pose:
        problems.append(f"{unit.video}: {n_video} video frames, {n_pose} poses in {os.path.basename(unit.pose)}; "
                        f"used the first {min(n_video, n_pose)}")
    if boxes is not None:
        n_common = min(n_video, n_pose)
        if len(boxes) < n_common:
            problems.append(f"{unit.mask}: {len(boxes)} masks for {n_common} frames; boxes from the joints after")
        if empty_masks:
            problems.append(f"{unit.mask}: {empty_masks} empty masks; boxes from the joints there")
    if behind:
        problems.append(f"{unit.pose}: {behind} frames with joints behind the camera, skipped")
    return _pack(unit, rows), problems


def process_fetch(unit, cam, every, margin_mm):
    """One h36m-fetch unit (annot.h5 rows of one camera + its JPEG frames) -> (arrays, problems)."""
    from PIL import Image
    problems = list(unit.notes)
    if unit.camera < 0:
        raise SequenceError(problems[0] if problems else f"{unit.pose}: unreadable")
    try:
        with h5py.File(unit.pose, "r") as f:
            cams = f["camera"][()].astype(np.int64)
            sel = np.flatnonzero(cams == int(names.CAMERA_IDS[unit.camera]))
            p3 = f["pose/3d"][()][sel]
            p2 = f["pose/2d"][()][sel]
            frames = f["frame"][()][sel].astype(np.int64)
            intr_key = f"intrinsics/{names.CAMERA_IDS[unit.camera]}"
            focal = float(np.mean(f[intr_key][()][:2])) if intr_key in f else float(cam.f.mean())
    except (OSError, KeyError) as e:
        raise SequenceError(f"{unit.pose}: unreadable annot.h5 ({e})") from None
    if p3.shape[1:] != (32, 3) or p2.shape[1:] != (32, 2):
        raise SequenceError(f"{unit.pose}: pose/3d {p3.shape}, pose/2d {p2.shape}; expected (N,32,3), (N,32,2)")
    keep = np.arange(0, len(sel), every)
    rows, missing = [], []
    for r in keep:
        p = p3[r][list(names.JOINTS_17)].astype(np.float64)
        j2d = p2[r][list(names.JOINTS_17)].astype(np.float64)
        path = os.path.join(unit.video, f"img_{frames[r]:06d}.jpg")
        try:
            with Image.open(path) as im:
                frame = np.asarray(im.convert("RGB"))
        except FileNotFoundError:
            missing.append(path)
            continue
        except OSError as e:
            problems.append(f"{path}: unreadable JPEG ({e}); frame skipped")
            continue
        if not (np.all(np.isfinite(p)) and np.all(np.isfinite(j2d))) or p[0, 2] <= 0:
            problems.append(f"{unit.pose}: frame {frames[r]} has invalid joints; skipped")
            continue
        box = np.round(joint_box(j2d, p[0, 2], focal, margin_mm))
        rows.append((frames[r] - 1, formats.crop(frame, box), p, _crop_joints(j2d, box), box))
    if missing:
        problems.append(f"{unit.video}: {len(missing)} of {len(keep)} frame images missing "
                        f"(first {os.path.basename(missing[0])}); those frames skipped")
    if not rows:
        raise SequenceError(f"{unit.video}: no usable frame")
    return _pack(unit, rows), problems


def _write_shard(path, arrays, problems, seconds, failed=None):
    def write(tmp):
        with h5py.File(tmp, "w") as f:
            for k, a in arrays.items():
                f.create_dataset(k, data=a)
            f.attrs["problems"] = json.dumps(problems)
            f.attrs["seconds"] = seconds
            f.attrs["failed"] = failed or ""
    atomic_write(path, write)


def _task(args):
    """Worker: one unit -> its shard. Returns (key, images, problems, failed)."""
    unit, cam, every, margin_mm, kind, path = args
    t0 = time.perf_counter()
    fn = process_official if kind == "official" else process_fetch
    try:
        arrays, problems = fn(unit, cam, every, margin_mm)
        failed = ""
    except SequenceError as e:
        arrays, problems, failed = _empty(), [f"{e}; sequence skipped"], str(e)
    _write_shard(path, arrays, problems, time.perf_counter() - t0, failed)
    return unit.key, len(arrays["images"]), problems, failed


def _read_shard(path):
    with h5py.File(path, "r") as f:
        arrays = {k: f[k][()] for k in FIELDS}
        return arrays, json.loads(f.attrs["problems"]), str(f.attrs["failed"])


def _cameras(kind, root, problems):
    """{(subject, cam index): Camera} from metadata.xml (official) or the bundled calibration."""
    md = None
    path = os.path.join(root, "metadata.xml")
    if kind == "official" and os.path.exists(path):
        from structnet.data.h36m.metadata import Metadata
        md = Metadata(path)
        cams = {(s, i): md.camera(s, i) for s in names.SUBJECTS for i in range(4)}
    else:
        if kind == "official":
            problems.append({"unit": "-", "problem": f"{path}: missing; the bundled calibration (the same "
                             "numbers, as tabulated by VideoPose3D) is used"})
        cams = {(s, i): C.get_camera(s, i) for s in names.SUBJECTS for i in range(4)}
    return md, cams


def _settings_guard(work, settings):
    """Refuse to mix shards made with other settings into one dataset."""
    path = os.path.join(work, "settings.json")
    keyed = {k: settings[k] for k in ("root", "layout", "every", "margin_mm")}
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        if old != keyed:
            diff = ", ".join(f"{k}: {old.get(k)!r} -> {v!r}" for k, v in keyed.items() if old.get(k) != v)
            raise UserError(f"{path}: the unfinished extraction here used other settings ({diff}); "
                            "rerun with the same ones or delete that directory")
    else:
        os.makedirs(work, exist_ok=True)
        write_json(path, keyed)


def _same_extraction(path, settings):
    """A split already extracted into ``path`` must come from the same release and settings:
    else re-running with another --every would claim a frame step its data does not have."""
    from structnet.data.dataset import Dataset
    ds = Dataset(path)
    have = dict(ds.settings)
    ds.close()
    keys = ("root", "layout", "every", "margin_mm", "actions")
    diff = [f"{k} {have.get(k)!r} there, {settings.get(k)!r} asked" for k in keys if have.get(k) != settings.get(k)]
    if diff:
        raise UserError(f"{path}: extracted with other settings ({'; '.join(diff)}); choose another --out"
                        " (or delete it to extract again)")


def extract(cfg, out_dir, splits=("train", "test"), progress=True):
    """Extract ``splits`` of the tree ``cfg.root`` into ``out_dir``; returns the summary dict."""
    cfg.check()
    root = os.path.abspath(cfg.root)
    kind = layout.detect(root)
    if cfg.layout not in ("auto", kind):
        raise UserError(f"{root}: holds the {kind} layout, not the {cfg.layout} one "
                        f"(expected {layout.OFFICIAL_HINT if cfg.layout == 'official' else layout.FETCH_HINT})")
    settings = {**asdict(cfg), "root": root, "layout": kind, "actions": list(cfg.actions)}
    t0 = time.perf_counter()
    summary = {"root": root, "layout": kind, "every": cfg.every, "actions": list(cfg.actions), "splits": {}}
    problems = []
    report = os.path.join(out_dir, "extraction.json")
    done = [sp for sp in splits if os.path.exists(os.path.join(out_dir, f"{sp}.h5"))]
    for sp in done:                      # an extraction there: the same settings, or another --out
        _same_extraction(os.path.join(out_dir, f"{sp}.h5"), settings)
    earlier = read_json(report, "extraction report") if os.path.exists(report) else None
    if len(done) == len(splits) and earlier is not None:
        print(f"{out_dir}: {', '.join(done)} already extracted with these settings; left as they are", flush=True)
        return earlier
    md, cams = _cameras(kind, root, problems)
    work_root = os.path.join(out_dir, "work")
    for split in splits:
        if split not in SPLITS:
            raise UserError(f"unknown split {split!r}: train or test")
        subjects = SPLITS[split]
        target = os.path.join(out_dir, f"{split}.h5")
        if os.path.exists(target):
            summary["splits"][split] = (earlier or {}).get("splits", {}).get(split) or {"status": "exists, kept",
                                                                                       "path": target}
            problems.extend(p for p in (earlier or {}).get("problems", []) if p.get("split") == split)
            continue
        if kind == "official":
            units, skipped = layout.official_units(root, subjects, cfg.actions, md)
        else:
            units, skipped = layout.fetch_units(root, subjects, cfg.actions)
        for s in skipped:
            problems.append({"unit": s, "problem": "not a sequence of the 15 actions or the 4 cameras; ignored", "split": split})
        kept = []
        for u in units:
            reason = names.KNOWN_CORRUPT_VIDEOS.get((u.subject, u.stem)) if kind == "official" else None
            if reason and cfg.skip_known_corrupt:
                problems.append({"unit": u.key, "problem": f"{u.video}: {reason}", "split": split})
            else:
                kept.append(u)
        if not kept:
            raise UserError(f"{root}: no sequences of {', '.join(subjects)} for the chosen actions "
                            f"({layout.OFFICIAL_HINT if kind == 'official' else layout.FETCH_HINT})")
        work = os.path.join(work_root, split)
        _settings_guard(work, settings)
        shard = {u.key: os.path.join(work, f"{u.key}.h5") for u in kept}
        pending = []
        for u in kept:
            p = shard[u.key]
            if os.path.exists(p) and cfg.retry_failed:
                try:
                    if _read_shard(p)[2]:
                        os.remove(p)
                except (OSError, KeyError):
                    os.remove(p)
            if not os.path.exists(p):
                pending.append(u)
        stats = _run_units(pending, cams, cfg, kind, shard, split, progress)
        # merge in a fixed order (subject, action, subaction, camera)
        kept.sort(key=lambda u: (names.subject_number(u.subject), names.ACTIONS.index(u.action), u.subaction, u.camera))
        present = set()
        intr, ext = camera_tables(list(subjects), lambda s, i: cams[(s, i)])
        n, failed = 0, 0
        with Writer(target, "h36m", names.ACTIONS, subjects, {**settings, "split": split}, intr, ext) as w:
            for u in kept:
                try:
                    arrays, probs, fail = _read_shard(shard[u.key])
                except (OSError, KeyError) as e:
                    raise UserError(f"{shard[u.key]}: unreadable shard ({e}); delete it and rerun") from None
                problems.extend({"unit": u.key, "problem": p, "split": split} for p in probs)
                failed += bool(fail)
                if len(arrays["images"]):
                    present.update(int(a) for a in np.unique(arrays["action"]))
                    w.append(**arrays)
                    n += len(arrays["images"])
            if n == 0:
                raise UserError(f"{root}: no usable frame in the {split} split; see the problems above")
        if not cfg.keep_work:
            shutil.rmtree(work, ignore_errors=True)
        summary["splits"][split] = {"units": len(kept), "failed": failed, "images": n, "path": target,
                                    "actions_present": sorted({names.ACTIONS[i] for i in present}),
                                    "seconds_units": stats["seconds"]}
    summary["problems"] = problems
    summary["seconds"] = time.perf_counter() - t0
    write_json(os.path.join(out_dir, "extraction.json"), summary)
    if os.path.isdir(work_root) and not os.listdir(work_root):
        os.rmdir(work_root)
    return summary


def _run_units(pending, cams, cfg, kind, shard, split, progress):
    t0 = time.perf_counter()
    jobs = [(u, cams[(u.subject, max(u.camera, 0))], int(cfg.every), cfg.margin_mm, kind, shard[u.key])
            for u in pending]
    workers = cap_workers(cfg.workers, len(jobs))
    bar = None
    if progress and jobs:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), desc=f"h36m {split}", unit="seq",
                   disable=os.environ.get("STRUCTNET_PROGRESS", "1") == "0")
    images = 0
    if jobs:
        if workers > 1:
            pool = mp.get_context("fork").Pool(workers, initializer=worker_init)
            it = pool.imap_unordered(_task, jobs)
        else:
            pool, it = None, map(_task, jobs)
        try:
            for key, n, probs, failed in it:
                check_interrupt()
                images += n
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(images=images, per_s=f"{images / (time.perf_counter() - t0):.0f}")
                    if failed:
                        bar.write(f"h36m: {key}: {failed}")
        except BaseException:
            if pool is not None:
                pool.terminate()
            raise
        finally:
            if pool is not None:
                pool.close()
                pool.join()
    if bar is not None:
        bar.close()
    return {"seconds": time.perf_counter() - t0, "images": images}
