import h5py
import numpy as np
import pytest

from structnet.data.dataset import FIELDS, SCHEMA, Dataset, Writer
from structnet.errors import UserError


def _write(path, n=10, rng=None):
    rng = rng or np.random.default_rng(0)
    w = Writer(path, "synthetic", ["Walking", "Sitting"], ["S1"], {"x": 1},
               np.zeros((4, 9)), np.zeros((1, 4, 12)))
    with w:
        w.append(images=rng.integers(0, 255, (n, 128, 128, 3), dtype=np.uint8),
                 poses=rng.normal(0, 300, (n, 17, 3)) + [0, 0, 4000], joints2d=rng.uniform(0, 128, (n, 17, 2)),
                 box=np.tile([10, 20, 300.0], (n, 1)), subject=np.ones(n), action=np.arange(n) % 2,
                 subaction=np.ones(n), camera=np.arange(n) % 4, frame=np.arange(n))
    return path


def test_write_read_round_trip(tmp_path):
    p = _write(tmp_path / "d.h5")
    assert not list(tmp_path.glob("*.tmp*"))
    d = Dataset(p)
    assert len(d) == 10 and d.actions == ["Walking", "Sitting"] and d.source == "synthetic"
    assert np.allclose(d.root_relative()[:, 0], 0)
    imgs = d.read_images([7, 2, 7])
    np.testing.assert_array_equal(imgs[0], imgs[2])
    x = d.preprocess(imgs)                                   # centre crop
    assert x.shape == (3, 3, 112, 112) and x.dtype == np.float32
    np.testing.assert_allclose(x[1] + d.rgb_mean[:, None, None], imgs[1, 8:120, 8:120].transpose(2, 0, 1),
                               atol=1e-3)
    rng = np.random.default_rng(0)
    a = d.preprocess(imgs, np.random.default_rng(1))
    assert not np.allclose(a, x)                              # random crops and colour noise
    _, off = d.preprocess(imgs[:1].repeat(200, 0), np.random.default_rng(2), return_offsets=True)
    assert off.min() == 0 and off.max() == 8                   # the authors' offsets 0..8
    _, off = d.preprocess(imgs[:1].repeat(200, 0), np.random.default_rng(2), return_offsets=True, jitter=(6, 10))
    assert off.min() == 6 and off.max() == 10                  # a range lo..hi
    c8, off = d.preprocess(imgs, np.random.default_rng(2), pca_std=0.0, return_offsets=True, jitter=(8, 8))
    assert (off == 8).all()                                    # no translation: the centre crop ...
    np.testing.assert_array_equal(c8, x)                       # ... as at test time
    half = d.preprocess(imgs, scale=0.5)
    np.testing.assert_allclose(half, x * 0.5, rtol=1e-6)
    seen = np.concatenate([b for b, _ in d.batches(4, rng)])
    assert sorted(seen) == list(range(10))
    # the RGB statistics are those of the pixels
    with h5py.File(p) as f:
        px = f["images"][()].reshape(-1, 3).astype(float)
    np.testing.assert_allclose(d.rgb_mean, px.mean(0), rtol=1e-6)
    np.testing.assert_allclose(d.rgb_cov, np.cov(px.T, bias=True), rtol=1e-4, atol=1e-3)


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(ValueError):
        with Writer(tmp_path / "x.h5", "synthetic", [], [], {}, np.zeros((4, 9)), np.zeros((0, 4, 12))) as w:
            w.append(images=np.zeros((2, 128, 128, 3), np.uint8), poses=np.full((2, 17, 3), np.nan),
                     joints2d=np.zeros((2, 17, 2)), box=np.zeros((2, 3)), subject=[1, 1], action=[0, 0],
                     subaction=[1, 1], camera=[0, 0], frame=[0, 1])
    assert list(tmp_path.iterdir()) == []


def test_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="no such dataset file"):
        Dataset(tmp_path / "none.h5")
    (tmp_path / "junk.h5").write_bytes(b"junk" * 100)
    with pytest.raises(UserError, match="junk.h5: cannot read as HDF5"):
        Dataset(tmp_path / "junk.h5")
    p = _write(tmp_path / "t.h5")
    data = p.read_bytes()
    (tmp_path / "trunc.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(UserError, match="trunc.h5"):
        Dataset(tmp_path / "trunc.h5")
    with h5py.File(p, "a") as f:
        del f["joints2d"]
    with pytest.raises(UserError, match="'joints2d' is missing"):
        Dataset(p)
    q = _write(tmp_path / "s.h5")
    with h5py.File(q, "a") as f:
        f.attrs["schema"] = "other"
    with pytest.raises(UserError, match=f"expected '{SCHEMA}'"):
        Dataset(q)
    r = _write(tmp_path / "w.h5")
    with h5py.File(r, "a") as f:
        del f["poses"]
        f["poses"] = np.zeros((10, 16, 3), np.float32)
    with pytest.raises(UserError, match="'poses' is float32"):
        Dataset(r)
    assert set(FIELDS) >= {"images", "poses", "joints2d", "box"}


def _relayout(src, dst, **create):
    """A copy of dataset file ``src`` whose images are stored with ``create`` (h5py's
    create_dataset options: chunks, compression, or neither: contiguous)."""
    with h5py.File(src) as f, h5py.File(dst, "w") as g:
        for k, v in f.attrs.items():
            g.attrs[k] = v
        for name in f:
            if name != "images":
                f.copy(name, g)
        g.create_dataset("images", data=f["images"][()], **create)
    return dst


@pytest.mark.parametrize("create", [{}, {"chunks": (4, 128, 128, 3), "compression": "gzip"},
                                    {"chunks": (1, 128, 128, 3), "compression": "lzf"},
                                    {"chunks": (3, 64, 128, 3)}],
                         ids=["contiguous", "chunks-of-4-gzip", "one-image-lzf", "half-images"])
def test_images_read_at_chunk_speed_are_the_bytes_of_a_plain_read(tmp_path, create):
    """Every layout a writer may choose gives the bytes of h5py's own selection, in any
    order and with repeats; ours (chunks of one image, no filters) by raw chunk reads."""
    p = _write(tmp_path / "d.h5", n=13)
    idx = [12, 0, 5, 5, 11, 3, 4, 7]
    with h5py.File(p) as f:
        truth = f["images"][()][idx]
    d = Dataset(p)
    np.testing.assert_array_equal(d.read_images(idx), truth)
    q = _relayout(p, tmp_path / "q.h5", **create)
    e = Dataset(q)
    np.testing.assert_array_equal(e.read_images(idx), truth)
    out = np.zeros((len(idx), 128, 128, 3), np.uint8)
    assert e.read_images(np.array(idx), out=out) is out
    np.testing.assert_array_equal(out, truth)
    assert e.read_images([]).shape == (0, 128, 128, 3)
    with pytest.raises(IndexError, match="outside 0..12"):
        e.read_images([13])


def test_preprocess_is_bit_for_bit_the_authors_loop(tmp_path):
    """The one-pass kernel gives exactly the per-image loop's values and draws (same seed,
    same batch as before it)."""
    d = Dataset(_write(tmp_path / "d.h5", n=6))
    imgs = d.read_images(np.arange(6))

    def loop(images, rng, pca_std, scale, jitter):
        x = np.empty((len(images), 3, 112, 112), np.float32)
        offsets = np.empty((len(images), 2), np.int64)
        mean = d.rgb_mean.astype(np.float32)
        for i in range(len(images)):
            oy, ox = (8, 8) if rng is None else rng.integers(0, jitter + 1, 2)
            offsets[i] = oy, ox
            crop = images[i, oy:oy + 112, ox:ox + 112].astype(np.float32) - mean
            if rng is not None:
                crop += (d.pca_vectors @ (rng.normal(0, pca_std, 3) * d.pca_values)).astype(np.float32)
            x[i] = (crop * np.float32(scale)).transpose(2, 0, 1)
        return x, offsets

    for seed, pca, scale, jitter in ((None, 0.1, 1.0, 8), (3, 0.1, 1 / 64, 8), (4, 0.5, 0.5, 2), (5, 0.0, 1.0, 0)):
        rng = None if seed is None else np.random.default_rng(seed)
        want = loop(imgs, None if seed is None else np.random.default_rng(seed), pca, scale, jitter)
        got = d.preprocess(imgs, rng, pca, True, scale, jitter)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
