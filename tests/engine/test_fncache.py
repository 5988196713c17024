"""Compiled functions on disk (engine/fncache.py): a loaded function drives this process's
parameters, gives the numbers a fresh one gives, and a bad entry is compiled again."""
import numpy as np
import pytest

from structnet.config import quick
from structnet.engine import fncache
from structnet.model.network import StructNet
from structnet.train.steps import StepFunctions


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STRUCTNET_CACHE", str(tmp_path))
    monkeypatch.delenv("STRUCTNET_FUNCTION_CACHE", raising=False)
    return tmp_path / "functions"


def _steps():
    cfg = quick()
    cfg.mode = "NUMBA"
    net = StructNet(cfg, 0)
    return net, StepFunctions(net, from_features=True)


def _apply(st, step):
    for b in st._gbuf():
        b.set_value(np.full_like(b.get_value(), 0.25))
    st._get("apply")(np.float32(step))


def test_loaded_function_moves_this_processes_parameters(cache, monkeypatch):
    net1, st1 = _steps()
    _apply(st1, 2.0)                                    # compiled, and written to the cache
    assert len(list(cache.glob("*.pkl"))) == 1
    net2, st2 = _steps()
    before1 = {n: v.get_value().copy() for n, v in net1.params.items()}

    def no_build():
        raise AssertionError("compiled again instead of loaded")
    monkeypatch.setattr(st2, "_graph_apply", no_build)
    _apply(st2, 2.0)                                    # loaded from disk
    for n, v in net2.params.items():
        np.testing.assert_array_equal(v.get_value(), net1.params[n].get_value())
        np.testing.assert_array_equal(net1.params[n].get_value(), before1[n])   # net1 untouched
    assert not np.array_equal(net2.params["h1/W"].get_value(), StructNet(net2.config, 0).params["h1/W"].get_value())


def test_bad_entry_compiled_again_and_replaced(cache):
    _, st = _steps()
    _apply(st, 1.0)
    (entry,) = cache.glob("*.pkl")
    entry.write_bytes(b"not a pickle")
    net, st = _steps()
    _apply(st, 1.0)                                     # no error: compiled again
    assert entry.read_bytes()[:1] == b"\x80" and not list(cache.glob("*.tmp"))
    ref, st_ref = _steps()
    _apply(st_ref, 1.0)                                 # and loaded again: same numbers
    np.testing.assert_array_equal(net.params["h6/W"].get_value(), ref.params["h6/W"].get_value())


def test_key_follows_config_and_shapes(cache):
    net, st = _steps()
    shared = {v.name: v for v in net.params.values()}
    k = fncache.key(("apply", 1), shared, "NUMBA")
    assert k == fncache.key(("apply", 1), shared, "NUMBA")
    assert k != fncache.key(("apply", 2), shared, "NUMBA") and k != fncache.key(("apply", 1), shared, "CVM")
    import pytensor
    other = dict(shared, **{"h5/b": pytensor.shared(np.zeros(7, np.float32), name="h5/b")})
    assert k != fncache.key(("apply", 1), other, "NUMBA")


def test_switched_off(cache, monkeypatch):
    monkeypatch.setenv("STRUCTNET_FUNCTION_CACHE", "0")
    _, st = _steps()
    _apply(st, 1.0)
    assert not cache.exists()


def test_function_with_an_unnamed_shared_variable_not_cached(cache):
    import pytensor
    from structnet.engine.backend import compile_fn
    a = pytensor.shared(np.ones(3, np.float32), name="a")
    b = pytensor.shared(np.ones(3, np.float32), name="b")     # not named to the cache
    fn = fncache.cached_function(("sum",), {"a": a}, "NUMBA", lambda: compile_fn([], (a + b).sum(), mode="NUMBA"))
    assert float(fn()) == 6.0 and not cache.exists()
    fn = fncache.cached_function(("sum",), {"a": a, "b": b}, "NUMBA", lambda: compile_fn([], (a + b).sum(), mode="NUMBA"))
    assert float(fn()) == 6.0 and len(list(cache.glob("*.pkl"))) == 1


def test_key_follows_the_pytensor_flags_that_change_a_graph(cache, monkeypatch):
    import pytensor
    net, _ = _steps()
    shared = {v.name: v for v in net.params.values()}
    k = fncache.key(("apply", 1), shared, "NUMBA")
    with pytensor.config.change_flags(numba__fastmath=not pytensor.config.numba__fastmath):
        assert fncache.key(("apply", 1), shared, "NUMBA") != k
    assert fncache.key(("apply", 1), shared, "NUMBA") == k


def test_a_bad_entry_says_why_it_is_compiled_again(cache, capsys):
    _, st = _steps()
    _apply(st, 1.0)
    (entry,) = cache.glob("*.pkl")
    entry.write_bytes(b"not a pickle")
    _, st = _steps()
    _apply(st, 1.0)
    err = capsys.readouterr().err
    assert f"structnet: function cache: {entry} did not load (UnpicklingError" in err and "compiling again" in err
