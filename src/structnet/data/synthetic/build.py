"""Build the embedded default dataset: poses -> cameras -> rendered crops -> HDF5.

Poses come from the procedural generator (``structnet.data.synthetic.motion``) or from BVH motion
capture (``structnet.data.synthetic.bvh``); each (subject, action, subaction) sequence is seen by the
four Human3.6M cameras of its subject, every ``step``-th frame at 50 fps. Sequences are
rendered in parallel worker processes and written in order by the parent under a
temporary name, renamed when complete (``structnet.dataset.Writer``).
"""
import json
import multiprocessing as mp
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from structnet.geometry import camera as C
from structnet.data.synthetic import motion as M
from structnet.data.synthetic import render as R
from structnet.data.dataset import Writer, camera_tables
from structnet.data.posefile import write_pose_file
from structnet.errors import UserError
from structnet.interrupt import check_interrupt, worker_init
from structnet.io import cap_workers


@dataclass
class DataConfig:
    preset: str = "quick"
    seed: int = 0
    subjects_train: tuple = M.TRAIN_SUBJECTS
    subjects_test: tuple = M.TEST_SUBJECTS
    actions: tuple = M.ACTIONS
    subactions: tuple = (1, 2)
    seconds: float = 16.0          # length of each generated sequence
    step_train: int = 20           # every n-th 50 fps frame (20 -> 2.5 fps)
    step_test: int = 40
    pose_step: int = 5             # the pose set (poses.h5): the training sequences every n-th frame (5 -> 10 fps)
    cameras: tuple = (0, 1, 2, 3)
    noise: float = 0.015           # pixel noise sigma, in [0, 1] units
    source: str = "synthetic"      # synthetic | bvh
    bvh_dir: str = ""
    bvh_map: str = ""              # JSON {our joint: file joint} for a rig not detected (structnet.data.synthetic.rigs)
    bvh_unit: str = ""             # mm per file unit, or mm | cm | inch | cmu | m; "" = from the leg length
    bvh_performers: str = ""       # JSON {performer: [file-name patterns]} (structnet.data.synthetic.mocap)
    workers: int = 0               # 0 = one per CPU core


DATA_PRESETS = {
    # about 24,000 training and 4,800 test images: the default run on a 2-core CPU
    "quick": DataConfig(),
    # about 240,000 training and 48,000 test images, for a GPU
    "full": DataConfig(preset="full", seconds=40.0, step_train=5, step_test=10),
    # a few hundred images, for tests
    "tiny": DataConfig(preset="tiny", subjects_train=("S1", "S5"), subjects_test=("S9",),
                       actions=("Walking", "Sitting", "Phoning"), subactions=(1,), seconds=2.0,
                       step_train=10, step_test=20, cameras=(0, 2)),
}


def get_data_preset(name, **overrides):
    if name not in DATA_PRESETS:
        raise UserError(f"unknown data preset {name!r}: choose one of {', '.join(DATA_PRESETS)}")
    d = asdict(DATA_PRESETS[name])
    d.update({k: v for k, v in overrides.items() if v is not None})
    return DataConfig(**d)


def config_of(train_path):
    """The DataConfig a synthetic training set was built with (its ``settings``), for a pose
    set added to it later (``data --splits poses``): the same seed, source and sequences."""
    from structnet.data.dataset import Dataset
    ds = Dataset(train_path)
    try:
        settings = dict(ds.settings)
    finally:
        ds.close()
    if settings.get("source") not in ("synthetic", "bvh"):
        raise UserError(f"{train_path}: not a synthetic training set (source {settings.get('source')!r});"
                        " Human3.6M's pose set comes from --npz")
    preset = settings.get("preset") if settings.get("preset") in DATA_PRESETS else "quick"
    return get_data_preset(preset, **{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()
                                      if k in DataConfig.__dataclass_fields__})


def _subject_number(s):
    return int(s.lstrip("S"))


def _sequence(cfg, unit):
    subject, action, sub, poses = unit
    if poses is not None:
        return poses
    return M.generate_sequence(subject, action, sub, cfg.seconds, cfg.seed)


def render_unit(args):
    """Worker: render one sequence through its cameras -> dict of arrays."""
    cfg, unit, step, action_index = args
    subject, action, sub, _ = unit
    world = _sequence(cfg, unit)
    frames = np.arange(0, len(world), step)
    rng = np.random.default_rng([cfg.seed, _subject_number(subject), action_index, sub, 7])
    look = R.appearance(subject, cfg.seed)
    scale = M.SUBJECT_SCALE.get(subject, 1.0)
    out = {k: [] for k in ("images", "poses", "joints2d", "box", "camera", "frame")}
    for ci in cfg.cameras:
        cam = C.get_camera(subject, ci)
        bg = R.background(subject, ci, cfg.seed)
        light = R.random_light(rng)
        for fr in frames:
            pc = C.world_to_camera(world[fr], cam)
            img, px, box = R.render(pc, cam, bg, look, light, cfg.noise, rng, scale)
            out["images"].append(img)
            out["poses"].append(pc)
            out["joints2d"].append(px)
            out["box"].append(box)
            out["camera"].append(ci)
            out["frame"].append(fr)
    n = len(out["images"])
    res = {k: np.asarray(v) for k, v in out.items()}
    res.update(subject=np.full(n, _subject_number(subject)), action=np.full(n, action_index),
               subaction=np.full(n, sub))
    return res


def units_for(cfg, subjects):
    """The (subject, action, subaction, poses-or-None) sequences of a split, and for BVH
    the import report (``structnet.data.synthetic.mocap``; None for the procedural world)."""
    if cfg.source == "bvh":
        from structnet.data.synthetic import mocap
        return mocap.units(cfg, subjects, M.FPS, M.ANKLE_HEIGHT)
    return [(s, a, sub, None) for s in subjects for a in cfg.actions for sub in cfg.subactions], None


def _split_actions(cfg, units):
    return list(cfg.actions) if cfg.source != "bvh" else sorted({u[1] for u in units})


def build_pose_set(cfg, path):
    """The pose set searched at inference (``structnet.data.posefile``): the training subjects'
    sequences every ``cfg.pose_step``-th 50 fps frame (the images take every ``step_train``-th),
    seen by the same cameras, camera frame, mm. The paper's pose set is every training pose
    and its A = 500 is ~0.5% of it (Sec. 5.2); the quick world's 24,000 images would make
    A = 500 2% of the set, its 96,000 poses at 10 fps 0.5% (deviations.md 24). Returns stats."""
    if cfg.pose_step < 1:
        raise UserError(f"pose_step={cfg.pose_step}: must be a positive integer")
    t0 = time.perf_counter()
    units, _ = units_for(cfg, cfg.subjects_train)
    actions = _split_actions(cfg, units)
    poses, cols = [], {k: [] for k in ("subject", "action", "subaction", "camera", "frame")}
    for unit in units:
        check_interrupt()
        subject, action, sub, _ = unit
        world = _sequence(cfg, unit)
        frames = np.arange(0, len(world), cfg.pose_step)
        for ci in cfg.cameras:
            cam = C.get_camera(subject, ci)
            poses.append(C.world_to_camera(world[frames], cam))
            for k, v in (("subject", _subject_number(subject)), ("action", actions.index(action)),
                         ("subaction", sub), ("camera", ci)):
                cols[k].append(np.full(len(frames), v))
            cols["frame"].append(frames)
    poses = np.concatenate(poses)
    write_pose_file(path, poses, {k: np.concatenate(v) for k, v in cols.items()}, cfg.source, actions,
                    cfg.subjects_train, pose_step=int(cfg.pose_step), settings=json.dumps(asdict(cfg)))
    return {"poses": len(poses), "seconds": time.perf_counter() - t0, "path": os.fspath(path)}


def build(cfg, path, split, progress=None):
    """Render the ``split`` ('train' or 'test') of ``cfg`` into ``path``. Returns stats."""
    subjects = cfg.subjects_train if split == "train" else cfg.subjects_test
    step = cfg.step_train if split == "train" else cfg.step_test
    units, report = units_for(cfg, subjects)
    actions = _split_actions(cfg, units)
    jobs = [(cfg, u, step, actions.index(u[1])) for u in units]
    intr, ext = camera_tables(subjects)
    workers = cap_workers(cfg.workers, len(jobs))
    settings = asdict(cfg)
    settings["split"] = split
    t0 = time.perf_counter()
    # warm the renderer's JIT in the parent so forked workers inherit it
    render_unit((cfg, (subjects[0], actions[0], cfg.subactions[0], units[0][3]), 10 ** 9, 0))
    bar = None
    if progress is None:
        progress = os.environ.get("STRUCTNET_PROGRESS", "1") != "0"
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), desc=f"data {split}", unit="seq")
    n = 0
    with Writer(path, cfg.source, actions, subjects, settings, intr, ext) as w:
        ctx = mp.get_context("fork")
        with ctx.Pool(workers, initializer=worker_init) if workers > 1 else _Serial() as pool:
            for res in pool.imap(render_unit, jobs):
                check_interrupt()
                w.append(**res)
                n += len(res["images"])
                if bar:
                    bar.update(1)
                    bar.set_postfix(images=n, per_s=f"{n / (time.perf_counter() - t0):.0f}")
    if bar:
        bar.close()
    dt = time.perf_counter() - t0
    out = {"images": n, "seconds": dt, "images_per_s": n / dt, "path": os.fspath(path)}
    if report is not None:
        from structnet.io import write_json
        out["bvh"] = report["totals"]
        out["bvh_report"] = os.fspath(path)[:-3] + ".bvh.json"
        write_json(out["bvh_report"], report)
    return out


class _Serial:
    def imap(self, fn, jobs):
        return map(fn, jobs)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
