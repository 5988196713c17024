"""Dropout masks as numpy arrays (drawn with the batch, outside the compiled graph), so that
a batch's randomness is a function of its seed alone. NumPy only: the feed's worker
processes import it without PyTensor."""
import numpy as np

CONCAT_WIDTH = 256 + 1024                # [h1, h2], StructNet's dropout layer's width


def dropout_mask(rng, n, keep, width=CONCAT_WIDTH):
    """(n, width) float32 inverted-dropout mask: 1/keep with probability keep, else 0."""
    return ((rng.random((n, width)) < keep) / keep).astype(np.float32)


def no_dropout(n, width=CONCAT_WIDTH):
    """The mask of the deterministic network: (n, width) ones (x * 1 is x, bit for bit)."""
    return np.ones((n, width), np.float32)
