"""data/synthetic/mocap.py: clips cut to the capture volume, performers and splits, a dataset from mixed rigs."""
import json
import os

import bvh_rigs
import numpy as np
import pytest

from structnet.data.synthetic import bvh, mocap, rigs
from structnet.errors import UserError


def test_walk_out_of_the_volume_is_cut_into_segments(tmp_path):
    """A 12 m straight walk: cut into segments, each moved so every joint stays 1 m in front
    of every camera and the crop inside each image."""
    from structnet.geometry import camera as C
    p = bvh_rigs.write(str(tmp_path / "w.bvh"), "mixamo", frames=400, walk_mm=(0, 0, 30.0), turn_deg=0)
    pos, _ = rigs.to_h36m(bvh.parse(p))
    segs, dropped = mocap.capture_segments(pos, "S1", (0, 1, 2, 3))
    assert len(segs) >= 2 and sum(b - a for a, b, _ in segs) + dropped == len(pos)
    for a, b, off in segs:
        w = pos[a:b].copy()
        w[..., :2] += off
        for ci in range(4):
            assert C.world_to_camera(w, C.get_camera("S1", ci))[..., 2].min() >= mocap.MIN_DEPTH_MM


def test_performers_and_splits(tmp_path):
    """One folder per performer: a performer's clips land in one subject; a split that gets
    no clip is an error before anything is written."""
    from structnet.data.synthetic.build import get_data_preset
    for who, rig in (("anna", "cmu"), ("ben", "mixamo"), ("carl", "biped")):
        (tmp_path / who).mkdir()
        for k in range(2):
            bvh_rigs.write(str(tmp_path / who / f"x_walk_{who}_{k:03d}.bvh"), rig)
    cfg = get_data_preset("quick", source="bvh", bvh_dir=str(tmp_path))
    subject_of, who, how = mocap.plan(cfg)
    assert how == "one folder per performer"
    by = {}
    for clip, s in subject_of.items():
        by.setdefault(who[clip], set()).add(s)
    assert all(len(s) == 1 for s in by.values()) and len(set().union(*by.values())) == 3
    mocap.check_splits(cfg, ["train", "test"])
    one = tmp_path / "only"
    one.mkdir()
    (one / "anna").mkdir()
    bvh_rigs.write(str(one / "anna" / "a.bvh"), "cmu")
    cfg1 = get_data_preset("quick", source="bvh", bvh_dir=str(one))
    with pytest.raises(UserError, match=r"no clip lands in the test split .* \(--splits train\)"):
        mocap.check_splits(cfg1, ["train", "test"])
    # a performer map for a flat folder
    flat = tmp_path / "flat"
    flat.mkdir()
    for k, n in enumerate(("a1.bvh", "a2.bvh", "b1.bvh")):
        bvh_rigs.write(str(flat / n), "cmu", turn_deg=2.0 + k)
    (tmp_path / "pm.json").write_text(json.dumps({"A": ["a*.bvh"], "B": ["b*.bvh"]}))
    cfg2 = get_data_preset("quick", source="bvh", bvh_dir=str(flat), bvh_performers=str(tmp_path / "pm.json"))
    subject_of, who, how = mocap.plan(cfg2)
    assert who == {"a1.bvh": "A", "a2.bvh": "A", "b1.bvh": "B"} and subject_of["a1.bvh"] == subject_of["a2.bvh"]
    # the same clip under two performers would be in training and test: refused, naming both
    (flat / "b2.bvh").write_bytes((flat / "a1.bvh").read_bytes())
    with pytest.raises(UserError, match=r"b2.bvh: the same clip as .*a1.bvh, under another performer \(B and A\)"):
        mocap.plan(cfg2)
    # clips in folders of a performer's folder are that performer's
    deep = tmp_path / "deep"
    (deep / "anna" / "day1").mkdir(parents=True)
    (deep / "ben").mkdir()
    bvh_rigs.write(str(deep / "anna" / "day1" / "a.bvh"), "cmu")
    bvh_rigs.write(str(deep / "ben" / "b.bvh"), "cmu", turn_deg=5.0)
    subject_of, who, _ = mocap.plan(get_data_preset("quick", source="bvh", bvh_dir=str(deep)))
    assert who == {os.path.join("anna", "day1", "a.bvh"): "anna", os.path.join("ben", "b.bvh"): "ben"}


def test_data_from_mixed_rigs(tmp_path, capsys):
    """`data --source bvh` on a folder of performers in different rigs, with no options."""
    from structnet.cli import main
    from structnet.data.dataset import Dataset
    src = tmp_path / "mocap"
    for who, rig in (("p1", "cmu"), ("p2", "mixamo"), ("p3", "hips-ab-chest"), ("p4", "biped")):
        (src / who).mkdir(parents=True)
        bvh_rigs.write(str(src / who / f"set_walk_{who}_001.bvh"), rig, frames=60)
    out = tmp_path / "d"
    assert main(["data", "--preset", "tiny", "--source", "bvh", "--bvh-dir", str(src), "--out", str(out),
                 "--workers", "1"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert {x["split"] for x in lines} == {"train", "poses", "test"}
    rep = json.load(open(out / "train.bvh.json"))
    assert rep["totals"]["performers"] == "one folder per performer"
    assert all(c["rig"] in bvh_rigs.RIGS for c in rep["clips"])
    ds = Dataset(out / "train.h5")
    assert len(ds) > 0 and np.isfinite(ds.poses).all()
    # the pose set of the same clips, every 5th frame where the images take every 10th
    from structnet.data.posefile import load_pose_set
    assert len(load_pose_set(out / "poses.h5")) >= 2 * len(ds) - 4 * 4


def test_whole_bandai_set_plans_and_keeps_the_actor_inside(bandai_dir):
    """Every clip of the shared Bandai set: detected, segmented, no crash; what is dropped
    is counted (`data --source bvh` on the whole set: README)."""
    from structnet.data.synthetic import motion as M
    from structnet.data.synthetic.build import get_data_preset
    cfg = get_data_preset("quick", source="bvh", bvh_dir=bandai_dir)
    mocap.check_splits(cfg, ["train", "test"])
    units, rep = mocap.units(cfg, M.TRAIN_SUBJECTS + M.TEST_SUBJECTS, M.FPS, M.ANKLE_HEIGHT)
    t = rep["totals"]
    assert t["clips"] == 174 and t["rigs"] == {"bandai": 174}
    assert t["kept_frames_50fps"] + t["outside_volume_dropped"] == sum(c["frames_50fps"] for c in rep["clips"])
    assert t["outside_volume_dropped"] < 0.01 * t["kept_frames_50fps"]
