"""data/synthetic/rigs.py: every known rig imported with no options, the unit, up axis and head, a user map."""
import json
import os

import bvh_rigs
import numpy as np
import pytest

from structnet.data.synthetic import bvh, mocap, rigs
from structnet.geometry import skeleton as S
from structnet.errors import UserError


def test_bandai_clip_gives_human_proportions(bandai_dir):
    path = os.path.join(bandai_dir, "dataset-1_walk_normal_001.bvh")
    P, fps = rigs.load(path)          # the rig (bandai), unit and up axis detected
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
