"""data/export.py: dataset crops out as PNG, unchanged, with their rows and poses."""
import json
import os

import numpy as np
from PIL import Image

from structnet.data.dataset import Dataset
from structnet.data.export import export_images


def test_export_is_the_stored_crop(tiny_data, tmp_path):
    path = os.path.join(tiny_data, "test.h5")
    rows = export_images(path, str(tmp_path), n=3, seed=4)
    assert list(rows) == sorted(rows) and len(rows) == 3
    assert list(export_images(path, str(tmp_path / "again"), n=3, seed=4)) == list(rows)   # same seed, same rows
    index = json.load(open(tmp_path / "index.json"))["images"]
    ds = Dataset(path)
    for r in index:
        assert np.array_equal(np.asarray(Image.open(tmp_path / r["file"])), ds.read_images([r["row"]])[0])
        assert np.allclose(r["pose_mm"], ds.root_relative([r["row"]])[0], atol=1e-3)
    assert len(export_images(path, str(tmp_path / "all"), n=10_000)) == len(ds)
