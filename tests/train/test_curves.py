"""train/curves.py: the learning curves' held-out images: spread over the test set, centre
crops, and an exact predictor scores 0 mm."""
import numpy as np

from conftest import tiny_config
from structnet.data.dataset import Dataset
from structnet.train.curves import HeldOut


def test_held_out_images(tiny_data):
    cfg = tiny_config(tiny_data, curve_images=7)
    h = HeldOut(cfg)
    n = len(Dataset(tiny_data / "test.h5"))
    assert len(h) == 7 and h.index[0] == 0 and h.index[-1] == n - 1 and np.all(np.diff(h.index) > 0)
    assert h.x.shape == (7, 3, 112, 112)
    queue = iter(np.split(h.gt, [3, 7]))
    assert h.mpjpe(lambda x: next(queue), chunk=3) == 0.0              # chunks in order, exact poses
    assert h.mpjpe(lambda x: np.zeros((len(x), 17, 3))) > 0
