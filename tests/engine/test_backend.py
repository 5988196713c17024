import pytest

from structnet.engine.backend import describe_mode, resolve_mode
from structnet.config import paper, quick
from structnet.errors import UserError


def test_modes(monkeypatch):
    monkeypatch.delenv("STRUCTNET_MODE", raising=False)
    assert resolve_mode() == "NUMBA"
    assert resolve_mode("cvm") == "CVM"
    monkeypatch.setenv("STRUCTNET_MODE", "c")
    assert resolve_mode() == "C"
    assert resolve_mode("NUMBA") == "NUMBA"
    with pytest.raises(UserError, match="unknown compile mode 'GPU'"):
        resolve_mode("gpu")


def test_the_mode_a_run_reports(monkeypatch):
    monkeypatch.delenv("STRUCTNET_MODE", raising=False)
    monkeypatch.delenv("STRUCTNET_NUMBA_LINKER", raising=False)
    assert describe_mode("") == "NUMBA (node linker)"
    monkeypatch.setenv("STRUCTNET_NUMBA_LINKER", "graph")
    assert describe_mode("numba") == "NUMBA (graph linker)"
    monkeypatch.setenv("STRUCTNET_MODE", "cvm")
    assert describe_mode("") == "CVM"


def test_one_rule_for_the_mode(monkeypatch):
    from structnet.config import quick
    cfg = quick()
    assert cfg.mode == ""                                  # not set: the environment decides
    monkeypatch.setenv("STRUCTNET_MODE", "cvm")
    assert resolve_mode(cfg.mode) == "CVM"
    assert resolve_mode(cfg.override(["mode=NUMBA"]).mode) == "NUMBA"   # the config field wins
    monkeypatch.setenv("STRUCTNET_MODE", "FOO")
    with pytest.raises(UserError, match="unknown compile mode 'FOO'"):
        resolve_mode(cfg.mode)
    with pytest.raises(UserError, match="mode must be one of"):
        cfg.override(["mode=GPU"])


def test_jax_mode_without_jax_is_a_user_error():
    import builtins
    real_import = builtins.__import__

    def no_jax(name, *a, **k):
        if name == "jax" or name.startswith("jax."):
            raise ImportError(name)
        return real_import(name, *a, **k)
    builtins.__import__ = no_jax
    try:
        with pytest.raises(UserError, match="needs jax"):
            resolve_mode("JAX")
    finally:
        builtins.__import__ = real_import


def test_config_overrides():
    c = paper().override(["lam=0", "pose_embedding=raw", "batch_size=16"])
    assert c.lam == 0 and c.embedding_size == 51 and c.batch_size == 16
    assert quick().preset == "quick"
    for bad in (["nope=1"], ["lam"], ["batch_size=x"], ["pose_embedding=3layer"], ["keep_prob=0"]):
        with pytest.raises(UserError):
            paper().override(bad)
