"""train/batches.py: a batch is its seed's, whoever makes it: the makers give the batches of
the per-batch code they replaced, and the same through a feed of any worker count."""
import numpy as np
import pytest

from conftest import tiny_config
from structnet.data.dataset import Dataset
from structnet.data.feed import Feed
from structnet.geometry import poses as P
from structnet.model.dropout import dropout_mask
from structnet.train.batches import (PretrainBatches, TrainBatches, batch_rng, detection_targets,
                                     epoch_batches)
from structnet.train.pretrain import make_batch


def _items(cfg, phase, n):
    return epoch_batches(cfg, phase, 0, n, 3, 0) + epoch_batches(cfg, phase, 1, n, 2, 1)


def test_pretrain_batches_are_make_batchs(tiny_data):
    cfg = tiny_config(tiny_data)
    maker = PretrainBatches(cfg, tiny_data / "train.h5").open()
    ds = maker.ds
    y_all = P.to_network(ds.root_relative())
    for item in _items(cfg, "pretrain", len(ds)):
        epoch, b, idx = item
        want = make_batch(cfg, ds, y_all, idx, batch_rng(cfg.seed, "pretrain", epoch, b, 0))
        out = {k: np.zeros(shape, dt) for k, (shape, dt) in maker.spec().items()}
        maker.make(item, out)
        for k, w in zip(("x", "y", "det", "mask_r", "mask_d"), want):
            np.testing.assert_array_equal(out[k], w, err_msg=k)


def test_pretraining_dropout_is_its_own(tiny_data):
    """The heads' masks follow pretrain_keep_prob, not StructNet's keep_prob."""
    ds = Dataset(tiny_data / "train.h5")
    y_all = P.to_network(ds.root_relative())
    idx = np.arange(8)
    for pre, structnet, all_ones in ((1.0, 0.25, True), (0.25, 1.0, False)):
        cfg = tiny_config(tiny_data).override([f"pretrain_keep_prob={pre}", f"keep_prob={structnet}"])
        *_, mr, md = make_batch(cfg, ds, y_all, idx, batch_rng(cfg.seed, "pretrain", 0, 0, 0))
        assert bool(np.all(mr == 1) and np.all(md == 1)) is all_ones


def test_train_batches_draw_as_algorithm_1_did(tiny_data):
    """Images, candidates and the mask in the order the step drew them; the margins are
    Delta(y, candidates) (Eq. 8)."""
    cfg = tiny_config(tiny_data)
    maker = TrainBatches(cfg, tiny_data / "train.h5", 30).open()
    ds = maker.ds
    poseset = P.to_network(ds.root_relative())
    for item in _items(cfg, "train", len(ds)):
        epoch, b, idx = item
        rng = batch_rng(cfg.seed, "train", epoch, b, 0)
        x = ds.input_for(cfg, ds.read_images(idx), rng)
        cand = rng.choice(len(poseset), 30, replace=False)
        mask = dropout_mask(rng, len(idx), cfg.keep_prob)
        out = {k: np.zeros(shape, dt) for k, (shape, dt) in maker.spec().items()}
        maker.make(item, out)
        np.testing.assert_array_equal(out["x"], x)
        np.testing.assert_array_equal(out["cand_idx"], cand)
        np.testing.assert_array_equal(out["mask"], mask)
        np.testing.assert_array_equal(out["y"], poseset[idx])
        np.testing.assert_array_equal(out["margins"], P.mpjpe_matrix(poseset[idx], poseset[cand]))


@pytest.mark.parametrize("workers", [1, 2])
def test_the_same_batches_for_every_worker_count(tiny_data, workers):
    cfg = tiny_config(tiny_data)
    n = len(Dataset(tiny_data / "train.h5"))
    items = _items(cfg, "train", n)

    def run(w):
        return [{k: np.array(v) for k, v in batch.items()}
                for _, batch in Feed(TrainBatches(cfg, tiny_data / "train.h5", 30), items, w)]
    ref, got = run(0), run(workers)
    assert len(got) == len(items)
    for a, b in zip(ref, got):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_detection_targets_mark_each_joints_window():
    j2d = np.full((1, 17, 2), 64.0)
    j2d[0, 3] = [8.0, 8.0]                           # at the crop's corner: window (0, 0)
    j2d[0, 4] = [200.0, 8.0]                         # outside the crop: no window
    t = detection_targets(j2d, np.array([[8, 8]]), grid=10).reshape(17, 10, 10)
    assert t[3, 0, 0] == 1 and t[4].sum() == 0 and t[0, 5, 5] == 1 and t.sum() == 16
