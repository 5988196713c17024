import numpy as np
import pytest

from structnet.data.synthetic import h36m_fixtures as fixtures
from structnet.geometry import camera as C
from structnet.errors import UserError
from structnet.data import posefile
from structnet.data.h36m import names, npz


def test_videopose3d_npz_to_pose_set(tmp_path):
    src = tmp_path / "data_3d_h36m.npz"
    pos = fixtures.write_videopose3d_npz(str(src))
    res = npz.convert(src, tmp_path / "poses.h5", every=2)
    n = len(pos["S1"]["Walking"][::2])
    # S1 and S5 (training subjects only), 3 sequences each, 4 cameras; _ALL skipped
    assert res["sequences"] == 6 and any("_ALL" in s for s in res["skipped"])
    assert res["poses"] == 4 * 2 * (2 * n + len(pos["S1"]["TakingPhoto"][::2]))
    got = posefile.load_pose_set(tmp_path / "poses.h5")
    import h5py
    with h5py.File(tmp_path / "poses.h5") as f:
        col = {k: f[k][()] for k in ("subject", "action", "subaction", "camera", "frame")}
    assert 9 not in set(col["subject"]) and names.ACTIONS.index("Photo") in set(col["action"])
    rows = np.flatnonzero((col["subject"] == 1) & (col["action"] == names.ACTIONS.index("Walking"))
                          & (col["subaction"] == 1) & (col["camera"] == 3))
    assert np.array_equal(col["frame"][rows], np.arange(0, len(pos["S1"]["Walking"]), 2))
    want = C.world_to_camera(pos["S1"]["Walking"][::2][:, list(names.JOINTS_17)] * 1000, C.get_camera("S1", 3))
    assert np.allclose(got[rows], want - want[:, :1], atol=1e-2)


def test_bad_npz(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        npz.load_npz(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(UserError, match="no 'positions_3d'"):
        npz.load_npz(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(UserError, match="not a readable npz"):
        npz.load_npz(tmp_path / "junk.npz")
    with pytest.raises(UserError, match="no such pose file"):
        posefile.load_pose_set(tmp_path / "none.h5")
