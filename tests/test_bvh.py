import os

import numpy as np
import pytest

from structnet import bvh
from structnet import skeleton as S
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
    P, fps = bvh.load(path)
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
