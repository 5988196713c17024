"""Compile modes: NUMBA (default), C, CVM, JAX -- one config field or STRUCTNET_MODE -- and
the one door to compiled code, ``compile_fn``.

``compile_fn`` is the only place that calls ``pytensor.function``: every compiled function
of a run uses the mode named once, Numba's threads are configured before the first compile
(``structnet.engine.threads``), and the rule of the function cache is here alone: a graph
whose caller names its key (``cache=(parts, shared)``) is kept on disk and loaded again by
the next process (``structnet.engine.fncache``), except in JAX mode (XLA keeps its own
compilations) and when profiling.
"""
import os

from structnet.errors import UserError

MODES = ("NUMBA", "C", "CVM", "JAX")
ENV_VAR = "STRUCTNET_MODE"
#: "graph": NUMBA mode with PyTensor's own linker (the whole graph jitted as one function)
#: instead of ``structnet.engine.linker`` (one function per node)
LINKER_VAR = "STRUCTNET_NUMBA_LINKER"


def resolve_mode(mode=None):
    """The compile mode to use: the argument, else $STRUCTNET_MODE, else NUMBA (upper-cased)."""
    name = mode or os.environ.get(ENV_VAR) or "NUMBA"
    name = str(name).strip().upper()
    if name not in MODES:
        raise UserError(f"unknown compile mode {name!r}: choose one of {', '.join(MODES)}"
                        f" (config field 'mode' or ${ENV_VAR})")
    if name == "JAX":
        try:
            import jax  # noqa: F401
        except ImportError:
            raise UserError("compile mode JAX needs jax: pip install 'structnet[jax]'") from None
        import structnet.engine.ops.jax_impl  # noqa: F401  (registers the JAX versions of our Ops)
    return name


def numba_linker():
    """NUMBA mode's linker: "node" (ours, the default) or "graph" ($STRUCTNET_NUMBA_LINKER)."""
    return "graph" if os.environ.get(LINKER_VAR) == "graph" else "node"


def describe_mode(mode=None):
    """The compile mode a run used, for its results: "NUMBA (node linker)", "C" ..."""
    name = resolve_mode(mode)
    return f"{name} ({numba_linker()} linker)" if name == "NUMBA" else name


def pytensor_mode(name):
    """The PyTensor mode for a resolved name. "C" links every Op that has C code into
    one C module and runs the few that have none (argmax, advanced indexing) in
    Python ("c|py" linker): PyTensor's strict "c" linker refuses such graphs. "NUMBA":
    PyTensor's NUMBA rewrites with our per-node linker (``structnet.engine.linker``;
    ``$STRUCTNET_NUMBA_LINKER=graph``: PyTensor's ``NumbaLinker``)."""
    if name == "C":
        import pytensor
        return pytensor.compile.mode.Mode(linker="c|py", optimizer="fast_run")
    if name == "NUMBA" and numba_linker() == "node":
        from structnet.engine.linker import mode
        return mode()
    return name


def compile_fn(inputs=None, outputs=None, mode=None, *, graph=None, cache=None, **kwargs):
    """A compiled PyTensor function in the resolved mode.

    ``inputs``, ``outputs`` and ``kwargs`` go to ``pytensor.function``; or ``graph``, a
    function returning (inputs, outputs, kwargs), builds them only when the cache has no
    entry. ``cache=(parts, shared)``: keep the function on disk under the key of ``parts``
    (what the graph depends on) and ``shared`` (name -> every shared variable it uses;
    ``structnet.engine.fncache``); ignored in JAX mode and with ``profile=True``.
    ``mode="FAST_COMPILE"``: PyTensor's Python-only mode, for graphs that only compute
    shapes (``structnet.report.summary``)."""
    if graph is None:
        def graph():
            return inputs, outputs, {}
    if mode == "FAST_COMPILE":
        name = resolved = "FAST_COMPILE"
    else:
        resolved = resolve_mode(mode)
        if resolved != "JAX":
            from structnet.engine import threads
            threads.configure()
        name = pytensor_mode(resolved)

    def build():
        import pytensor
        ins, outs, extra = graph()
        return pytensor.function(ins, outs, mode=name, **{**extra, **kwargs})
    if cache is None or resolved in ("JAX", "FAST_COMPILE") or kwargs.get("profile"):
        return build()
    from structnet.engine.fncache import cached_function
    parts, shared = cache
    return cached_function(parts, shared, describe_mode(resolved), build)
