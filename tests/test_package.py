"""The package's shape holds: stages import one way (geometry <- data <- model <- train <-
evaluate <- report), Human3.6M extraction never imports the synthetic world, the shared
base (config, errors, io) imports no stage, at most 8 modules at the top, none over 400
lines. Imports inside functions count too."""
import ast
import os

import pytest

SRC = os.path.join(os.path.dirname(__file__), "..", "src", "structnet")
STAGES = ("geometry", "data", "model", "train", "evaluate", "report")
BASE = ("config", "errors", "io")


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
