"""report/bench_h36m.py: the README table of the Human3.6M extraction bench (the bench itself
renders and encodes full-size videos: ``make bench-h36m``)."""
from structnet.report.bench_h36m import h36m_table


def test_table_from_a_result():
    res = {"workers": 2, "videos": 2, "frames_per_video": 500,
           "runs": {"crf23_every1": {"video_mbit_per_s": 0.34, "video_frames_per_s": 298.0, "est_hours_per_subject": 0.29,
                                     "est_gb_per_subject": 15.5, "bytes_per_image": 50000.0},
                    "crf23_every5": {"video_mbit_per_s": 0.34, "video_frames_per_s": 854.0, "est_hours_per_subject": 0.1,
                                     "est_gb_per_subject": 3.1, "bytes_per_image": 50000.0}}}
    t = h36m_table(res, "x.json")
    assert "| 0.34 Mbit/s | every 1 | 298 | 0.29 | 15.5 |" in t and "| 0.34 Mbit/s | every 5 | 854 |" in t
    assert "From `x.json`: 2 fixture videos of 500 frames" in t and "49 KiB per extracted image" in t
