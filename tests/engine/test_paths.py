"""engine/paths.py: where structnet keeps what it builds once per machine."""
from pathlib import Path

from structnet.engine.paths import cache_dir


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("STRUCTNET_CACHE", str(tmp_path / "a"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("STRUCTNET_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "structnet"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "structnet"
