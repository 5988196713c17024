"""report/samples.py: the sample figure, samples with their 2D skeletons."""
from PIL import Image

from structnet.report.samples import sample_grid


def test_grid_of_samples(tiny_data, tmp_path):
    out = sample_grid(str(tiny_data / "train.h5"), tmp_path / "s.png", rows=2, cols=3, scale=1)
    im = Image.open(out)
    assert im.format == "PNG" and im.size == (3 * 128, 2 * 128)
