"""structnet.model.node_linker: NUMBA mode's per-node linker against PyTensor's NumbaLinker."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from structnet.model.node_linker import NodeNumbaLinker, mode


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


def test_same_results_as_pytensors_numba_linker():
    ours = _run(mode())
    ref = _run("NUMBA")
    for a, b in zip(ours[0] + ours[1] + [ours[2]], ref[0] + ref[1] + [ref[2]]):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_the_linker_is_the_default_numba_mode(monkeypatch):
    from structnet.model.backend import LINKER_VAR, pytensor_mode
    monkeypatch.delenv(LINKER_VAR, raising=False)
    assert isinstance(pytensor_mode("NUMBA").linker, NodeNumbaLinker)
    monkeypatch.setenv(LINKER_VAR, "graph")
    assert pytensor_mode("NUMBA") == "NUMBA"


def test_an_error_in_a_node_is_raised():
    x = pt.matrix("x", dtype="float32")
    y = pt.matrix("y", dtype="float32")
    f = pytensor.function([x, y], pt.dot(x, y), mode=mode())
    with pytest.raises(Exception):
        f(np.ones((2, 3), np.float32), np.ones((4, 5), np.float32))


CHILD = textwrap.dedent("""
    import json, os, sys
    import numpy as np, pytensor, pytensor.tensor as pt
    from structnet.model.node_linker import mode
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
