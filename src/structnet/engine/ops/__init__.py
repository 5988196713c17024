"""Our PyTensor Ops: the convolution (``conv``) and the 3x3/2 max-pool (``pool``), with native C
kernels for Numba and the C backend (``native``, ``native.c``), an im2col + BLAS fallback
(``blas``), and their JAX versions (``jax_impl``). Import the modules themselves."""
