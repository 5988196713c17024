"""``make bench-h36m``: Human3.6M extraction speed and disk use on full-size fixture videos."""
import json
import os
import sys
import tempfile
import time

import numpy as np


def bench_h36m(frames=500, distinct=10, workers=2, noise=3.0, bitrates=(None, 4_000_000)):
    """Human3.6M extraction speed and disk use on full-size fixture videos (1000 x 1002 / 1000 x 1000
    H.264, written like the release's), official layout, ``workers`` processes; extrapolated
    to a subject's frames.

    ``distinct`` rendered frames are repeated to ``frames`` per video with fresh pixel noise
    (sigma ``noise`` grey levels); one video per worker. Decoding cost grows with the
    bitrate, and the release's bitrate is not known here, so two are timed: x264 at constant
    quality (crf 23, a low bitrate on these clean renders) and 4 Mbit/s.
    """
    from structnet.data.dataset import Dataset
    from structnet.data.h36m import names
    from structnet.data.synthetic import h36m_fixtures as fixtures
    from structnet.data.h36m.extract import ExtractConfig, extract
    # Human3.6M protocol 1: 1,559,752 training samples = every frame x 4 cameras of 5 subjects
    per_subject = 1559752 / 5
    out = {"frames_per_video": frames, "videos": workers, "workers": workers,
           "frames_per_subject_all_cameras": per_subject, "pixel_noise_sigma": noise, "runs": {}}
    renders = [fixtures.render_frames("S1", "Walking", cam, distinct) for cam in (0, 2, 1, 3)[:workers]]
    for bitrate in bitrates:
        name = "crf23" if bitrate is None else f"{bitrate / 1e6:g}Mbps"
        with tempfile.TemporaryDirectory(prefix="structnet-bench-h36m-") as d:
            root = os.path.join(d, "root")
            sizes = []
            for i, (cam, (poses, imgs, c)) in enumerate(zip((0, 2, 1, 3), renders)):
                rep = np.arange(frames) % distinct
                cid = names.CAMERA_IDS[cam]
                s = os.path.join(root, "S1")
                fixtures.write_cdf(os.path.join(s, "MyPoseFeatures", "D3_Positions_mono", f"Walking.{cid}.cdf"),
                                   fixtures.to32(poses[rep].astype(np.float32)))
                video = os.path.join(s, "Videos", f"Walking.{cid}.mp4")
                rng = np.random.default_rng(i)
                noisy = (np.clip(imgs[r] + rng.normal(0, noise, imgs.shape[1:]).astype(np.float32), 0, 255)
                         .astype(np.uint8) for r in rep)
                fixtures.write_mp4(video, noisy, crf=23, bitrate=bitrate)
                sizes.append(os.path.getsize(video))
                fixtures.write_mask_mat(os.path.join(s, "MySegmentsMat", "ground_truth_bb", f"Walking.{cid}.mat"),
                                        fixtures.person_boxes(poses, c)[rep], c.res)
            fixtures.write_metadata(os.path.join(root, "metadata.xml"))
            for every in (1, 5):
                o = os.path.join(d, f"out-{every}")
                t0 = time.perf_counter()
                extract(ExtractConfig(root=root, every=every, workers=workers), o, splits=("train",), progress=False)
                dt = time.perf_counter() - t0
                n = len(Dataset(os.path.join(o, "train.h5")))
                size = os.path.getsize(os.path.join(o, "train.h5"))
                decoded = frames * workers
                key = f"{name}_every{every}"
                out["runs"][key] = {"video_mbit_per_s": float(np.mean(sizes) * 8 / (frames / 50) / 1e6),
                                    "seconds": dt, "video_frames_per_s": decoded / dt, "images": n,
                                    "bytes_per_image": size / n,
                                    "est_hours_per_subject": per_subject / (decoded / dt) / 3600,
                                    "est_gb_per_subject": per_subject / every * size / n / 1e9}
                print(f"[bench] h36m {key}: {json.dumps(out['runs'][key])}", file=sys.stderr, flush=True)
    return out


def h36m_table(res, source):
    """Markdown table of ``bench_h36m``'s runs, for the README."""
    lines = [f"| video bitrate | frames kept | extraction, frames/s ({res['workers']} processes) | "
             "hours per subject | GB per subject |", "|---|---|---|---|---|"]
    for key, r in res["runs"].items():
        every = key.rsplit("every", 1)[1]
        lines.append(f"| {r['video_mbit_per_s']:.2f} Mbit/s | every {every} | {r['video_frames_per_s']:.0f} | "
                     f"{r['est_hours_per_subject']:.2f} | {r['est_gb_per_subject']:.1f} |")
    lines.append(f"\nFrom `{source}`: {res['videos']} fixture videos of {res['frames_per_video']} frames "
                 f"(1000 x 1002 and 1000 x 1000), {res['workers']} worker processes; "
                 f"{r['bytes_per_image'] / 1024:.0f} KiB per extracted image (uncompressed 128 x 128 RGB + labels).")
    return "\n".join(lines)
