"""NUMBA mode's linker: one compiled Numba function per node, run in order from Python.

PyTensor's ``NumbaLinker`` compiles each node to a Numba function and then the whole graph
once more as one jitted function that calls them all. That outer function costs as much
to compile as the nodes together (LLVM re-optimises and emits every node's code inlined in
it): 37 of the 82 s of the benchmark's cold compile (2-core EPYC, 2026-11-26), and it is
compiled anew for every graph. Here the nodes are the unit: each node's function is
compiled with a CPython entry point, cached on disk by PyTensor's key for its Op (plus
Numba's own key: argument types), shared by every node with that key in the process,
and called in topological order by a small Python loop that also drops each intermediate
after its last use. The work per call is the same compiled code plus one Python call per
node; the bench's steps came out as fast or faster (``legacy_notes/speed.md``).

Nodes whose work NumPy does in one call as fast as compiled code (views and shapes,
indexing, checks, one ufunc, one ufunc reduction; ``_numpy_function``) are not compiled
at all: the Numba compile of those nodes was 22 of the remaining 47 s of that cold compile
(Sum's generated reducers 7.3 s, SpecifyShape, Split and Argmax ~2 s each, DimShuffle 1.8 s).
Compiled are the fused elementwise kernels, matrix products and our convolution Ops.

The rewrites are PyTensor's NUMBA mode's (``NumbaLinker.required_rewrites`` etc.).
"""
import os
import tempfile

import numba
import numpy as np
import pytensor
from pytensor.compile.mode import Mode
from pytensor.graph.basic import Constant
from pytensor.graph.rewriting.db import RewriteDatabaseQuery
from pytensor.link.basic import JITLinker
from pytensor.link.numba.linker import NumbaLinker
from pytensor.tensor.elemwise import CAReduce

#: compiled node functions of this process, by (PyTensor's cache key for the Op, input
#: dtypes and ranks); nodes whose Op has no key get a function of their own
_SHARED = {}


def _node_function(op, node):
    """A Numba dispatcher with a CPython entry point computing ``node``'s outputs from its
    inputs (a tuple for several outputs)."""
    from pytensor.link.numba.dispatch.basic import numba_funcify, numba_funcify_and_cache_key

    config = pytensor.config
    if config.numba__cache:
        jitable, key = numba_funcify_and_cache_key(op, node=node)
    else:
        jitable, key = numba_funcify(op, node=node), None
    if key is None:
        return _entry(jitable, None)
    key = f"{key}_fastmath{int(config.numba__fastmath)}"
    # PyTensor's key leaves the argument types to Numba; the function made for one node is
    # shared only with nodes whose inputs have the same number, dtypes and ranks
    share = (key, tuple((getattr(v.type, "dtype", None), getattr(v.type, "ndim", None)) for v in node.inputs))
    if share not in _SHARED:
        _SHARED[share] = _entry(jitable, key)
    return _SHARED[share]


def _plain(v):
    return v is None or isinstance(v, (bool, int, float, str, slice)) or \
        (isinstance(v, tuple) and all(_plain(x) for x in v))


def _stable(py):
    """Whether Numba would find ``py``'s cache entry again in another process: every
    variable it closes over a plain value (the index key hashes the pickled closure, and a
    closed-over dispatcher, Argmax's, pickles differently in every process), its source
    not a temporary file (the file's name is part of the entry's: SpecifyShape's)."""
    name = py.__code__.co_filename
    if not name.startswith("<") and (not os.path.isfile(name) or name.startswith(tempfile.gettempdir())):
        return False
    return all(_plain(c.cell_contents) for c in (py.__closure__ or ()))


def _entry(jitable, key):
    """``jitable`` (a Numba dispatcher without an entry point, or a function Numba
    overloads) made callable from Python, cached on disk under ``key`` unless it is None."""
    from numba.core.registry import CPUDispatcher
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src
    from pytensor.link.numba.dispatch.basic import numba_njit

    if key is not None and type(jitable) is CPUDispatcher and jitable.py_func.__module__ is not None \
            and _stable(jitable.py_func):
        # the node's own function compiled again with an entry point, its options kept: no
        # wrapper that links, re-optimises and re-emits the node's code a second time
        # (cold compile of make bench's graphs 51 s -> 44 s)
        py = jitable.py_func
        CACHED_SRC_FUNCTIONS[py] = f"{key}_direct_{__name__}"
        opts = {k: v for k, v in jitable.targetoptions.items() if k not in ("no_cpython_wrapper", "cache", "nopython")}
        return numba.njit(cache=True, **opts)(py)
    name = getattr(jitable, "__name__", "node")
    # a module name: without one Numba keeps the function's globals in its descriptor and
    # pickles them into the cache entry (the node's closure reaches the whole graph, the
    # shared values included: 88 MB an entry in a training step). The module's name is in
    # the cache key too: an entry pickled under an older name would not load after a move.
    fn = compile_numba_function_src(src=f"def {name}(*args): return jitable_func(*args)", function_name=name,
                                    cache_key=None if key is None else f"{key}_entry_{__name__}",
                                    global_env={"jitable_func": jitable, "__name__": __name__})
    return numba_njit(fn, final_function=True, cache=key is not None)


#: Ops run by their NumPy ``perform``: views, shapes, indexing, checks and one-call NumPy
#: functions, where compiled code does the same work no faster but costs a Numba compile
#: (0.1-2 s a node function, once per machine)
_PERFORM_OPS = ("DimShuffle", "Reshape", "SpecifyShape", "Shape", "Shape_i", "MakeVector", "ScalarFromTensor",
                "TensorFromScalar", "Assert", "CheckAndRaise", "ARange", "Split", "Join", "Subtensor",
                "AdvancedSubtensor", "AdvancedSubtensor1", "Argmax")
#: reductions by their NumPy ufunc's ``reduce``, by the Op's scalar op
_REDUCE_UFUNCS = {"Add": np.add, "Mul": np.multiply, "Maximum": np.maximum, "Minimum": np.minimum,
                  "AND": np.logical_and, "OR": np.logical_or}


#: block length of ``_sum_f32_f64``
_BLOCK = 4096


def _sum_f32_f64(x):
    """Sum of a float32 array for a float32 result that PyTensor accumulates in float64:
    NumPy's pairwise float32 sum of each block of 4,096, the block sums added in float64.
    NumPy's float64-accumulating reduce casts through a buffer and is 3.6x slower (9.4 M
    weights: 5.3 against 1.5 ms). Each block sum is rounded to float32, so the result
    agrees with float64 accumulation to float32 precision (~1e-7 relative for one block,
    ~1e-9 for the 2,304 blocks of h1's weights), which is what the float32 result keeps.
    Sums with a float64 result (the line search's norms) are not done this way."""
    x = x.reshape(-1)
    n = x.size - x.size % _BLOCK
    total = np.add.reduce(x[:n].reshape(-1, _BLOCK), axis=1, dtype=np.float32).sum(dtype=np.float64)
    return np.asarray(total + np.add.reduce(x[n:], dtype=np.float64))


def _perform_function(node):
    """``node``'s Op's ``perform`` as a function of the inputs (a tuple for several outputs)."""
    perform, outs = node.op.perform, [[None] for _ in node.outputs]
    if len(outs) == 1:
        (o,) = outs

        def run_one(*ins):
            perform(node, list(ins), outs)
            r, o[0] = o[0], None
            return r
        return run_one

    def run_many(*ins):
        perform(node, list(ins), outs)
        r = tuple(s[0] for s in outs)
        for s in outs:
            s[0] = None
        return r
    return run_many


def _numpy_function(node):
    """A NumPy function computing ``node``'s output for the nodes where NumPy does the
    same work as a compiled node function (views and shapes, indexing, one ufunc call, one
    ufunc reduction); None for the others (fused elementwise code, our Ops, BLAS)."""
    op = node.op
    name = type(op).__name__
    if name in _PERFORM_OPS:
        return _perform_function(node)
    if len(node.outputs) != 1:
        return None
    out_dtype = node.outputs[0].type.dtype
    in_dtypes = {getattr(v.type, "dtype", None) for v in node.inputs}
    if name == "Elemwise":
        spec = getattr(op.scalar_op, "nfunc_spec", None)
        ufunc = getattr(np, spec[0], None) if spec else None
        if not isinstance(ufunc, np.ufunc) or spec[1:] != (len(node.inputs), 1) or len(in_dtypes) != 1:
            return None
        dest = op.inplace_pattern.get(0)

        def elemwise(*ins):
            if dest is not None:
                d = ins[dest]
                if d.dtype == out_dtype and d.flags.writeable and d.ndim and d.shape == np.broadcast_shapes(
                        *[x.shape for x in ins]):
                    return ufunc(*ins, out=d)
            return np.asarray(ufunc(*ins), dtype=out_dtype)
        return elemwise
    if isinstance(op, CAReduce) and type(op.scalar_op).__name__ in _REDUCE_UFUNCS:
        ufunc = _REDUCE_UFUNCS[type(op.scalar_op).__name__]
        acc, axis = getattr(op, "acc_dtype", None) or out_dtype, op.axis
        whole = axis is None or len(axis) == node.inputs[0].type.ndim
        if ufunc is np.add and whole and in_dtypes == {"float32"} and acc == "float64" and out_dtype == "float32":
            def sum_all(x):
                return np.asarray(_sum_f32_f64(x), dtype=out_dtype)
            return sum_all

        def reduce(x):
            return np.asarray(ufunc.reduce(x, axis=axis, dtype=acc), dtype=out_dtype)
        return reduce
    return None


class NodeNumbaLinker(JITLinker):
    """``NumbaLinker``'s rewrites, a Python loop over per-node Numba functions."""

    required_rewrites = NumbaLinker.required_rewrites
    incompatible_rewrites = NumbaLinker.incompatible_rewrites

    def __init__(self, numpy_nodes=True, **kwargs):
        super().__init__(**kwargs)
        #: run views, indexing, single ufuncs and reductions with NumPy (``_numpy_function``)
        self.numpy_nodes = numpy_nodes

    def fgraph_convert(self, fgraph, order, input_storage, output_storage, storage_map, **kwargs):
        from pytensor.link.numba.dispatch.basic import numba_typify

        slot = {v: i for i, v in enumerate(fgraph.inputs)}
        consts = []
        steps = []
        for node in order:
            for v in node.inputs:
                if v not in slot:
                    if not isinstance(v, Constant):
                        raise ValueError(f"{v} is neither an input, a constant nor computed before {node}")
                    slot[v] = len(slot)
                    consts.append((slot[v], numba_typify(v.data, dtype=getattr(v.type, "dtype", None))))
            for v in node.outputs:
                slot[v] = len(slot)
            fn = (self.numpy_nodes and _numpy_function(node)) or _node_function(node.op, node)
            steps.append((fn, [slot[v] for v in node.inputs],
                          [slot[v] for v in node.outputs]))
        outs = [slot[v] for v in fgraph.outputs]
        # the last step that reads each slot; graph outputs are kept
        last = {}
        for k, (_, ins, _) in enumerate(steps):
            for i in ins:
                last[i] = k
        keep = set(outs) | set(range(len(fgraph.inputs))) | {i for i, _ in consts}
        frees = [[] for _ in steps]
        for i, k in last.items():
            if i not in keep:
                frees[k].append(i)
        program = [(fn, ins, o[0] if len(o) == 1 else o, fr) for (fn, ins, o), fr in zip(steps, frees)]
        n, n_in = len(slot), len(fgraph.inputs)

        def run(*args):
            vals = [None] * n
            vals[:n_in] = args
            for i, c in consts:
                vals[i] = c
            for fn, ins, o, fr in program:
                r = fn(*[vals[i] for i in ins])
                if type(o) is int:
                    vals[o] = r
                else:
                    for i, x in zip(o, r):
                        vals[i] = x
                for i in fr:
                    vals[i] = None
            return [vals[i] for i in outs]

        return run

    def create_thunk_inputs(self, storage_map):
        return [storage_map[n] for n in self.fgraph.inputs]

    def jit_compile(self, fn):
        return fn


def mode(numpy_nodes=True):
    """The structnet NUMBA mode: PyTensor's NUMBA rewrites, ``NodeNumbaLinker``."""
    return Mode(NodeNumbaLinker(numpy_nodes=numpy_nodes), RewriteDatabaseQuery(include=["fast_run", "numba"]))
