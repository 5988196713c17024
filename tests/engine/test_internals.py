"""engine/internals.py: every PyTensor / Numba / llvmlite internal the engine uses exists and
takes the engine's parameters, under the pinned versions; the pin is pyproject.toml's."""
import os
import re

from structnet.engine import internals

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_every_internal_the_engine_uses_still_holds():
    assert internals.check() == []


def test_the_check_names_a_missing_internal(monkeypatch):
    monkeypatch.setattr(internals, "INTERNALS", internals.INTERNALS + (
        ("pytensor.link.numba.cache", "NO_SUCH_THING", None, "nowhere"),
        ("llvmlite.binding", "add_symbol", ("name", "size"), "nowhere")))
    problems = internals.check()
    assert len(problems) == 2 and "NO_SUCH_THING (nowhere): missing" in problems[0]
    assert "add_symbol (nowhere): no parameter size" in problems[1]


def test_pin_is_pyprojects_and_holds():
    text = open(os.path.join(ROOT, "pyproject.toml")).read()
    lo, hi = re.search(r'"pytensor>=(\d+\.\d+),<(\d+\.\d+)"', text).groups()
    major, minor = internals.PINS["pytensor"]
    assert lo == f"{major}.{minor}" and hi == f"{major}.{minor + 1}"
    assert internals.version_ok("pytensor")


def test_every_internal_import_of_the_engine_is_listed():
    """A new ``from pytensor.link...``/``numba.core...`` in the engine without an entry in the
    list fails here (private modules: link, core, np.ufunc, graph.rewriting, _-names)."""
    listed = {m for m, *_ in internals.INTERNALS} | {f"{m}.{p.split('.')[0]}" for m, p, *_ in internals.INTERNALS}
    engine = os.path.join(ROOT, "src", "structnet", "engine")
    found = set()
    for d, _, files in os.walk(engine):
        for f in files:
            if f.endswith(".py"):
                for mod, names in re.findall(r"from ((?:pytensor|numba)\.[\w.]+) import ([\w, ]+)", open(os.path.join(d, f)).read()):
                    if re.search(r"\.(link|core|np\.ufunc)\b", mod):
                        found |= {f"{mod}.{n.strip()}" for n in names.split(",")} if mod not in listed else set()
    allowed = {"pytensor.link.numba.dispatch.basic", "pytensor.link.numba.dispatch"}
    assert {f for f in found if f.rsplit(".", 1)[0] not in allowed and f not in listed} == set()
