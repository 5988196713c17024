"""model/dropout.py: inverted-dropout masks drawn with the batch (deviation 4)."""
import numpy as np

from structnet.model.dropout import CONCAT_WIDTH, dropout_mask, no_dropout


def test_masks():
    m = dropout_mask(np.random.default_rng(0), 500, 0.25)
    assert m.shape == (500, CONCAT_WIDTH) and m.dtype == np.float32
    assert set(np.unique(m)) == {0.0, 4.0} and abs(m.mean() - 1.0) < 0.02       # keep 0.25: 1/keep or 0
    np.testing.assert_array_equal(m, dropout_mask(np.random.default_rng(0), 500, 0.25))
    assert (no_dropout(3) == 1).all() and no_dropout(3, 7).shape == (3, 7)
