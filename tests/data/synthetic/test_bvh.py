import os

import numpy as np
import pytest

from structnet.data.synthetic import bvh
from structnet.geometry import skeleton as S
from structnet.errors import UserError

# a two-joint chain with per-joint position channels and a ZXY rotation order
TINY = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Knee
  {
    OFFSET 0 -40 0
    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -40 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.02
1 90 2 0 0 0 0 -45 0 0 0 0
1 90 2 90 0 0 0 -45 0 0 0 0
"""


def test_parse_and_channels(tmp_path):
    p = tmp_path / "tiny.bvh"
    p.write_text(TINY)
    m = bvh.parse(p)
    assert [j.name for j in m.joints] == ["Hips", "Knee"] and m.frame_time == 0.02
    P, R = bvh.global_transforms(m)
    np.testing.assert_allclose(P[0, 0], [1, 90, 2])
    np.testing.assert_allclose(P[0, 1], [1, 45, 2])          # the position channel replaces the offset
    np.testing.assert_allclose(P[1, 1], [1 + 45, 90, 2], atol=1e-9)   # hips turned 90 deg about z
    np.testing.assert_allclose(bvh.global_transforms(m, rest=True)[0][0, 1], [0, -40, 0])


@pytest.mark.parametrize("text,msg", [("HIERARCHY\nROOT a\n{\n", "not a complete BVH"),
                                      (TINY.replace("CHANNELS 6 X", "CHANNELS 6 Q"), "bad CHANNELS"),
                                      (TINY.replace("Frames: 2", "Frames: 3"), "MOTION has")])
def test_bad_files(tmp_path, text, msg):
    p = tmp_path / "bad.bvh"
    p.write_text(text)
    with pytest.raises(UserError, match=msg):
        bvh.parse(p)
    with pytest.raises(UserError, match="cannot read"):
        bvh.parse(tmp_path / "missing.bvh")


def test_bandai_clip_gives_human_proportions(shared_dir):
    path = os.path.join(shared_dir, "data", "bandai-motion-1", "dataset-1_walk_normal_001.bvh")
    P, fps = bvh.load(path)           # the rig (bandai), unit and up axis detected
    assert abs(fps - 30) < 0.01 and P.shape[1:] == (17, 3)
    L = S.bone_lengths(P).mean(0)
    bone = dict(zip(S.JOINTS[1:], L))
    assert 330 < bone["Rknee"] < 520 and 330 < bone["Rankle"] < 520           # thigh, shin
    assert 200 < bone["Lelbow"] < 350 and 180 < bone["Lwrist"] < 320          # upper arm, forearm
    assert abs(bone["Rknee"] - bone["Lknee"]) < 0.05 * bone["Rknee"]
    standing = P[:, 10, 2] - P[:, [3, 6], 2].min(1)
    assert 1200 < standing.max() < 2000                                       # head top above the feet, mm
    # the face looks where the actor walks
    walk = P[-1, 0, :2] - P[0, 0, :2]
    face = (P[:, 9, :2] - P[:, 8, :2]).mean(0)
    assert np.dot(walk, face) / np.linalg.norm(walk) / np.linalg.norm(face) > 0.8


# ------------------------------------------------------------------ rigs (structnet.rigs)
import json  # noqa: E402

import bvh_rigs  # noqa: E402
from structnet.data.synthetic import mocap, rigs  # noqa: E402


@pytest.mark.parametrize("rig", sorted(bvh_rigs.RIGS))
def test_rig_imports_with_no_options(tmp_path, rig):
    """Each rig's exact format: detected, its unit and up axis found, bones as the file's own
    (within 10%), the head top above the shoulders, frames per second kept."""
    p = bvh_rigs.write(str(tmp_path / f"{rig}.bvh"), rig)
    m = bvh.parse(p)
    pos, info = rigs.to_h36m(m)
    spec = bvh_rigs.RIGS[rig]
    assert info["rig"] == rig and info["up"] == "+" + spec["up"]
    assert abs(info["mm_per_unit"] - spec["unit"]) < 1e-9
    assert abs(1 / m.frame_time - spec["fps"]) < 1e-3
    L = dict(zip(S.JOINTS[1:], S.bone_lengths(pos).mean(0)))
    got = {"thigh": L["Lknee"], "shin": L["Lankle"], "upper_arm": L["Lelbow"]}
    for bone, want in bvh_rigs.bone_lengths_mm().items():
        assert abs(got[bone] / want - 1) < 0.10, (bone, got[bone], want)
    assert np.all(pos[:, 10, 2] > pos[:, [11, 14], 2].max(1))             # head top above the shoulders
    assert np.all(pos[:, 9, 2] > pos[:, 8, 2])                             # nose above the thorax
    # z up and not mirrored: the performer's left is to the left of where they face
    fwd = np.cross(pos[1, 8] - pos[1, 0], pos[1, 1] - pos[1, 4])
    left = pos[1, 4] - pos[1, 1]
    assert np.dot(np.cross(fwd, left), [0, 0, 1]) > 0


def test_tpose_at_the_start_is_dropped(tmp_path):
    pos, _ = rigs.to_h36m(bvh.parse(bvh_rigs.write(str(tmp_path / "c.bvh"), "cmu")))
    assert mocap.rest_frames(pos) == 1
    pos, _ = rigs.to_h36m(bvh.parse(bvh_rigs.write(str(tmp_path / "m.bvh"), "mixamo")))
    assert mocap.rest_frames(pos) == 0


def test_user_map_and_unit_override(tmp_path):
    p = bvh_rigs.write(str(tmp_path / "b.bvh"), "bandai")
    text = open(p).read().replace("UpperLeg_", "Thigh_").replace("Shoulder_", "Clav_")
    q = tmp_path / "renamed.bvh"
    q.write_text(text)
    with pytest.raises(UserError, match="renamed.bvh: no known rig"):
        rigs.to_h36m(bvh.parse(q))
    mp = {k: v.replace("UpperLeg_", "Thigh_") for k, v in rigs.RIGS["bandai"].items() if not k.startswith("_")}
    (tmp_path / "map.json").write_text(json.dumps(mp))
    user = rigs.load_user_map(str(tmp_path / "map.json"))
    pos, info = rigs.to_h36m(bvh.parse(q), user)
    assert info["rig"] == "user map" and info["unit"] == "cm"
    pos2, info2 = rigs.to_h36m(bvh.parse(q), user, unit="20")
    np.testing.assert_allclose(S.bone_lengths(pos2)[:, 1], 2 * S.bone_lengths(pos)[:, 1], rtol=1e-6)
    (tmp_path / "bad.json").write_text('{"pelvis": "Hips"}')
    with pytest.raises(UserError, match="bad.json: a joint map"):
        rigs.load_user_map(str(tmp_path / "bad.json"))
    with pytest.raises(UserError, match="--bvh-unit"):
        rigs.unit_scale(1.0, unit="furlong")


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
    with pytest.raises(UserError, match="no clip lands in the test split"):
        mocap.check_splits(cfg1, ["train", "test"])
    # a performer map for a flat folder
    flat = tmp_path / "flat"
    flat.mkdir()
    for n in ("a1.bvh", "a2.bvh", "b1.bvh"):
        bvh_rigs.write(str(flat / n), "cmu")
    (tmp_path / "pm.json").write_text(json.dumps({"A": ["a*.bvh"], "B": ["b*.bvh"]}))
    cfg2 = get_data_preset("quick", source="bvh", bvh_dir=str(flat), bvh_performers=str(tmp_path / "pm.json"))
    subject_of, who, how = mocap.plan(cfg2)
    assert who == {"a1.bvh": "A", "a2.bvh": "A", "b1.bvh": "B"} and subject_of["a1.bvh"] == subject_of["a2.bvh"]


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
    assert {x["split"] for x in lines} == {"train", "test"}
    rep = json.load(open(out / "train.bvh.json"))
    assert rep["totals"]["performers"] == "one folder per performer"
    assert all(c["rig"] in bvh_rigs.RIGS for c in rep["clips"])
    ds = Dataset(out / "train.h5")
    assert len(ds) > 0 and np.isfinite(ds.poses).all()


def test_whole_bandai_set_plans_and_keeps_the_actor_inside(shared_dir):
    """Every clip of the shared Bandai set: detected, segmented, no crash; what is dropped
    is counted (`data --source bvh` on the whole set: README)."""
    from structnet.data.synthetic import motion as M
    from structnet.data.synthetic.build import get_data_preset
    cfg = get_data_preset("quick", source="bvh", bvh_dir=os.path.join(shared_dir, "data", "bandai-motion-1"))
    mocap.check_splits(cfg, ["train", "test"])
    units, rep = mocap.units(cfg, M.TRAIN_SUBJECTS + M.TEST_SUBJECTS, M.FPS, M.ANKLE_HEIGHT)
    t = rep["totals"]
    assert t["clips"] == 174 and t["rigs"] == {"bandai": 174}
    assert t["kept_frames_50fps"] + t["outside_volume_dropped"] == sum(c["frames_50fps"] for c in rep["clips"])
    assert t["outside_volume_dropped"] < 0.01 * t["kept_frames_50fps"]
