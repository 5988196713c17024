import h5py
import numpy as np
import pytest

from structnet.data import posefile
from structnet.errors import UserError


def _cols(n):
    return {"subject": np.ones(n), "action": np.arange(n) % 3, "subaction": np.ones(n), "camera": np.zeros(n),
            "frame": np.arange(n) * 5}


def test_write_and_load_root_relative(tmp_path):
    rng = np.random.default_rng(0)
    poses = rng.normal(0, 300, (7, 17, 3)) + [0, 0, 4000]
    posefile.write_pose_file(tmp_path / "p.h5", poses, _cols(7), "synthetic", ["Walking"], ["S1"], pose_step=5)
    got = posefile.load_pose_set(tmp_path / "p.h5")
    want = poses.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(got, want - want[:, :1], atol=1e-3)
    with h5py.File(tmp_path / "p.h5") as f:
        assert f.attrs["schema"] == posefile.POSES_SCHEMA and f.attrs["pose_step"] == 5
        assert f["frame"].dtype == np.int32 and f["camera"].dtype == np.int16 and list(f["frame"][:2]) == [0, 5]
    assert not list(tmp_path.glob("*.tmp*"))


def test_write_refuses_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="expected"):
        posefile.write_pose_file(tmp_path / "p.h5", np.zeros((3, 16, 3)), _cols(3), "s", [], [])
    with pytest.raises(ValueError, match="one value per pose"):
        posefile.write_pose_file(tmp_path / "p.h5", np.zeros((3, 17, 3)), _cols(2), "s", [], [])
    assert not (tmp_path / "p.h5").exists()


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(UserError, match="none.h5: no such pose file"):
        posefile.load_pose_set(tmp_path / "none.h5")
    (tmp_path / "junk.h5").write_bytes(b"junk")
    with pytest.raises(UserError, match="junk.h5: cannot read as HDF5"):
        posefile.load_pose_set(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["schema"] = "something-else"
    with pytest.raises(UserError, match="other.h5: schema"):
        posefile.load_pose_set(tmp_path / "other.h5")
    posefile.write_pose_file(tmp_path / "nan.h5", np.full((2, 17, 3), np.nan), _cols(2), "s", [], [])
    with pytest.raises(UserError, match="NaN"):
        posefile.load_pose_set(tmp_path / "nan.h5")
