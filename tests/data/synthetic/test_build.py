import numpy as np

from structnet.geometry import camera as C
from structnet.data.dataset import Dataset
from structnet.data.posefile import load_pose_set
from structnet.data.synthetic.build import build, build_pose_set, get_data_preset


def test_tiny_dataset(tmp_path):
    cfg = get_data_preset("tiny", workers=2)
    stats = build(cfg, tmp_path / "train.h5", "train", progress=False)
    d = Dataset(tmp_path / "train.h5")
    # 2 subjects x 3 actions x 1 subaction x 2 cameras x 10 frames (2 s, every 10th frame)
    assert stats["images"] == len(d) == 120
    assert set(d.meta["subject"]) == {1, 5} and set(d.meta["camera"]) == {0, 2}
    # poses are in the camera frame: back to world they agree across cameras of a frame
    i0 = np.flatnonzero((d.meta["subject"] == 1) & (d.meta["action"] == 0) & (d.meta["camera"] == 0))[3]
    i2 = np.flatnonzero((d.meta["subject"] == 1) & (d.meta["action"] == 0) & (d.meta["camera"] == 2)
                        & (d.meta["frame"] == d.meta["frame"][i0]))[0]
    w0 = C.camera_to_world(d.poses[i0], C.get_camera("S1", 0))
    w2 = C.camera_to_world(d.poses[i2], C.get_camera("S1", 2))
    np.testing.assert_allclose(w0, w2, atol=1e-2)
    # same seed, same pixels
    build(cfg, tmp_path / "again.h5", "train", progress=False)
    np.testing.assert_array_equal(Dataset(tmp_path / "again.h5").read_images([5, 77]), d.read_images([5, 77]))


def test_pose_set_holds_the_training_poses_and_more(tmp_path):
    """poses.h5: the training sequences every pose_step-th frame (5) where the images take
    every step_train-th (10): twice the poses, every image's pose among them."""
    import h5py
    cfg = get_data_preset("tiny", workers=1)
    stats = build_pose_set(cfg, tmp_path / "poses.h5")
    build(cfg, tmp_path / "train.h5", "train", progress=False)
    d = Dataset(tmp_path / "train.h5")
    assert stats["poses"] == 2 * len(d) == 240
    with h5py.File(tmp_path / "poses.h5") as f:
        raw, frame, cam = f["poses"][()], f["frame"][()], f["camera"][()]
        assert f.attrs["pose_step"] == 5 and set(frame % 5) == {0} and set(cam) == {0, 2}
    # every training image's pose, exactly (the same generator, the same camera)
    have = {p.tobytes() for p in raw}
    assert all(p.astype(np.float32).tobytes() in have for p in d.poses)
    assert len(load_pose_set(tmp_path / "poses.h5")) == 240


def test_pose_set_added_later_follows_the_training_set(tmp_path, capsys):
    """`data --splits poses` beside a training set built before (as `make` does for an old
    dataset): the poses of that set's own sequences (its seed and preset), not the preset named."""
    from structnet.cli import main
    out = tmp_path / "d"
    assert main(["data", "--preset", "tiny", "--seed", "5", "--splits", "train", "--out", str(out),
                 "--workers", "1"]) == 0
    assert not (out / "poses.h5").exists()
    assert main(["data", "--preset", "quick", "--splits", "poses", "--out", str(out)]) == 0
    d = Dataset(out / "train.h5")
    poses = load_pose_set(out / "poses.h5")
    assert len(poses) == 2 * len(d) == 240
    have = {p.astype(np.float32).tobytes() for p in np.round(poses, 3)}
    assert all(p.astype(np.float32).tobytes() in have for p in np.round(d.root_relative(), 3))
