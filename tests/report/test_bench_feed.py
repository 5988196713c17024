"""report/bench_feed.py: the feed section times both phases' batch makers, in a thread and in
worker processes, on a dataset file."""
from structnet.report.bench_feed import bench_feed


def test_feed_section_on_the_tiny_world(tiny_data):
    out = bench_feed(str(tiny_data / "train.h5"), n_batches=3, candidates=30, skip=1)
    assert out["images"] == 120 and out["batches"] == 3
    runs = out["runs"]
    assert "holds 120 images, fewer than a batch of 128" in runs.pop("train_128")["skipped"]
    assert {r["workers"] for r in runs.values()} >= {0, 1}
    for r in runs.values():
        assert r["batch"] == 32 and r["batches_per_s"] > 0
        assert abs(r["images_per_s"] - r["batches_per_s"] * r["batch"]) < 1e-6
