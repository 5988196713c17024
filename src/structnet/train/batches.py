"""What a training batch is, made off the step's critical path (``structnet.data.feed``).

Every random number of a batch comes from a generator seeded by (seed, phase, epoch,
batch), so a batch is the same whichever process makes it, and a run resumed from a
checkpoint replays exactly what an uninterrupted run does: same crops and colour noise,
same dropout masks, same candidates.

A batch maker (``PretrainBatches``, ``TrainBatches``) is small and picklable (a config and
a file name): a worker process opens the dataset itself (``open``) and fills a batch's
arrays in place (``make``), the arrays a shared slot of the feed. NumPy, h5py and two
Numba kernels only: no PyTensor in a worker.
"""
import numpy as np

from structnet.data.dataset import CROP, INPUT, Dataset
from structnet.geometry import poses as P
from structnet.model.dropout import CONCAT_WIDTH, dropout_mask

PHASES = {"pretrain": 1, "train": 2}
#: DconvMP-HML's regression and detection dropout width (``structnet.model.dconvmp``)
PRETRAIN_DROPOUT_WIDTH = 1024


def batch_rng(seed, phase, epoch, batch, stream):
    return np.random.default_rng([seed, PHASES[phase], epoch, batch, stream])


def epoch_order(seed, phase, epoch, n):
    return np.random.default_rng([seed, PHASES[phase], epoch, 10 ** 6]).permutation(n)


def batch_size(cfg, phase):
    return cfg.pretrain_batch_size if phase == "pretrain" else cfg.batch_size


def epoch_batches(cfg, phase, epoch, n, nb, first):
    """[(epoch, batch, sorted sample indices)] for batches first..nb-1 of an epoch."""
    order = epoch_order(cfg.seed, phase, epoch, n)
    B = batch_size(cfg, phase)
    return [(epoch, b, np.sort(order[b * B:(b + 1) * B])) for b in range(first, nb)]


def detection_targets(joints2d, offsets, grid=10, size=INPUT):
    """(B,17,2) crop pixels of the 128 image, (B,2) crop offsets (y, x) -> (B, 17*grid*grid)."""
    B = len(joints2d)
    xy = joints2d - offsets[:, None, ::-1]                    # into the 112 crop
    cell = np.floor(xy / (size / grid)).astype(int)
    t = np.zeros((B, 17, grid, grid), np.float32)
    ok = (cell >= 0).all(-1) & (cell < grid).all(-1)
    b, j = np.nonzero(ok)
    t[b, j, cell[b, j, 1], cell[b, j, 0]] = 1.0
    return t.reshape(B, -1)


class BatchMaker:
    """A phase's batches: ``spec()`` the arrays of one batch {name: (shape, dtype)};
    ``open()`` once in the process that makes them; ``make(item, out)`` fills ``out`` (a dict
    of arrays of ``spec``) for item (epoch, batch, sorted sample indices)."""
    phase = None

    def __init__(self, cfg, path):
        self.cfg, self.path = cfg, str(path)
        self.ds = None

    def __getstate__(self):                  # a worker opens its own file
        return {"cfg": self.cfg, "path": self.path, "ds": None}

    def open(self):
        if self.ds is None:
            self.ds = Dataset(self.path)
            self._images = np.empty((batch_size(self.cfg, self.phase), CROP, CROP, 3), np.uint8)
        return self

    def close(self):
        if self.ds is not None:
            self.ds.close()
            self.ds = None

    def _input(self, idx, rng, out):
        """The images of ``idx``, cropped, noised and scaled into ``out``; their crop offsets."""
        imgs = self.ds.read_images(idx, out=self._images[:len(idx)])
        return self.ds.input_for(self.cfg, imgs, rng, return_offsets=True, out=out)[1]


class PretrainBatches(BatchMaker):
    """DconvMP-HML's batch (``structnet.train.pretrain``): images, regression targets (network
    units), detection targets, regression and detection dropout masks."""
    phase = "pretrain"

    def spec(self):
        B, cfg = self.cfg.pretrain_batch_size, self.cfg
        return {"x": ((B, 3, INPUT, INPUT), "float32"), "y": ((B, 3 * P.N_JOINTS), "float32"),
                "det": ((B, P.N_JOINTS * cfg.det_grid ** 2), "float32"),
                "mask_r": ((B, PRETRAIN_DROPOUT_WIDTH), "float32"), "mask_d": ((B, PRETRAIN_DROPOUT_WIDTH), "float32")}

    def open(self):
        super().open()
        self.y_all = P.to_network(self.ds.root_relative())
        return self

    def make(self, item, out):
        epoch, b, idx = item
        cfg = self.cfg
        rng = batch_rng(cfg.seed, "pretrain", epoch, b, 0)
        off = self._input(idx, rng, out["x"])
        out["det"][...] = detection_targets(self.ds.joints2d[idx], off, cfg.det_grid)
        out["mask_r"][...] = dropout_mask(rng, len(idx), cfg.pretrain_keep_prob, PRETRAIN_DROPOUT_WIDTH)
        out["mask_d"][...] = dropout_mask(rng, len(idx), cfg.pretrain_keep_prob, PRETRAIN_DROPOUT_WIDTH)
        out["y"][...] = self.y_all[idx]
        return {}


class TrainBatches(BatchMaker):
    """Algorithm 1's batch (``structnet.train.algorithm1``): images, their poses (network
    units), the C candidates sampled from the pose set with their margins to the batch's
    poses (Eq. 8), and the update's dropout mask. The K most-violated candidates of the
    working set are added by the step, which owns the working set."""
    phase = "train"

    def __init__(self, cfg, path, n_candidates):
        super().__init__(cfg, path)
        self.C = int(n_candidates)

    def __getstate__(self):
        return super().__getstate__() | {"C": self.C}

    def spec(self):
        B, C = self.cfg.batch_size, self.C
        return {"x": ((B, 3, INPUT, INPUT), "float32"), "y": ((B, 3 * P.N_JOINTS), "float32"),
                "cand_idx": ((C,), "int64"), "margins": ((B, C), "float32"),
                "mask": ((B, CONCAT_WIDTH), "float32")}

    def open(self):
        super().open()
        self.poseset = P.to_network(self.ds.root_relative())
        return self

    def make(self, item, out):
        epoch, b, idx = item
        cfg = self.cfg
        rng = batch_rng(cfg.seed, "train", epoch, b, 0)
        self._input(idx, rng, out["x"])
        cand = rng.choice(len(self.poseset), self.C, replace=False)
        out["mask"][...] = dropout_mask(rng, len(idx), cfg.keep_prob)
        out["cand_idx"][...] = cand
        out["y"][...] = self.poseset[idx]
        out["margins"][...] = P.mpjpe_matrix(out["y"], self.poseset[cand])      # Delta(y_i, y), Eq. 8
        return {}
