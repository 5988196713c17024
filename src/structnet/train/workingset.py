"""The working set V of Algorithm 1: how often each pose of the pose set was chosen as
the most-violated pose; its K most frequent poses join every candidate set."""
import numpy as np


class WorkingSet:
    def __init__(self, n_poses, counts=None):
        self.counts = np.zeros(n_poses, np.int64) if counts is None else np.asarray(counts, np.int64).copy()

    def add(self, pose_indices):
        """V = V u {y_hat}: count each chosen pose (indices into the pose set)."""
        np.add.at(self.counts, np.asarray(pose_indices, np.int64), 1)

    def most_frequent(self, k):
        """Indices of the (up to) k most often chosen poses, most frequent first; ties by index."""
        if k <= 0:
            return np.zeros(0, np.int64)
        chosen = np.flatnonzero(self.counts)
        order = np.lexsort((chosen, -self.counts[chosen]))
        return chosen[order[:k]]
