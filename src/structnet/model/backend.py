"""Compile modes: NUMBA (default), C, CVM, JAX -- one config field or STRUCTNET_MODE.

``compile_fn(inputs, outputs, mode=...)`` is the only place that calls
``pytensor.function``, so every compiled function of a run uses the mode named once.
"""
import os

import pytensor

from structnet.errors import UserError

MODES = ("NUMBA", "C", "CVM", "JAX")
ENV_VAR = "STRUCTNET_MODE"
#: "graph": NUMBA mode with PyTensor's own linker (the whole graph jitted as one function)
#: instead of ``structnet.model.node_linker`` (one function per node)
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
        import structnet.model.ops.jax_impl  # noqa: F401  (registers the JAX versions of our Ops)
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
    PyTensor's NUMBA rewrites with our per-node linker (``structnet.model.node_linker``;
    ``$STRUCTNET_NUMBA_LINKER=graph``: PyTensor's ``NumbaLinker``)."""
    if name == "C":
        return pytensor.compile.mode.Mode(linker="c|py", optimizer="fast_run")
    if name == "NUMBA" and numba_linker() == "node":
        from structnet.model.node_linker import mode
        return mode()
    return name


def compile_fn(inputs, outputs, mode=None, **kwargs):
    """``pytensor.function`` in the resolved mode; ``mode="FAST_COMPILE"`` (PyTensor's
    Python-only mode) for graphs that only compute shapes (``structnet.report.summary``)."""
    name = "FAST_COMPILE" if mode == "FAST_COMPILE" else pytensor_mode(resolve_mode(mode))
    return pytensor.function(inputs, outputs, mode=name, **kwargs)
