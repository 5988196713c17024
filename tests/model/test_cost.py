import numpy as np
import pytest
from conftest import paper_size_batch
from pytensor.gradient import verify_grad

from structnet import StructNet, paper
from structnet.model.cost import build_maxmargin_cost
from structnet.model.network import build_conv_features, dropout_mask
from structnet.geometry.poses import from_network, mpjpe_matrix
from structnet.train.steps import StepFunctions

# a small network of the same structure (48x48 images: 40 -> 20 -> 16 -> 8 -> 4 -> 2)
SMALL = {"conv1/W": (2, 3, 9, 9), "conv1/b": (2,), "conv2/W": (2, 2, 5, 5), "conv2/b": (2,),
         "conv3/W": (2, 2, 5, 5), "conv3/b": (2,), "h1/W": (128, 3), "h1/b": (3,),
         "h2/W": (8, 5), "h2/b": (5,), "h3/W": (8, 6), "h3/b": (6,), "h4/W": (6, 4), "h4/b": (4,),
         "g7/W": (6, 51), "g7/b": (51,), "h5/W": (51, 5), "h5/b": (5,), "h6/W": (5, 4), "h6/b": (4,)}


def test_verify_grad_all_parameters():
    rng = np.random.default_rng(7)
    names = list(SMALL)
    values = [(rng.standard_normal(s) * (0.3 if len(s) > 1 else 0.1)).astype(np.float32) for s in SMALL.values()]
    images = rng.random((3, 3, 48, 48), dtype=np.float32)
    y = (rng.random((3, 51)) * 0.6 - 0.3).astype(np.float32)
    cand = (rng.random((6, 51)) * 0.6 - 0.3).astype(np.float32)
    margins = mpjpe_matrix(y, cand)
    mask = np.where(rng.random((3, 8)) < 0.5, 2.0, 0.0).astype(np.float32)
    cfg = paper()

    def cost(*params):
        p = dict(zip(names, params))
        conv = build_conv_features(p, images)
        out = build_maxmargin_cost(p, cfg, conv["pool2_flat"], conv["pool3_flat"], y, cand, margins,
                                   mask, [p[n] for n in names if n.endswith("/W") and not n.startswith("conv")])
        return out["cost"]

    verify_grad(cost, values, rng=rng, mode="NUMBA", eps=1e-3, abs_tol=2e-2, rel_tol=2e-2)


@pytest.fixture(scope="module")
def setup():
    net = StructNet(paper(), seed=1)
    return (net, *paper_size_batch(2))


def test_max_over_candidates_picks_the_most_violated_pose(setup):
    net, x, y, cand, margins = setup
    steps = StepFunctions(net, from_features=True)
    feats = steps.features(x)
    out = steps.grad(feats, y, cand, margins)
    f_img = net.image_embedding(x)
    total = f_img @ net.pose_embedding(from_network(cand)).T + margins
    np.testing.assert_array_equal(out["violated"], total.argmax(1))
    s_true = (f_img * net.pose_embedding(from_network(y))).sum(1)
    hinge = np.maximum(total.max(1) - s_true, 0).mean()
    np.testing.assert_allclose(out["hinge"], hinge, rtol=1e-4, atol=1e-6)
    aux = ((net.predict_pose(x) / 1200 - from_network(y) / 1200) ** 2).sum((1, 2)).mean()
    np.testing.assert_allclose(out["aux"], aux, rtol=1e-4)
    reg = sum((v ** 2).sum() for k, v in net.get_values().items() if k.endswith("/W") and not k.startswith("conv"))
    np.testing.assert_allclose(out["reg"], reg, rtol=1e-4)
    np.testing.assert_allclose(out["cost"], hinge + aux + 1e-4 * reg, rtol=1e-4)


def test_update_moves_only_trainable_parameters(setup):
    net, x, y, cand, margins = setup
    before = net.get_values()
    steps = StepFunctions(net, from_features=True)
    steps.update(steps.features(x), y, cand, margins, dropout_mask(np.random.default_rng(0), 4, 0.25), 1e-2)
    after = net.get_values()
    assert all(np.array_equal(before[k], after[k]) for k in before if k.startswith("conv"))
    assert not np.array_equal(before["h3/W"], after["h3/W"])
    net.set_values(before)
