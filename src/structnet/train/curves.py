"""Learning curves: the held-out images whose MPJPE pre-training and training log.

A fixed subset of the test set (its first ``curve_images`` images, centre crops) is
preprocessed once per run; every ``curve_every`` batches the loop calls ``evaluate`` with
a function that maps those images to pose estimates (mm) and logs the MPJPE.
"""
import os

import numpy as np

from structnet.geometry import metrics
from structnet.data.dataset import Dataset, training_mean


class HeldOut:
    """The first ``n`` test images of ``data_dir`` (evenly spread over the test set),
    preprocessed with the run's input settings and its training set's RGB mean, and their
    root-relative poses (mm)."""

    def __init__(self, config, data_dir=None, n=None):
        data_dir = data_dir or config.data_dir
        n = config.curve_images if n is None else n
        ds = Dataset(os.path.join(data_dir, "test.h5"))
        try:
            idx = np.unique(np.linspace(0, len(ds) - 1, min(n, len(ds))).round().astype(int))
            self.x = ds.input_for(config, ds.read_images(idx), mean=training_mean(data_dir))
            self.gt = ds.root_relative(idx)
            self.index = idx
        finally:
            ds.close()

    def __len__(self):
        return len(self.gt)

    def mpjpe(self, predict, chunk=128):
        """predict: images (n,3,112,112) -> poses (n,17,3) mm; returns MPJPE in mm."""
        pred = np.concatenate([predict(self.x[i:i + chunk]) for i in range(0, len(self.x), chunk)])
        return metrics.mpjpe(pred, self.gt)

