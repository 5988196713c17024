"""The package's shape holds: stages import one way (geometry <- data <- engine <- model <-
train <- evaluate <- report), no import cycle anywhere, Human3.6M extraction never imports
the synthetic world, the shared base (config, errors, io) imports no stage, at most 8
modules at the top, none over 400 lines. Imports inside functions count too. Importing the
package, its geometry or its data does nothing: no PyTensor, no Numba, no subprocess."""
import ast
import os
import subprocess
import sys

import pytest

SRC = os.path.join(os.path.dirname(__file__), "..", "src", "structnet")
STAGES = ("geometry", "data", "engine", "model", "train", "evaluate", "estimate", "report")
BASE = ("config", "errors", "io", "interrupt")


def _modules():
    for d, _, files in os.walk(SRC):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(d, f)
                rel = os.path.relpath(path, SRC)[:-3].replace(os.sep, ".")
                yield rel.replace(".__init__", ""), path


def _imports(path):
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("structnet"):
            mod = node.module[len("structnet"):].lstrip(".")
            if mod:
                yield mod
            else:
                yield from (a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("structnet."):
                    yield a.name[len("structnet."):]


def _stage(mod):
    top = mod.split(".")[0]
    return STAGES.index(top) if top in STAGES else None


@pytest.mark.parametrize("mod,path", sorted(_modules()))
def test_imports_run_one_way(mod, path):
    mine = _stage(mod)
    for imp in _imports(path):
        theirs = _stage(imp)
        if mod.split(".")[0] in BASE:
            assert theirs is None or imp.split(".")[0] in BASE, f"{mod} (shared base) imports the stage {imp}"
        elif mine is not None and theirs is not None:
            assert theirs <= mine, f"{mod} ({STAGES[mine]}) imports {imp} ({STAGES[theirs]}), a later stage"
        if mod.startswith("data.h36m"):
            assert not imp.startswith("data.synthetic"), f"{mod} imports the synthetic world ({imp})"


def test_size_of_the_house():
    top = [f for f in os.listdir(SRC) if f.endswith(".py")]
    assert len(top) <= 8, sorted(top)
    long = {m: n for m, p in _modules() if (n := len(open(p).read().splitlines())) > 400}
    assert not long, long


def _graph():
    """module -> the structnet modules it imports (anywhere in its body)."""
    mods = dict(_modules())
    out = {}
    for mod, path in mods.items():
        deps = set()
        for imp in _imports(path):
            if imp in mods:
                deps.add(imp)
            elif imp.rsplit(".", 1)[0] in mods:       # from structnet.x import name
                deps.add(imp.rsplit(".", 1)[0])
        out[mod] = deps - {mod}
    return out


def test_no_import_cycle():
    graph, state, cycles = _graph(), {}, []

    def visit(m, path):
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append(path[path.index(d):] + [d] if d in path else [m, d])
            elif d not in state:
                visit(d, path + [d])
        state[m] = 2
    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


def _import_in_child(code):
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_import_does_nothing():
    """``import structnet.geometry`` and ``structnet.data`` (and the feed's modules) load
    neither PyTensor nor Numba; ``import structnet`` starts no process (it used to run
    ``cc --version`` and start Numba's threads)."""
    light = ("structnet", "structnet.geometry", "structnet.geometry.poses", "structnet.geometry.skeleton",
             "structnet.geometry.camera", "structnet.data", "structnet.data.dataset", "structnet.data.feed",
             "structnet.train.batches", "structnet.config", "structnet.io")
    out = _import_in_child("import sys, importlib\n"
                           f"for m in {light!r}: importlib.import_module(m)\n"
                           "print(sorted({m.split('.')[0] for m in sys.modules} & {'pytensor', 'numba', 'jax'}))")
    assert out.strip() == "[]"
    out = _import_in_child("import subprocess, os\n"
                           "def no(*a, **k): raise AssertionError('a process was started at import')\n"
                           "subprocess.Popen.__init__ = no; os.fork = no; os.posix_spawn = no\n"
                           "import structnet; print(structnet.__version__)")
    assert out.strip()


def test_the_readme_is_a_guide_not_a_notebook():
    """At most 300 lines, its two commands there, its generated sections marked, no path
    outside the repository."""
    text = open(os.path.join(SRC, "..", "..", "README.md")).read()
    assert len(text.splitlines()) <= 300
    assert "make all" in text and "make test" in text and ".." + "/shared" not in text
    for marker in ("results", "speed-bench", "h36m-bench"):
        assert f"<!-- {marker}:begin" in text and f"<!-- {marker}:end -->" in text


def test_nothing_names_a_path_outside_the_repository():
    """The repository stands alone: no file of it names the workplace's shared folder (.ci/run
    hands the one thing the tests may read from it through a variable, by another spelling)."""
    root = os.path.join(SRC, "..", "..")
    needle = ".." + "/shared"
    hits = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x not in (".git", ".venv", "runs", "data", "build") and not x.endswith(".egg-info")]
        for f in files:
            p = os.path.join(d, f)
            try:
                if needle in open(p, encoding="utf-8", errors="ignore").read():
                    hits.append(os.path.relpath(p, root))
            except OSError:
                pass
    assert hits == []
