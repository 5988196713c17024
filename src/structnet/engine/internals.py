"""Every PyTensor, Numba and llvmlite internal the engine leans on, in one list, and the
check that each still exists with the parameters the engine passes (``check``).

The engine is tied to the pinned versions (``PINS``, as pyproject.toml): these are not
public APIs and may change in any release. ``tests/engine/test_internals.py`` runs the check
in CI, so an upgrade that breaks one names it instead of failing somewhere in a compile.
"""
import importlib
import inspect

#: the version ranges the engine was written and tested against (pyproject.toml's pins)
PINS = {"pytensor": (3, 0), "numba": None}

#: (module, attribute path, parameters the engine passes by name or position (None: not
#: called, or a class), where the engine uses it)
INTERNALS = (
    ("pytensor.link.numba.linker", "NumbaLinker.required_rewrites", None,
     "linker.NodeNumbaLinker: NUMBA mode's rewrites"),
    ("pytensor.link.numba.linker", "NumbaLinker.incompatible_rewrites", None, "linker.NodeNumbaLinker"),
    ("pytensor.link.basic", "JITLinker.fgraph_convert", ("fgraph", "order", "input_storage", "output_storage",
                                                          "storage_map"), "linker.NodeNumbaLinker overrides it"),
    ("pytensor.link.basic", "JITLinker.create_thunk_inputs", ("storage_map",), "linker.NodeNumbaLinker overrides it"),
    ("pytensor.link.basic", "JITLinker.jit_compile", ("fn",), "linker.NodeNumbaLinker overrides it"),
    ("pytensor.link.basic", "JITLinker.create_jitable_thunk", ("compute_map", "order", "input_storage",
                                                                "output_storage", "storage_map"),
     "the thunk whose .jit_fn and .inputs timing.xla_analysis reads"),
    ("pytensor.link.numba.dispatch.basic", "numba_funcify", None, "linker._node_function"),
    ("pytensor.link.numba.dispatch.basic", "numba_funcify_and_cache_key", ("op", "node"), "linker._node_function"),
    ("pytensor.link.numba.dispatch.basic", "numba_njit", ("final_function",), "linker._entry"),
    ("pytensor.link.numba.dispatch.basic", "numba_typify", ("data", "dtype"), "linker: constants"),
    ("pytensor.link.numba.dispatch.basic", "register_funcify_and_cache_key", ("op_type",),
     "ops.conv, ops.pool: our Ops' Numba code and cache keys"),
    ("pytensor.link.numba.cache", "CACHED_SRC_FUNCTIONS", None, "linker._entry: a node's own cache key"),
    ("pytensor.link.numba.cache", "compile_numba_function_src", ("src", "function_name", "global_env", "cache_key"),
     "linker._entry: the entry-point wrapper"),
    ("pytensor.link.jax.dispatch", "jax_funcify", None, "ops.jax_impl: our Ops, ARange, CAReduce in JAX"),
    ("pytensor.tensor.basic", "ARange", None, "ops.jax_impl: the ARange override"),
    ("pytensor.tensor.shape", "Shape_i", None, "ops.jax_impl: the ARange override"),
    ("pytensor.tensor.elemwise", "CAReduce", None, "linker._numpy_function, ops.jax_impl"),
    ("pytensor.link.c.op", "COp", None, "ops.native.NativeCOp: our Ops' C code"),
    ("numba.core.registry", "CPUDispatcher", None, "linker._entry: a node's own dispatcher"),
    ("numba.np.ufunc.parallel", "_launch_threads", (), "threads.configure"),
    ("numba.extending", "get_cython_function_address", ("module_name", "function_name"), "ops.blas.register"),
    ("llvmlite.binding", "add_symbol", ("name", "address"), "ops.native, ops.blas: the kernels' symbols"),
)


def _resolve(module, path):
    obj = importlib.import_module(module)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _takes(fn, params):
    """The names in ``params`` that ``fn`` does not accept (by name or **kwargs)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    names = set(sig.parameters)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return []
    return [p for p in params if p not in names]


def check():
    """[problem] for every internal that is missing or no longer takes the engine's
    parameters (empty: all hold)."""
    problems = []
    for module, path, params, where in INTERNALS:
        try:
            obj = _resolve(module, path)
        except (ImportError, AttributeError) as e:
            problems.append(f"{module}.{path} ({where}): missing ({e})")
            continue
        if params is not None:
            if not callable(obj):
                problems.append(f"{module}.{path} ({where}): no longer callable")
            elif (lost := _takes(obj, params)):
                problems.append(f"{module}.{path} ({where}): no parameter {', '.join(lost)}")
    return problems


def version_ok(package="pytensor"):
    """Whether the installed ``package`` is in the range the engine pins (major, minor)."""
    import importlib.metadata
    pin = PINS.get(package)
    if pin is None:
        return True
    have = tuple(int(x) for x in importlib.metadata.version(package).split(".")[:2])
    return have == pin
