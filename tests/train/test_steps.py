"""structnet.train.steps: the line search's costs against the cost at moved parameters."""
import numpy as np
import pytest
from conftest import paper_size_batch

from structnet import StructNet, paper
from structnet.train.linesearch import best_step
from structnet.train.steps import StepFunctions


@pytest.fixture(scope="module")
def batch():
    # weight decay and step factors large enough that every term of the expanded norms
    # ||W - s e g||^2 moves the cost well above float32 rounding
    net = StructNet(paper().override(["alpha=0.1", "eps_w=1", "eps_b=1"]), seed=3)
    return (net, *paper_size_batch(4))


def test_line_search_costs_equal_the_cost_at_the_moved_parameters(batch):
    net, x, y, cand, margins = batch
    eps = net.step_factors(net.trainable_names(False))
    steps = StepFunctions(net, from_features=True, eps=eps)
    assert steps._linear_trial()                   # h1 and h2 expanded in the step
    feats = steps.features(x)
    steps.grad(feats, y, cand, margins)
    g = {n: b.get_value() for n, b in zip(steps.names, steps.gbuf)}
    grid = [1e-7, 1e-3, 1e-2, 1e-1, 1.0]
    best, costs = steps.line_search(feats, y, cand, margins, grid)

    # the reference: the parameters really moved, the cost of the plain graph (dropout off)
    ref = StepFunctions(net, from_features=True)
    before = net.get_values()
    expected = []
    for s in grid:
        net.set_values({**before, **{n: (before[n] - np.float32(s * eps[n]) * g[n]).astype(np.float32)
                                     for n in steps.names}})
        expected.append(float(ref.grad(feats, y, cand, margins)["cost"]))
    net.set_values(before)
    np.testing.assert_allclose(costs, expected, rtol=2e-5)
    assert best == best_step(lambda s: expected[grid.index(s)], grid)[0]
    assert steps.trial(feats, y, cand, margins, 1e-2) == pytest.approx(expected[2], rel=2e-5)
    assert len(set(np.round(costs, 4))) == len(grid)   # the steps really differ
    # the parameters themselves are untouched by the search
    assert all(np.array_equal(v, before[k]) for k, v in net.get_values().items())


def test_the_whole_network_searches_with_the_plain_graph(batch):
    net, x, y, cand, margins = batch
    steps = StepFunctions(net, from_features=False)
    assert not steps._linear_trial()
    steps.grad([x], y, cand, margins)
    plain = steps.grad([x], y, cand, margins)["cost"]
    _, costs = steps.line_search([x], y, cand, margins, [0.0])
    assert costs[0] == pytest.approx(float(plain), rel=1e-5)


def test_dot_norms_are_float64_sums_of_float32_products():
    """The line search's norms outside the graph keep every bit a float64 sum has."""
    from structnet.train.steps import dot_norms
    rng = np.random.default_rng(2)
    w = (rng.standard_normal((3001, 7)) + 100).astype(np.float32)
    g = rng.standard_normal((3001, 7)).astype(np.float32)
    got = dot_norms(w, g)
    w64, g64 = w.astype(np.float64), g.astype(np.float64)
    np.testing.assert_allclose(got, [(w64 * w64).sum(), (w64 * g64).sum(), (g64 * g64).sum()], rtol=1e-13)


def test_without_dropout_the_update_applies_the_line_searchs_gradient(batch):
    """keep_prob 1: Algorithm 1 applies the gradient ``grad`` computed (``apply``) instead of
    computing it again (``update``): the same parameters, bit for bit."""
    from structnet.train import algorithm1
    from structnet.train.workingset import WorkingSet
    net0, x, y, cand, margins = batch
    after = []
    for dropout in (True, False):
        net = StructNet(net0.config.override(["keep_prob=1.0"]), seed=3)
        steps = StepFunctions(net, from_features=True, eps=net.step_factors(net.trainable_names(False)))
        assert steps.dropout is False
        if dropout:                                  # force the two-gradient path
            steps.__class__ = type("TwoGradients", (StepFunctions,), {"dropout": True})
        calls = []
        real = steps.update
        steps.update = lambda *a, **k: calls.append(1) or real(*a, **k)
        poseset = np.concatenate([cand, y])
        algorithm1.algorithm1_batch(steps, WorkingSet(len(poseset)), poseset, x, y, np.arange(len(cand)),
                                    np.ones((len(x), 1280), np.float32), 2, [1e-3, 1e-1], "test")
        assert len(calls) == (1 if dropout else 0)
        after.append(net.get_values())
    assert all(np.array_equal(after[0][k], after[1][k]) for k in after[0])
    start = StructNet(net0.config.override(["keep_prob=1.0"]), seed=3).get_values()
    assert not all(np.array_equal(start[k], after[1][k]) for k in start)      # the step moved them
