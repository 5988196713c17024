"""structnet.engine.linker: NUMBA mode's per-node linker against PyTensor's NumbaLinker."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from structnet.engine.linker import _BLOCK, NodeNumbaLinker, _numpy_function, _sum_f32_f64, mode


def _graph():
    """Split (two outputs), MakeVector of two arities (one Op key), constants, argmax,
    reductions, a 0-d output, and an update of a shared variable."""
    x = pt.matrix("x", dtype="float32", shape=(None, 6))
    w = pytensor.shared(np.arange(18, dtype=np.float32).reshape(6, 3) / 10, name="w")
    a, b = pt.split(x, [2, 4], axis=1)
    h = pt.tanh(pt.dot(x, w)) * np.float32(1.5)
    n = x.shape[0]
    v2 = pt.stack([n, n + 1])
    v4 = pt.stack([n, n + 1, n + 2, n + 3])
    outs = [a.sum(axis=0), b.max(), pt.argmax(h, axis=1), h.sum(), v2.sum() + v4.sum(), (a ** 2).mean()]
    return [x], outs, [(w, w - np.float32(0.01) * pt.dot(x.T, h))], w


def _run(fn_mode):
    ins, outs, updates, w = _graph()
    f = pytensor.function(ins, outs, updates=updates, mode=fn_mode)
    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    r1, r2 = f(x), f(x * 2)
    return r1, r2, w.get_value()


@pytest.mark.parametrize("numpy_nodes", [True, False])
def test_same_results_as_pytensors_numba_linker(numpy_nodes):
    ours = _run(mode(numpy_nodes))
    ref = _run("NUMBA")
    for a, b in zip(ours[0] + ours[1] + [ours[2]], ref[0] + ref[1] + [ref[2]]):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_which_nodes_numpy_runs():
    ins, outs, updates, _ = _graph()
    f = pytensor.function(ins, outs, updates=updates, mode=mode())
    kinds = {}
    for node in f.maker.fgraph.toposort():
        name = type(node.op).__name__
        if name == "Elemwise":
            name = type(node.op.scalar_op).__name__
        kinds.setdefault(name, set()).add(_numpy_function(node) is not None)
    for name in ("Split", "MakeVector", "Sum", "Max", "Argmax"):
        assert kinds[name] == {True}, (name, kinds)
    for name in ("Dot", "Composite"):      # fused elementwise code and BLAS stay compiled
        assert kinds[name] == {False}, (name, kinds)


@pytest.mark.parametrize("n", [0, 1, _BLOCK - 1, _BLOCK, 3 * _BLOCK + 5])
def test_float32_sum_to_float32_precision(n):
    """The blocked sum, used for float32 results only, is within a few float32 ulp of
    float64 accumulation."""
    x = (np.random.default_rng(n).standard_normal(n) * 1e3 + 1e4).astype(np.float32)
    got = _sum_f32_f64(x)
    assert got.dtype == np.float64 and got.shape == ()
    np.testing.assert_allclose(got, np.add.reduce(x, dtype=np.float64), rtol=2.5e-7, atol=1e-6)
    m = x[: n - n % 4].reshape(4, -1).T          # a transposed (non-contiguous) view
    np.testing.assert_allclose(_sum_f32_f64(m), np.add.reduce(m, axis=None, dtype=np.float64), rtol=2.5e-7,
                               atol=1e-6)


def test_numpy_elementwise_nodes_in_place_and_0d():
    """A single-ufunc node in place (PyTensor's destroy map) and on 0-d values, against
    NumPy; the inputs are left as they were."""
    x = pt.matrix("x", dtype="float32", shape=(None, 4))
    w1 = pytensor.shared(np.eye(4, dtype=np.float32), name="w1")
    w2 = pytensor.shared(np.full((4, 4), 0.5, np.float32), name="w2")
    s = pt.scalar("s", dtype="float32")
    f = pytensor.function([x, s], [pt.dot(x, w1) + pt.dot(x, w2), pt.sqr(s), pt.eq(x, x.T.T).sum()], mode=mode())
    adds = [n for n in f.maker.fgraph.toposort()
            if type(getattr(n.op, "scalar_op", None)).__name__ == "Add"]
    assert adds and adds[0].op.inplace_pattern and _numpy_function(adds[0]) is not None
    xv = np.arange(8, dtype=np.float32).reshape(2, 4)
    keep = xv.copy()
    total, sq, eq = f(xv, np.float32(3))
    np.testing.assert_allclose(total, keep @ (np.eye(4) + 0.5), rtol=1e-6)
    assert sq.dtype == np.float32 and sq.shape == () and sq == 9 and eq == 8
    np.testing.assert_array_equal(xv, keep)


def test_the_linker_is_the_default_numba_mode(monkeypatch):
    from structnet.engine.backend import LINKER_VAR, pytensor_mode
    monkeypatch.delenv(LINKER_VAR, raising=False)
    assert isinstance(pytensor_mode("NUMBA").linker, NodeNumbaLinker)
    monkeypatch.setenv(LINKER_VAR, "graph")
    assert pytensor_mode("NUMBA") == "NUMBA"


def test_an_error_in_a_node_is_raised():
    """A node's error reaches the caller as itself (here Numba's dot on mismatched shapes)."""
    x = pt.matrix("x", dtype="float32")
    y = pt.matrix("y", dtype="float32")
    f = pytensor.function([x, y], pt.dot(x, y), mode=mode())
    with pytest.raises(ValueError, match="incompatible array sizes"):
        f(np.ones((2, 3), np.float32), np.ones((4, 5), np.float32))


CHILD = textwrap.dedent("""
    import json, os, sys
    import numpy as np, pytensor, pytensor.tensor as pt
    from structnet.engine.linker import mode
    x = pt.matrix("x", dtype="float32", shape=(None, 1024))
    w = pytensor.shared(np.ones((1024, 4096), np.float32), name="w")   # 16 MB
    h = pt.exp(pt.dot(x, w) * np.float32(0.25))
    f = pytensor.function([x], h.sum(axis=1), updates=[(w, w * np.float32(0.5))], mode=mode())
    f(np.zeros((2, 1024), np.float32))
    root = os.path.join(pytensor.config.base_compiledir, "numba")
    print(json.dumps({p: os.path.getsize(os.path.join(root, p)) for p in os.listdir(root)}))
""")


def test_cache_entries_hold_no_graph_data(tmp_path):
    """Numba keeps an exec'd function's globals when it has no module name and pickles them
    into the cache entry: the node's closure reaches the graph and its shared values
    (88 MB per entry in the training step before the fix)."""
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={tmp_path / 'pt'}",
               NUMBA_CACHE_DIR=str(tmp_path / "nb"))
    r = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    sizes = json.loads(r.stdout.strip().splitlines()[-1])
    entries = {p: s for p, s in sizes.items() if "_entry" in p and p.endswith(".nbc")}
    assert entries, sizes
    assert max(entries.values()) < 2_000_000, entries


def test_float64_sums_of_float32_keep_float64_precision():
    """The line search's norms (float32 products summed to float64, ``train.steps``) need
    every bit: no blocked float32 sum there."""
    x = pt.vector("x", dtype="float32")
    f = pytensor.function([x], (x * x).sum(acc_dtype="float64", dtype="float64"), mode=mode())
    xv = (np.random.default_rng(1).standard_normal(3 * _BLOCK + 7) + 100).astype(np.float32)
    got = f(xv)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, np.add.reduce(xv * xv, dtype=np.float64), rtol=1e-13)   # float32 products
