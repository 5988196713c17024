"""data/synthetic/h36m_fixtures.py: the fixtures the Human3.6M readers are tested on are written
in the release's own formats (CDF poses, MATLAB v7.3 masks), read back by the readers."""
import numpy as np

from structnet.data.h36m import formats
from structnet.data.synthetic import h36m_fixtures as fx


def test_cdf_and_mask_files_read_back(tmp_path):
    p17 = np.random.default_rng(0).normal(0, 300, (4, 17, 3)).astype(np.float32)
    p32 = fx.to32(p17)
    fx.write_cdf(str(tmp_path / "a" / "a.cdf"), p32)
    np.testing.assert_array_equal(formats.read_pose_cdf(str(tmp_path / "a" / "a.cdf")), p32)
    boxes = np.array([[10, 20, 50, 60], [0, 0, 30, 40]], float)
    fx.write_mask_mat(str(tmp_path / "m" / "m.mat"), boxes, (120, 100))
    assert open(tmp_path / "m" / "m.mat", "rb").read(10) == b"MATLAB 7.3"
    np.testing.assert_array_equal(formats.read_mask_boxes(str(tmp_path / "m" / "m.mat")), boxes)
