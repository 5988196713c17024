"""DconvMP-HML pre-training learns: it overfits 64 images, its detection head falls below its
prior, and the learning-rate schedule is what the config says."""
import numpy as np
import pytest

from conftest import tiny_config
from structnet.geometry import poses as P
from structnet.data.dataset import Dataset
from structnet.model.network import dropout_mask
from structnet.train.pretrain import Pretrainer, detection_targets, learning_rate


def _overfit(data, n, steps, lr):
    """``steps`` Adam steps on one fixed batch of the first ``n`` training images (centre
    crops, dropout off); returns the config, targets, detection targets, the step log and the
    final predictions (dropout off)."""
    cfg = tiny_config(data, pretrain_lr=lr, pretrain_warmup=5, pretrain_decay="none")
    ds = Dataset(data / "train.h5")
    idx = np.arange(n)
    x, off = ds.input_for(cfg, ds.read_images(idx), return_offsets=True)
    y = P.to_network(ds.root_relative(idx))
    det = detection_targets(ds.joints2d[idx], off, cfg.det_grid)
    model = Pretrainer(cfg, 0, mean_target=y.mean(0))
    rng = np.random.default_rng(0)
    log = []
    for step in range(steps):
        # dropout off (keep 1): a network that cannot overfit a few images has a bug
        mr, md = dropout_mask(rng, n, 1.0, 1024), dropout_mask(rng, n, 1.0, 1024)
        log.append(model.step(x, y, det, mr, md, learning_rate(cfg, step, steps)))
    return cfg, y, det, log, model.predict(x)


@pytest.fixture(scope="module")
def overfit16(tiny_data):
    return _overfit(tiny_data, 16, 40, 1e-3)


def _check_overfits(y, pred, factor):
    mean_pose_cost = float(((y - y.mean(0)) ** 2).sum(1).mean())
    fit_cost = float(((pred - y) ** 2).sum(1).mean())
    assert fit_cost < factor * mean_pose_cost, (fit_cost, mean_pose_cost)


def _check_detection(cfg, det, log):
    p = det.mean()
    prior = -(p * np.log(p) + (1 - p) * np.log(1 - p)) * (det.shape[1] if cfg.det_reduce == "sum" else 1)
    assert np.mean([r["det"] for r in log[-5:]]) < 0.7 * prior, (prior, [r["det"] for r in log[-5:]])


def test_regression_overfits_16_images_below_the_mean_pose(overfit16):
    cfg, y, det, log, pred = overfit16
    _check_overfits(y, pred, 0.5)


def test_detection_cost_falls_below_its_prior(overfit16):
    cfg, y, det, log, pred = overfit16
    _check_detection(cfg, det, log)


@pytest.mark.slow
def test_pretraining_overfits_64_images_far_below_the_mean_pose(tiny_data):
    cfg, y, det, log, pred = _overfit(tiny_data, 64, 150, 1e-3)
    _check_overfits(y, pred, 0.2)
    _check_detection(cfg, det, log)


def test_learning_rate_schedule(tiny_data):
    cfg = tiny_config(tiny_data, pretrain_lr=1e-3, pretrain_warmup=10, pretrain_decay="cosine")
    lrs = [learning_rate(cfg, s, 110) for s in range(110)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert lrs[10] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(1e-4)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    flat = tiny_config(tiny_data, pretrain_lr=1e-3, pretrain_warmup=0, pretrain_decay="none")
    assert {learning_rate(flat, s, 50) for s in range(50)} == {1e-3}


def test_clipped_sgd_step_is_at_most_lr_times_clip(tiny_data):
    """pretrain_clip: the first SGD step (momentum buffer at 0) moves the parameters by
    lr * the clipped gradient, whose global norm is at most the clip; off, it moves more."""
    moves = {}
    for clip in (0.0, 1e-3):
        cfg = tiny_config(tiny_data, pretrain_optimizer="sgd", pretrain_clip=clip, input_scale=1.0)
        ds = Dataset(tiny_data / "train.h5")
        idx = np.arange(8)
        x, off = ds.input_for(cfg, ds.read_images(idx), return_offsets=True)
        y = P.to_network(ds.root_relative(idx))
        det = detection_targets(ds.joints2d[idx], off, cfg.det_grid)
        model = Pretrainer(cfg, 0, mean_target=y.mean(0))
        before = {k: v.get_value().copy() for k, v in model.params.items()}
        m = dropout_mask(np.random.default_rng(0), 8, 1.0, 1024)
        model.step(x, y, det, m, m, 0.01)
        moves[clip] = np.sqrt(sum(((model.params[k].get_value() - before[k]) ** 2).sum() for k in before))
    assert moves[1e-3] <= 0.01 * 1e-3 * 1.001 and moves[1e-3] > 0.01 * 1e-3 * 0.99
    assert moves[0.0] > 10 * moves[1e-3]
