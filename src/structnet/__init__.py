"""structnet: Li, Zhang and Chan, Maximum-Margin Structured Learning with Deep Networks
for 3D Human Pose Estimation (ICCV 2015), on PyTensor."""
import os

# OpenBLAS's threads spin for about 2**28 cycles (~0.1 s) after each GEMM before they sleep,
# taking the cores from the native convolution kernels that follow (structnet.engine.ops.native).
# 2**4 cycles instead: full step 1.43 s -> 1.28 s, forward 0.49 s -> 0.39 s (2 cores, batch 128).
# Read when OpenBLAS loads, so only where numpy was not imported before structnet; a value
# the user set is kept.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

__version__ = "0.1.0"
__all__ = ["Config", "StructNet", "paper", "predict", "quick", "__version__"]

#: the package's names, imported on first use: ``import structnet`` (and a data worker's
#: ``import structnet.data``) loads neither PyTensor nor Numba and runs no compiler
_LAZY = {"Config": "structnet.config", "paper": "structnet.config", "quick": "structnet.config",
         "StructNet": "structnet.model.network", "predict": "structnet.estimate.predict"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'structnet' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
