"""3D poses for a user's own images (the paper's inference, Sec. 5.2): the image embedding
of each crop scored against every pose of the pose set (Eq. 4), StructNet-Max (the best),
StructNet-Avg(A) (the mean of the A best), StructNet-Pred (the auxiliary regression, Eq.
10) and the top-k hypotheses with their scores, the multi-hypothesis output the score
function allows. Poses are (17, 3) mm, root-relative (pelvis at 0), in the camera frame
(x right, y down, z away from the camera), joints in ``structnet.geometry.skeleton.JOINTS``
order."""
import os
from dataclasses import dataclass

import numpy as np

from structnet.errors import UserError


@dataclass
class Poses:
    """The estimates of N images: ``max``, ``avg``, ``pred`` (N,17,3) mm; ``hypotheses``
    (N,k,17,3) mm, best first, with ``scores`` (N,k) and ``index`` (N,k) into the pose set;
    ``A`` of ``avg``."""
    max: np.ndarray
    avg: np.ndarray
    pred: np.ndarray
    hypotheses: np.ndarray
    scores: np.ndarray
    index: np.ndarray
    A: int

    def __len__(self):
        return len(self.max)


def default_pose_set(net):
    """The model's training set (its config's data_dir/train.h5): the paper's pose set."""
    return os.path.join(net.config.data_dir, "train.h5")


class Predictor:
    """A loaded model and its pose set (with its embeddings), ready for batches of crops.

    ``model``: a model.h5 path of ``train`` (or a StructNet); ``pose_set``: a dataset file or
    a pose file (``data --npz``), default the model's training set."""

    def __init__(self, model, pose_set=None, mode=None):
        from structnet.data.posefile import load_pose_set
        from structnet.model.inference import pose_set_embeddings
        from structnet.model.network import StructNet
        self.net = model if isinstance(model, StructNet) else StructNet.load(model, mode=mode)
        self.pose_set_path = pose_set or default_pose_set(self.net)
        if not os.path.exists(self.pose_set_path):
            how = "--pose-set" if pose_set else "the model's training set (its config's data_dir); pass --pose-set"
            raise UserError(f"{self.pose_set_path}: no such pose set ({how}: a dataset's train.h5 or a pose file)")
        self.poses_mm = load_pose_set(self.pose_set_path)
        self.mean = self._input_mean()
        cache = None
        if not isinstance(model, StructNet) and pose_set is None:
            cache = os.path.join(os.path.dirname(os.path.abspath(model)), "poseset_embeddings.h5")
            if not os.access(os.path.dirname(cache), os.W_OK) and not os.path.exists(cache):
                cache = None                       # a read-only model folder: embeddings in memory
        self.pose_emb = pose_set_embeddings(self.net, self.poses_mm, cache)

    def _input_mean(self):
        """The RGB mean the model's inputs subtract: saved with the model, else its training set's."""
        if self.net.input_mean is not None:
            return np.asarray(self.net.input_mean, np.float64)
        from structnet.data.dataset import training_mean
        for data_dir in (self.net.config.data_dir, os.path.dirname(self.pose_set_path)):
            if os.path.exists(os.path.join(data_dir, "train.h5")):
                return training_mean(data_dir)
        raise UserError(f"{default_pose_set(self.net)}: the model does not carry its input mean (trained before it"
                        " was saved) and its training set is not here; pass --pose-set DATA/train.h5")

    def check(self, A, k):
        """--A and --top-k within the pose set: one-line errors."""
        M = len(self.poses_mm)
        for value, option in ((A, "--A"), (k, "--top-k")):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise UserError(f"{option} {value}: must be a positive integer")
            if value > M:
                raise UserError(f"{option} {value}: beyond the pose set's {M} poses ({self.pose_set_path})")

    def crops(self, images):
        """Images of any size (an (N,H,W,3) uint8 array or a list of (H,W,3)) -> (N,128,128,3)
        crops, padded with the model's mean colour."""
        from structnet.estimate.inputs import to_crop
        return np.stack([to_crop(im, self.mean) for im in images]) if len(images) else \
            np.zeros((0, 128, 128, 3), np.uint8)

    def __call__(self, crops, A=20, k=5):
        """uint8 (N,128,128,3) crops -> ``Poses``."""
        from structnet.data.dataset import centre_input
        from structnet.geometry import poses as P
        from structnet.model.inference import structnet_avg, top_k
        self.check(A, k)
        x = centre_input(crops, self.mean, self.net.config.input_scale)
        emb, g = self.net.image_outputs(x)
        idx, scores = top_k(emb, self.pose_emb, max(A, k))
        return Poses(max=self.poses_mm[idx[:, 0]], avg=structnet_avg(idx, self.poses_mm, A),
                     pred=P.from_network(g), hypotheses=self.poses_mm[idx[:, :k]], scores=scores[:, :k],
                     index=idx[:, :k], A=int(A))


def predict(model_path, images, A=20, top_k=5, pose_set=None, mode=None):
    """3D poses of ``images`` (uint8 (N,H,W,3), or a list of (H,W,3) of any sizes: crops
    around one person) by the model ``model_path`` (``train``'s model.h5): a ``Poses``.

    >>> poses = structnet.predict("runs/quick/train/model.h5", images)
    >>> poses.avg[0]          # (17, 3) mm, StructNet-Avg(20) of the first image
    """
    p = Predictor(model_path, pose_set, mode)
    p.check(A, top_k)
    return p(p.crops(images), A, top_k)
