"""Symbolic layers (``build_*`` return PyTensor variables).

Activations of the convolutional stack are channel-major (C, N, H, W); see
``structnet.engine.ops.conv``. Dense weights are (in, out), conv weights (out, in, k, k).
"""
import pytensor.tensor as pt

from structnet.engine.ops.conv import corr2d
from structnet.engine.ops.pool import maxpool


def relu(x):
    return pt.maximum(x, 0)


def linear(x):
    return x


ACTIVATIONS = {"relu": relu, "tanh": pt.tanh, "linear": linear}


def build_conv_pool(x, W, b, activation):
    """act(pool(conv(x, W)) + b): valid conv, then 3x3/2 max-pool, bias and activation.

    x: (C, N, H, W) -> (O, N, ceil((H-k+1-3)/2)+1, ...). Pooling before the bias and the
    activation gives the same values and gradients as the authors' conv -> act -> pool
    (max commutes with adding a per-channel constant and with monotone activations) and
    touches 4x fewer elements; see legacy_notes/layers.md.
    Returns (conv output, layer output).
    """
    z = corr2d(x, W)
    return z, ACTIVATIONS[activation](maxpool(z) + b.dimshuffle(0, "x", "x", "x"))


def build_dense(x, W, b, activation):
    """act(x @ W + b): x (N, in), W (in, out) -> (N, out). Eq. (2): h_i(x) = ReLU(W_i^T x + b_i)."""
    return ACTIVATIONS[activation](pt.dot(x, W) + b)


def build_dropout(x, mask=None):
    """x * mask, where mask holds 0 or 1/keep (inverted dropout); ``mask=None`` is the
    deterministic network (dropout off). The mask is drawn by the run's numpy generator
    (``structnet.model.network.dropout_mask``) so one seeded state drives every backend."""
    return x if mask is None else x * mask
