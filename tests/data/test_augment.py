"""data/augment.py: the one-pass crop / colour-noise kernel is the NumPy expression, bit for bit."""
import numpy as np

from structnet.data.augment import crop_normalise


def test_crop_normalise_is_the_numpy_expression():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 20, 22, 3), dtype=np.uint8)
    off = rng.integers(0, 5, (5, 2))
    mean = np.array([100.5, 90.25, 80.125], np.float32)
    noise = rng.standard_normal((5, 3)).astype(np.float32)
    out = np.empty((5, 3, 16, 16), np.float32)
    crop_normalise(imgs, off, mean, noise, np.float32(1 / 64), out)
    for i, (oy, ox) in enumerate(off):
        c = imgs[i, oy:oy + 16, ox:ox + 16].astype(np.float32) - mean
        want = ((c + noise[i]) * np.float32(1 / 64)).transpose(2, 0, 1)
        np.testing.assert_array_equal(out[i], want)
