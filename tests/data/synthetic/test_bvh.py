"""data/synthetic/bvh.py: the BVH reader: channels, rotation orders, end sites, bad files."""
import numpy as np
import pytest

from structnet.data.synthetic import bvh
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
                                      (TINY.replace("Frames: 2", "Frames: 3"), "says 'Frames: 3' but 2 frame rows"),
                                      (TINY.replace("Frames: 2", "Frames: 1"), "says 'Frames: 1' but 2 frame rows"),
                                      (TINY.replace("0 0 0 0 -45 0 0 0 0\n1 90", "0 0 0 0 -45 0 0 0\n1 90"),
                                       "bad MOTION header or values")])


def test_bad_files(tmp_path, text, msg):
    p = tmp_path / "bad.bvh"
    p.write_text(text)
    with pytest.raises(UserError, match=msg):
        bvh.parse(p)
    with pytest.raises(UserError, match="cannot read"):
        bvh.parse(tmp_path / "missing.bvh")
