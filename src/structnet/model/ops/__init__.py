"""Custom PyTensor Ops: the convolution and the 3x3/2 max-pool (native C kernels for Numba and C, JAX)."""
from structnet.model.ops.conv import Corr2d, Corr2dGradW, Corr2dGradX, corr2d
from structnet.model.ops.pool import MaxPool, MaxPoolGrad, maxpool, pool_out_size

__all__ = ["Corr2d", "Corr2dGradW", "Corr2dGradX", "corr2d",
           "MaxPool", "MaxPoolGrad", "maxpool", "pool_out_size"]
