"""JAX implementations of structnet's Ops (imported when the compile mode is JAX), and two
overrides of PyTensor 3.0.x's JAX dispatch (ARange, CAReduce; see each).

PyTensor runs JAX with 64-bit types enabled, so a cotangent can arrive as float64; the
gradients cast it to the forward's dtype before ``jax.vjp``."""
import jax
import jax.numpy as jnp
from jax import lax
from pytensor.link.jax.dispatch import jax_funcify

from structnet.engine.ops.conv import Corr2d, Corr2dGradW, Corr2dGradX
from structnet.engine.ops.pool import SIZE, STRIDE, MaxPool, MaxPoolGrad

_DN = ("CNHW", "OIHW", "CNHW")


def _corr(x, w):
    f32 = jnp.float32
    return lax.conv_general_dilated(x.astype(f32), w.astype(f32), (1, 1), "VALID", dimension_numbers=_DN)


def _pool(x):
    x = x.astype(jnp.float32)
    H, W = x.shape[2], x.shape[3]
    ph = (-(-(H - SIZE) // STRIDE)) * STRIDE + SIZE - H
    pw = (-(-(W - SIZE) // STRIDE)) * STRIDE + SIZE - W
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, SIZE, SIZE), (1, 1, STRIDE, STRIDE),
                             ((0, 0), (0, 0), (0, ph), (0, pw)))


@jax_funcify.register(Corr2d)
def _jax_corr2d(op, **kwargs):
    return _corr


@jax_funcify.register(Corr2dGradW)
def _jax_corr2d_grad_w(op, **kwargs):
    def grad_w(x, gz):
        k = x.shape[2] - gz.shape[2] + 1
        w0 = jnp.zeros((gz.shape[0], x.shape[0], k, k), jnp.float32)
        return jax.vjp(lambda w: _corr(x, w), w0)[1](gz.astype(jnp.float32))[0]
    return grad_w


@jax_funcify.register(Corr2dGradX)
def _jax_corr2d_grad_x(op, **kwargs):
    def grad_x(w, gz):
        k = w.shape[2]
        x0 = jnp.zeros((w.shape[1], gz.shape[1], gz.shape[2] + k - 1, gz.shape[3] + k - 1), jnp.float32)
        return jax.vjp(lambda x: _corr(x, w), x0)[1](gz.astype(jnp.float32))[0]
    return grad_x


@jax_funcify.register(MaxPool)
def _jax_maxpool(op, **kwargs):
    return _pool


@jax_funcify.register(MaxPoolGrad)
def _jax_maxpool_grad(op, **kwargs):
    def grad(x, gz):
        return jax.vjp(_pool, x.astype(jnp.float32))[1](gz.astype(jnp.float32))[0]
    return grad


# PyTensor 3.0.x's JAX ARange passes a constant bound as a numpy int8 scalar; numpy 2
# refuses int8 - 128 ("Python integer 128 out of bounds for int8") at batch 128 (upstream
# issue #2296, fixed in PyTensor 3.2.1, which the package index here does not serve).
# Registered after PyTensor's, this one wins: constant bounds become Python numbers.
from pytensor.graph.basic import Constant  # noqa: E402
from pytensor.tensor.basic import ARange  # noqa: E402
from pytensor.tensor.shape import Shape_i  # noqa: E402


def _python_number(v):
    v = v.item() if hasattr(v, "item") else v
    return int(v) if float(v).is_integer() else float(v)


@jax_funcify.register(ARange)
def _jax_arange(op, node, **kwargs):
    consts = []
    for arg in node.inputs:
        if arg.owner and isinstance(arg.owner.op, Shape_i):
            consts.append(None)
        elif isinstance(arg, Constant):
            consts.append(_python_number(arg.data))
        else:
            raise NotImplementedError("JAX needs constant (or static-shape) bounds for arange")

    def arange(start, stop, step):
        args = [c if c is not None else _python_number(v) for c, v in zip(consts, (start, stop, step))]
        return jnp.arange(*args, dtype=op.dtype)

    return arange


# PyTensor 3.0.x's JAX CAReduce returns its result in the *accumulator* dtype: a float32 sum
# (acc_dtype float64, PyTensor's default for float32) comes back as a float64 scalar
# although the graph says float32. JAX, with 64-bit types on, then promotes every float32
# tensor that meets it to float64: the weight decay's gradient 2 alpha W and each line-search
# trial's W - s e g became float64 copies of h1's and h2's weights (36864 x 256, 6400 x 1024:
# 75 and 52 MB each, in every trial; XLA's HLO of the fused Algorithm-1 batch, 2026-11-27).
# Here the reduction runs in the input's dtype (XLA reduces float32 pairwise) and returns
# the dtype the graph declares.
from pytensor.tensor.elemwise import CAReduce  # noqa: E402


@jax_funcify.register(CAReduce)
def _jax_careduce(op, node=None, **kwargs):
    axis = op.axis
    out_dtype = node.outputs[0].dtype if node is not None else None
    nfunc = getattr(op, "nfunc_spec", None)
    scalar_nfunc = getattr(op.scalar_op, "nfunc_spec", None)
    name = scalar_nfunc[0] if scalar_nfunc else getattr(op.scalar_op, "name", None)
    identity = getattr(op.scalar_op, "identity", None)

    def careduce(x):
        ax = tuple(range(x.ndim)) if axis is None else tuple(axis)
        if not ax:
            return x.astype(out_dtype or x.dtype)
        if nfunc:
            r = getattr(jnp, nfunc[0])(x, axis=ax)
        else:
            r = lax.reduce(x, jnp.array(identity, dtype=x.dtype), getattr(lax, name), ax)
        return r.astype(out_dtype or r.dtype)

    return careduce
