"""estimate/predict.py: the poses of exported test images are exactly those eval gives; the
Python API on numpy arrays; bad models, pose sets, A and k in one line."""
import os

import numpy as np
import pytest

from structnet.errors import UserError


def _test_images(tiny_data, rows):
    from structnet.data.dataset import Dataset
    ds = Dataset(os.path.join(tiny_data, "test.h5"))
    try:
        return ds.read_images(rows), ds
    finally:
        ds.close()


def test_api_gives_evals_poses(tiny_data, tiny_model):
    import structnet
    from structnet.data.dataset import Dataset
    rows = np.array([0, 7, 12, 29])
    imgs, _ = _test_images(tiny_data, rows)
    poses = structnet.predict(tiny_model["model"], imgs, A=20, top_k=4)
    train = Dataset(os.path.join(tiny_data, "train.h5")).root_relative()
    idx = tiny_model["idx"][rows]
    assert np.array_equal(poses.index, idx[:, :4])
    assert np.array_equal(poses.max, train[idx[:, 0]])
    assert np.allclose(poses.avg, train[idx[:, :20]].mean(1), atol=1e-9)
    assert poses.hypotheses.shape == (4, 4, 17, 3) and np.all(np.diff(poses.scores, axis=1) <= 0)
    # a list of images of other sizes: scaled and padded, still one pose each
    other = [np.zeros((200, 90, 3), np.uint8), imgs[0]]
    p2 = structnet.predict(tiny_model["model"], other, A=5, top_k=1)
    assert p2.avg.shape == (2, 17, 3) and np.array_equal(p2.max[1], poses.max[0])


def test_model_without_mean_uses_its_training_set(tiny_data, tiny_model, tmp_path):
    from structnet.estimate.predict import Predictor
    from structnet.model.network import StructNet
    net = StructNet.load(tiny_model["model"])
    net.input_mean = None
    net.save(str(tmp_path / "model.h5"))
    p = Predictor(str(tmp_path / "model.h5"))
    assert np.allclose(p.mean, tiny_model["net"].input_mean)


def test_bad_model_pose_set_A_k(tiny_data, tiny_model, tmp_path):
    from structnet.estimate.predict import Predictor
    with pytest.raises(UserError, match="not a structnet parameter file"):
        Predictor(os.path.join(tiny_data, "train.h5"))
    with pytest.raises(UserError, match="no such"):
        Predictor(str(tmp_path / "none.h5"))
    with pytest.raises(UserError, match="no such pose set"):
        Predictor(tiny_model["model"], pose_set=str(tmp_path / "poses.h5"))
    p = Predictor(tiny_model["model"])
    for A, k, opt in ((121, 1, "--A 121"), (1, 500, "--top-k 500"), (0, 1, "--A 0")):
        with pytest.raises(UserError, match=opt):
            p.check(A, k)
