"""Compiled functions kept on disk, so a warm start skips PyTensor's graph rewriting.

``cached_function(parts, shared, mode, build)``: the function ``build()`` compiles, from
``$STRUCTNET_CACHE/functions`` (``structnet.engine.paths.cache_dir``) when an entry
with the same key is there. A compiled PyTensor function pickles with its rewritten graph
and its linker; unpickled, it is linked again (the Numba or C code itself comes from
their own caches) without rewriting, which is most of a warm start (measured: the
gradient graph 0.8-1.0 s to build and rewrite). The network's shared variables (``shared``,
by name) are pickled by reference and come back as this process's own, so the loaded
function reads and updates the live parameters; a function that uses any other shared
variable is not cached.

The key: ``parts`` (what the caller's graph depends on: its kind, the config, the step
factors ...), the names, shapes and dtypes of ``shared``, the compile mode (with NUMBA's
linker: ``backend.describe_mode``), the
PyTensor flags that change a compiled graph (``GRAPH_FLAGS``), the versions of PyTensor,
Numba, NumPy and Python, and a hash of structnet's own source files (any code change is a
new key). A missing entry is compiled (the first run of a graph); an entry that does not
load, or a function that cannot be stored, is compiled again and says why on stderr
(one line); ``$STRUCTNET_FUNCTION_CACHE=0`` turns the cache off. Only
``structnet.engine.backend.compile_fn`` calls this module.
"""
import hashlib
import io
import os
import pickle
import platform
import sys
import tempfile
from pathlib import Path

FORMAT = "structnet-function-1"
#: PyTensor flags whose value changes what a graph compiles to (rewrites, precision, the
#: C compiler and BLAS of the C modes, Numba's options)
GRAPH_FLAGS = ("floatX", "optimizer", "optimizer_excluding", "optimizer_including", "optimizer_requiring",
               "numba__fastmath", "cast_policy", "on_opt_error")
#: and in the C modes, the compiler and BLAS (read only there: PyTensor finds its BLAS by test
#: links the first time ``blas__ldflags`` is read)
C_FLAGS = ("cxx", "gcc__cxxflags", "blas__ldflags")
_SOURCE_HASH = None


def _source_hash():
    """sha256 of every .py and .c file of the structnet package (once per process)."""
    global _SOURCE_HASH
    if _SOURCE_HASH is None:
        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for p in sorted(root.rglob("*")):
            if p.suffix in (".py", ".c") and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(root)).encode())
                h.update(p.read_bytes())
        _SOURCE_HASH = h.hexdigest()
    return _SOURCE_HASH


def enabled():
    return os.environ.get("STRUCTNET_FUNCTION_CACHE", "1") != "0"


def key(parts, shared, mode):
    import numba
    import numpy as np
    import pytensor
    desc = [FORMAT, repr(parts), mode, pytensor.__version__,
            numba.__version__, np.__version__, sys.version, platform.machine(), _source_hash(), graph_flags(mode)]
    for name, v in sorted(shared.items()):
        val = v.get_value(borrow=True)
        desc.append(f"{name}:{np.shape(val)}:{getattr(val, 'dtype', type(val))}")
    return hashlib.sha256("\0".join(desc).encode()).hexdigest()[:32]


def graph_flags(mode="NUMBA"):
    """``GRAPH_FLAGS`` (and ``C_FLAGS`` in the C modes) as they are set in this process."""
    import pytensor
    names = GRAPH_FLAGS + (C_FLAGS if mode in ("C", "CVM") else ())
    return repr({f: str(getattr(pytensor.config, f)) for f in names if hasattr(pytensor.config, f)})


def _say(msg):
    print(f"structnet: function cache: {msg}", file=sys.stderr, flush=True)


def _ids(shared):
    ids = {}
    for name, v in shared.items():
        ids[id(v)] = ("var", name)
        ids[id(v.container)] = ("container", name)
        ids[id(v.container.storage)] = ("storage", name)
        ids[id(v.get_value(borrow=True))] = ("value", name)
    return ids


class _Pickler(pickle.Pickler):
    def __init__(self, f, ids):
        super().__init__(f, protocol=pickle.HIGHEST_PROTOCOL)
        self.ids = ids

    def persistent_id(self, obj):
        return self.ids.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, shared):
        super().__init__(f)
        self.shared = shared

    def persistent_load(self, pid):
        kind, name = pid
        v = self.shared[name]            # KeyError: a foreign entry, compiled again
        return {"var": v, "container": v.container, "storage": v.container.storage,
                "value": v.get_value(borrow=True)}[kind]


def _path(k):
    from structnet.engine.paths import cache_dir
    return cache_dir() / "functions" / f"{k}.pkl"


def cached_function(parts, shared, mode, build):
    """build() -> a compiled function; from the disk cache when its key is there (see above).
    shared: name -> shared variable of every shared variable the graph uses."""
    if not enabled():
        return build()
    k = key(parts, shared, mode)
    path = _path(k)
    if path.exists():
        try:
            with open(path, "rb") as f:
                return _Unpickler(f, shared).load()
        except Exception as e:          # corrupt, foreign or from another library state
            _say(f"{path} did not load ({type(e).__name__}: {' '.join(str(e).split())[:200]}); compiling again")
    fn = build()
    if any(shared.get(v.name) is not v for v in fn.get_shared()):
        return fn                       # a shared variable the caller did not name: never cached
    tmp = None
    try:
        buf = io.BytesIO()
        _Pickler(buf, _ids(shared)).dump(fn)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)
        tmp = None
    except Exception as e:              # an unpicklable graph or an unwritable cache: no cache
        _say(f"could not store {path} ({type(e).__name__}: {' '.join(str(e).split())[:200]}); "
             "the next run compiles it again")
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return fn
